# The story `make demo` tells: one handler, built from examples/handler-go, that the local runner
# (`threefactor run`) delivers to instead of the emulator, so its code really runs on every event.
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

variable "build_dir" {
  description = "Directory holding examples/handler-go built as bootstrap for this machine."
  type        = string
}

variable "architecture" {
  description = "This machine's instruction set (x86_64 or arm64): the runner runs the bootstrap here."
  type        = string
}

variable "order_statuses" {
  description = "The order statuses this release of the handler knows; an event with another one fails."
  type        = string
}

provider "threefactor" {
  default_tags = { project = "demo" }
  aws = {
    region   = "us-east-1"
    endpoint = var.endpoint
  }
}

# The orders' state, which the handler writes (THREEFACTOR_TABLE_ORDERS) and the demo checks.
resource "threefactor_table" "orders" {
  name          = "demo-orders"
  cloud         = "aws"
  force_destroy = true # the demo's orders go with it
}

resource "threefactor_eventhandler" "orders" {
  name  = "orders"
  cloud = "aws"
  function = {
    runtime      = "go"
    source_dir   = var.build_dir
    architecture = var.architecture
    timeout_s    = 2
    environment  = { ORDER_STATUSES = var.order_statuses }
    tables       = { orders = { table_id = threefactor_table.orders.table_id, access = "read_write" } }
  }
  trigger = {
    enabled              = false # the runner delivers, not the emulator
    visibility_timeout_s = 2     # a failed event is retried 2 s later
  }
  retry = { max_attempts = 3 } # then the dead-letter queue
}

output "queue_url" {
  description = "Send order events here."
  value       = threefactor_eventhandler.orders.publish_target
}

output "dead_letter_url" {
  description = "The dead-letter queue (threefactor dlq orders list shows it)."
  value       = threefactor_eventhandler.orders.components["dead_letter"]
}
