# The quickstart's two handlers on Google Cloud: the same resource blocks with `cloud = "gcp"`. One
# setting differs: Pub/Sub delivers a message at least 5 times before dead-lettering it, so
# payment-settled keeps 5 attempts here where AWS takes 3 (plan says so if you try).
terraform {
  required_providers {
    threefactor = {
      source = "threefactor/threefactor"
    }
  }
}

variable "project" {
  description = "Google Cloud project id."
  type        = string
}

variable "region" {
  description = "Region of the functions, topics and databases."
  type        = string
  default     = "us-central1"
}

variable "endpoints" {
  description = "Endpoint overrides, for the emulators and fakes (`threefactor fake gcp`, the Pub/Sub emulator); empty on Google Cloud."
  type        = map(string)
  default     = {}
}

provider "threefactor" {
  default_tags = { project = "quickstart" }
  gcp = {
    project   = var.project
    region    = var.region
    endpoints = var.endpoints
  }
}

resource "threefactor_eventhandler" "order_placed" {
  name  = "order-placed"
  cloud = "gcp"
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
  cloud = "gcp"
  function = {
    runtime    = "nodejs22"
    source_dir = "${path.module}/src"
    timeout_s  = 10
  }
  trigger = { kind = "topic" }
  retry   = { max_attempts = 5 }
  tags    = { team = "payments" }
}

output "order_placed_topic" {
  description = "Publish order events here (Pub/Sub Publish): the handler's own topic."
  value       = threefactor_eventhandler.order_placed.publish_target
}

output "payment_settled_topic" {
  description = "Publish payment events here: a fan-out topic other subscriptions may read too."
  value       = threefactor_eventhandler.payment_settled.publish_target
}

output "order_placed_service_account" {
  description = "Grant the handler's own business permissions to this service account."
  value       = threefactor_eventhandler.order_placed.identity_id
}

output "dead_letter_topics" {
  value = {
    order_placed    = threefactor_eventhandler.order_placed.dead_letter_id
    payment_settled = threefactor_eventhandler.payment_settled.dead_letter_id
  }
}
