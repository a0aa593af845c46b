# Consume a queue that already exists (created elsewhere, or by another stack). The handler gets
# the redrive policy and visibility timeout it needs; the queue's previous values are restored on
# destroy. A topic ARN works the same way with `kind = "topic"`.
variable "orders_queue_arn" {
  type = string
}

resource "threefactor_eventhandler" "order_audit" {
  name  = "order-audit"
  cloud = "aws"

  function = {
    runtime    = "nodejs22"
    source_dir = "${path.module}/src"
  }

  trigger = {
    kind   = "queue"
    source = var.orders_queue_arn
  }
}
