# The app's state: an orders table the handler writes through the runtime library, which finds it
# as THREEFACTOR_TABLE_ORDERS. The handler's identity may read and write this table and no other.
resource "threefactor_table" "orders" {
  name          = "orders"
  cloud         = "aws"
  key           = "id"
  ttl_attribute = "expires_at"
}

resource "threefactor_eventhandler" "order_status" {
  name  = "order-status"
  cloud = "aws"
  function = {
    runtime    = "nodejs22"
    source_dir = "${path.module}/src"
    tables     = { orders = { table_id = threefactor_table.orders.table_id, access = "read_write" } }
  }
}
