# The quickstart's two handlers on Azure: the same resource blocks with `cloud = "azure"`, nothing
# else changed. Each handler gets a managed identity, a Service Bus queue (or a topic and a
# subscription), a dead-letter queue, a Cosmos DB dedup container and a Flex Consumption app.
terraform {
  required_providers {
    threefactor = {
      source = "threefactor/threefactor"
    }
  }
}

variable "subscription_id" {
  description = "Azure subscription id."
  type        = string
}

variable "resource_group" {
  description = "Existing resource group that holds the handlers."
  type        = string
}

variable "location" {
  description = "Azure location of the handlers."
  type        = string
  default     = "westeurope"
}

variable "endpoint" {
  description = "Resource Manager endpoint, for the fakes (`threefactor fake azure`); null on Azure."
  type        = string
  default     = null
}

variable "tenant_id" {
  description = "Tenant of client_id; null uses DefaultAzureCredential's."
  type        = string
  default     = null
}

variable "client_id" {
  description = "Service principal to deploy as; null uses DefaultAzureCredential (az login, a managed identity, environment variables)."
  type        = string
  default     = null
}

variable "client_secret" {
  description = "Secret of client_id."
  type        = string
  default     = null
  sensitive   = true
}

variable "scm_suffix" {
  description = "DNS suffix of the function apps' SCM endpoints; null for azurewebsites.net."
  type        = string
  default     = null
}

provider "threefactor" {
  default_tags = { project = "quickstart" }
  azure = {
    subscription_id = var.subscription_id
    resource_group  = var.resource_group
    location        = var.location
    endpoint        = var.endpoint
    tenant_id       = var.tenant_id
    client_id       = var.client_id
    client_secret   = var.client_secret
    scm_suffix      = var.scm_suffix
  }
}

resource "threefactor_eventhandler" "order_placed" {
  name  = "order-placed"
  cloud = "azure"
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
  cloud = "azure"
  function = {
    runtime    = "nodejs22"
    source_dir = "${path.module}/src"
    timeout_s  = 10
  }
  trigger = { kind = "topic" }
  retry   = { max_attempts = 3 }
  tags    = { team = "payments" }
}

output "order_placed_queue" {
  description = "Send order events to this Service Bus queue (its ARM id; the namespace's host is <namespace>.servicebus.windows.net)."
  value       = threefactor_eventhandler.order_placed.publish_target
}

output "payment_settled_topic" {
  description = "Publish payment events to this Service Bus topic."
  value       = threefactor_eventhandler.payment_settled.publish_target
}

output "order_placed_identity" {
  description = "Grant the handler's own business permissions to this managed identity."
  value       = threefactor_eventhandler.order_placed.identity_id
}

output "dead_letter_queues" {
  value = {
    order_placed    = threefactor_eventhandler.order_placed.dead_letter_id
    payment_settled = threefactor_eventhandler.payment_settled.dead_letter_id
  }
}
