# A handler that consumes its own queue: producers send to `publish_target` (the queue URL).
resource "threefactor_eventhandler" "order_placed" {
  name  = "order-placed"
  cloud = "aws"

  function = {
    runtime            = "nodejs22"
    source_dir         = "${path.module}/src"
    memory_mb          = 256
    timeout_s          = 30
    environment        = { ORDERS_TABLE = "orders" }
    max_concurrency    = 20
    log_retention_days = 30
  }

  trigger = {
    kind           = "queue"
    batch_size     = 10
    batch_window_s = 0
  }

  retry       = { max_attempts = 5 }
  dead_letter = { retention_days = 14 }
  dedup       = { ttl_s = 86400 }
  tags        = { team = "orders" }
}

# A handler subscribed to a fan-out topic: producers publish to `publish_target` (the topic ARN).
resource "threefactor_eventhandler" "payment_settled" {
  name  = "payment-settled"
  cloud = "aws"

  function = {
    runtime    = "nodejs22"
    source_dir = "${path.module}/src"
    timeout_s  = 10
  }

  trigger = { kind = "topic" }
}
