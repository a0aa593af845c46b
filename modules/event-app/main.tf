resource "threefactor_topic" "this" {
  for_each = var.topics

  name  = each.key
  cloud = var.cloud
}

resource "threefactor_table" "this" {
  for_each = var.tables

  name          = each.key
  cloud         = var.cloud
  key           = each.value.key
  ttl_attribute = each.value.ttl_attribute
  force_destroy = each.value.force_destroy
}

resource "threefactor_eventhandler" "this" {
  for_each = var.handlers

  name  = each.key
  cloud = var.cloud

  function = {
    runtime            = each.value.runtime
    source_dir         = each.value.source_dir
    source_zip         = each.value.source_zip
    entry_point        = each.value.entry_point
    memory_mb          = each.value.memory_mb
    timeout_s          = each.value.timeout_s
    environment        = each.value.environment
    secret_environment = each.value.secret_environment
    tables = each.value.tables == null ? null : {
      for table, access in each.value.tables : replace(table, "-", "_") => {
        # An unknown table fails the precondition below, with its name, before the provider sees it.
        table_id = try(threefactor_table.this[table].table_id, "not-in-tables")
        access   = access
      }
    }
  }

  trigger = {
    kind       = each.value.subscribes_to == null ? "queue" : "topic"
    source     = each.value.subscribes_to == null ? null : try(threefactor_topic.this[each.value.subscribes_to].topic_id, "not-in-topics")
    filter     = each.value.filter
    enabled    = each.value.enabled
    batch_size = each.value.batch_size
  }

  retry       = { max_attempts = each.value.max_attempts }
  dead_letter = { retention_days = each.value.retention_days }
  dedup       = { ttl_s = each.value.dedup_ttl_s }

  lifecycle {
    precondition {
      condition     = each.value.subscribes_to == null || contains(keys(threefactor_topic.this), coalesce(each.value.subscribes_to, "-"))
      error_message = "Handler ${each.key} subscribes to topic \"${coalesce(each.value.subscribes_to, "-")}\", which is not in topics."
    }
    precondition {
      condition     = alltrue([for table in keys(coalesce(each.value.tables, {})) : contains(keys(var.tables), table)])
      error_message = "Handler ${each.key} names a table that is not in tables (it has ${join(", ", keys(var.tables))})."
    }
  }
}
