# Two handlers against a local AWS emulator (moto or LocalStack): one consumes its own queue, the
# other a fan-out topic. `make demo` applies this, prints the outputs and destroys it.
terraform {
  required_providers {
    threefactor = {
      source = "threefactor/threefactor"
    }
  }
}

variable "endpoint" {
  description = "URL of the AWS emulator, such as http://127.0.0.1:5000."
  type        = string
}

provider "threefactor" {
  default_tags = { project = "quickstart" }
  aws = {
    region   = "us-east-1"
    endpoint = var.endpoint
  }
}

resource "threefactor_eventhandler" "order_placed" {
  name  = "order-placed"
  cloud = "aws"
  function = {
    runtime     = "nodejs22"
    source_dir  = "${path.module}/src"
    environment = { ORDERS_TABLE = "orders" }
  }
  dedup = { ttl_s = 86400 }
  tags  = { team = "orders" }
}

resource "threefactor_eventhandler" "payment_settled" {
  name  = "payment-settled"
  cloud = "aws"
  function = {
    runtime    = "nodejs22"
    source_dir = "${path.module}/src"
    timeout_s  = 10
  }
  trigger = { kind = "topic" }
  retry   = { max_attempts = 3 }
  tags    = { team = "payments" }
}

output "order_placed_queue_url" {
  description = "Send order events here (SQS SendMessage)."
  value       = threefactor_eventhandler.order_placed.publish_target
}

output "payment_settled_topic_arn" {
  description = "Publish payment events here (SNS Publish)."
  value       = threefactor_eventhandler.payment_settled.publish_target
}

output "order_placed_role_arn" {
  description = "Attach the handler's own business permissions to this role."
  value       = threefactor_eventhandler.order_placed.identity_id
}

output "dead_letter_queues" {
  value = {
    order_placed    = threefactor_eventhandler.order_placed.dead_letter_id
    payment_settled = threefactor_eventhandler.payment_settled.dead_letter_id
  }
}
