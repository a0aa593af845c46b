variable "cloud" {
  description = "Cloud every part of the app runs on: `aws`, `gcp` or `azure`. Changing it replaces every resource: messages in queues and dead-letter queues and items in tables do not move."
  type        = string
  nullable    = false

  validation {
    condition     = contains(["aws", "gcp", "azure"], var.cloud)
    error_message = "cloud must be \"aws\", \"gcp\" or \"azure\"."
  }
}

variable "topics" {
  description = "Names of the fan-out topics the app's handlers subscribe to (`subscribes_to`) and producers publish to."
  type        = set(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for t in var.topics : can(regex("^[a-z][a-z0-9-]*[a-z0-9]$", t)) && !strcontains(t, "--")])
    error_message = "Each topic name must start with a lowercase letter, contain only lowercase letters, digits and single hyphens (never \"--\"), and end with a letter or digit."
  }
}

variable "tables" {
  description = "The app's state tables by name: `key` (the partition key attribute), `ttl_attribute` (an item's expiry in epoch seconds; on Azure only `ttl`, seconds after its last write) and `force_destroy`, each null for the provider's default."
  type = map(object({
    key           = optional(string)
    ttl_attribute = optional(string)
    force_destroy = optional(bool)
  }))
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for name in keys(var.tables) : can(regex("^[a-z][a-z0-9-]*[a-z0-9]$", name)) && !strcontains(name, "--")])
    error_message = "Each table name must start with a lowercase letter, contain only lowercase letters, digits and single hyphens (never \"--\"), and end with a letter or digit."
  }
}

variable "handlers" {
  description = <<-EOT
    The app's event handlers by name. Each needs its code (`source_dir` or `source_zip`) and `runtime`;
    every other field is optional and null leaves the provider's default for the cloud:
    `entry_point`, `memory_mb`, `timeout_s`, `environment`, `secret_environment`;
    `subscribes_to` (a topic of `topics`; null consumes a queue of the handler's own) and `filter`
    (message attributes to match, for a subscribed handler); `tables` (table name => `read` or
    `read_write`, which grants exactly that and injects THREEFACTOR_TABLE_<NAME>); `enabled`,
    `batch_size`, `max_attempts`, `retention_days` (dead-letter queue) and `dedup_ttl_s`.
  EOT
  type = map(object({
    source_dir         = optional(string)
    source_zip         = optional(string)
    runtime            = string
    entry_point        = optional(string)
    memory_mb          = optional(number)
    timeout_s          = optional(number)
    environment        = optional(map(string))
    secret_environment = optional(map(string))
    subscribes_to      = optional(string)
    filter             = optional(map(list(string)))
    tables             = optional(map(string))
    enabled            = optional(bool)
    batch_size         = optional(number)
    max_attempts       = optional(number)
    retention_days     = optional(number)
    dedup_ttl_s        = optional(number)
  }))
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for name in keys(var.handlers) : can(regex("^[a-z][a-z0-9-]*[a-z0-9]$", name)) && !strcontains(name, "--")])
    error_message = "Each handler name must start with a lowercase letter, contain only lowercase letters, digits and single hyphens (never \"--\"), and end with a letter or digit."
  }

  validation {
    condition     = alltrue([for h in values(var.handlers) : (h.source_dir == null) != (h.source_zip == null)])
    error_message = "Each handler sets exactly one of source_dir (a directory to zip) and source_zip (a zip file)."
  }

  validation {
    condition     = alltrue([for h in values(var.handlers) : alltrue([for access in values(coalesce(h.tables, {})) : contains(["read", "read_write"], access)])])
    error_message = "Each handler's tables map a table name to \"read\" or \"read_write\"."
  }

  validation {
    condition     = alltrue([for h in values(var.handlers) : h.filter == null || h.subscribes_to != null])
    error_message = "A handler's filter selects a topic's messages: set subscribes_to as well, or remove the filter."
  }
}
