# An event-driven app from data, with modules/event-app: one topic, one state table, two handlers
# subscribed to the topic (one filtered, one writing the table) and one consuming its own queue.
# Every setting left out takes the provider's default for the cloud.
terraform {
  required_providers {
    threefactor = { source = "threefactor/threefactor" }
  }
}

variable "cloud" {
  description = "aws today; changing it replaces every resource of the app."
  type        = string
  default     = "aws"
}

provider "threefactor" {
  aws = { region = "us-east-1" } # AWS_ENDPOINT_URL reaches moto or LocalStack
}

module "shop" {
  source = "../../modules/event-app"

  cloud  = var.cloud
  topics = ["orders"]
  tables = {
    orders = { ttl_attribute = "expires_at" }
  }
  handlers = {
    order-status = {
      runtime       = "nodejs22"
      source_dir    = "${path.module}/src"
      subscribes_to = "orders"
      tables        = { orders = "read_write" }
    }
    billing = {
      runtime       = "nodejs22"
      source_dir    = "${path.module}/src"
      subscribes_to = "orders"
      filter        = { type = ["order.created", "order.cancelled"] }
      max_attempts  = 3
    }
    intake = {
      runtime    = "nodejs22"
      source_dir = "${path.module}/src"
      timeout_s  = 10
    }
  }
}

output "orders_topic" {
  description = "Where producers publish order events."
  value       = module.shop.topics["orders"].publish_target
}

output "intake_queue" {
  description = "Where producers send intake events."
  value       = module.shop.handlers["intake"].publish_target
}

output "orders_table" {
  value = module.shop.tables["orders"]
}
