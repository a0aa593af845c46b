# A topic the app's handlers share: producers publish to `publish_target`, and every handler
# subscribed to it gets its own copy of each event, or only the events its filter matches.
resource "threefactor_topic" "orders" {
  name  = "orders"
  cloud = "aws"
  tags  = { team = "orders" }
}

resource "threefactor_eventhandler" "order_audit" {
  name     = "order-audit"
  cloud    = "aws"
  function = { runtime = "nodejs22", source_dir = "${path.module}/src" }
  trigger  = { kind = "topic", source = threefactor_topic.orders.topic_id }
}

resource "threefactor_eventhandler" "order_billing" {
  name     = "order-billing"
  cloud    = "aws"
  function = { runtime = "nodejs22", source_dir = "${path.module}/src" }
  trigger = {
    kind   = "topic"
    source = threefactor_topic.orders.topic_id
    # Only messages whose `type` attribute is one of these reach the handler.
    filter = { type = ["order.created", "order.cancelled"] }
  }
}
