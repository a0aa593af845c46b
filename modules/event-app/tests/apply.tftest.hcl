# Apply-level test against the emulators (`threefactor emulators run -- tofu test`): one topic, two
# tables and three handlers, wired as the inputs say, with the provider's defaults where they are null.

provider "threefactor" {
  aws = { region = "us-east-1" }
}

variables {
  cloud  = "aws"
  topics = ["orders"]
  tables = {
    orders      = {}
    audit-trail = { ttl_attribute = "expires_at", force_destroy = true }
  }
  handlers = {
    billing = {
      runtime       = "nodejs22"
      source_dir    = "./tests/src"
      subscribes_to = "orders"
      filter        = { type = ["order.created"] }
      tables        = { orders = "read_write" }
      max_attempts  = 3
    }
    audit = {
      runtime       = "nodejs22"
      source_dir    = "./tests/src"
      subscribes_to = "orders"
      tables        = { audit-trail = "read_write", orders = "read" }
    }
    intake = {
      runtime    = "nodejs22"
      source_dir = "./tests/src"
    }
  }
}

run "app" {
  assert {
    condition     = startswith(output.topics["orders"].publish_target, "arn:aws:sns:us-east-1:")
    error_message = "the orders topic publishes to an SNS topic"
  }
  assert {
    condition     = threefactor_eventhandler.this["billing"].trigger.source == output.topics["orders"].topic_id && threefactor_eventhandler.this["audit"].trigger.kind == "topic"
    error_message = "billing and audit subscribe to the orders topic"
  }
  assert {
    condition     = threefactor_eventhandler.this["intake"].trigger.kind == "queue" && threefactor_eventhandler.this["intake"].trigger.source == null
    error_message = "intake consumes a queue of its own"
  }
  assert {
    condition     = threefactor_eventhandler.this["billing"].trigger.filter["type"] == tolist(["order.created"])
    error_message = "billing keeps its filter"
  }
  assert {
    condition     = threefactor_eventhandler.this["audit"].function.tables["audit_trail"].table_id == output.tables["audit-trail"] && threefactor_eventhandler.this["audit"].function.tables["orders"].access == "read"
    error_message = "audit is granted audit-trail (as audit_trail) and orders, read only"
  }
  assert {
    condition     = threefactor_eventhandler.this["billing"].retry.max_attempts == 3 && threefactor_eventhandler.this["intake"].retry.max_attempts != null
    error_message = "max_attempts passes through, and null takes the provider's default"
  }
  assert {
    condition     = length(output.handlers) == 3 && alltrue([for h in values(output.handlers) : h.dead_letter_id != "" && h.dedup_table_id != "" && h.identity_id != ""])
    error_message = "every handler reports its dead-letter queue, dedup table and identity"
  }
}
