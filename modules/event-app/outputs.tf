output "topics" {
  description = "Per topic: `topic_id` (what a handler's trigger.source takes) and `publish_target` (what producers publish to)."
  value = {
    for name, t in threefactor_topic.this : name => {
      topic_id       = t.topic_id
      publish_target = t.publish_target
    }
  }
}

output "tables" {
  description = "Per table: its `table_id`."
  value       = { for name, t in threefactor_table.this : name => t.table_id }
}

output "handlers" {
  description = "Per handler: `function_id`, `identity_id`, `dead_letter_id`, `dedup_table_id`, and `publish_target` (its own queue, or its topic)."
  value = {
    for name, h in threefactor_eventhandler.this : name => {
      function_id    = h.function_id
      identity_id    = h.identity_id
      dead_letter_id = h.dead_letter_id
      dedup_table_id = h.dedup_table_id
      publish_target = h.publish_target
    }
  }
}
