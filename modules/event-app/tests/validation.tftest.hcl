# Plan-level tests: each validation and precondition refuses what it should.

provider "threefactor" {
  aws = { region = "us-east-1" }
}

variables {
  cloud = "aws"
}

run "unknown_cloud" {
  command = plan
  variables { cloud = "ibm" }
  expect_failures = [var.cloud]
}

run "topic_name" {
  command = plan
  variables { topics = ["orders--topic"] }
  expect_failures = [var.topics]
}

run "table_name" {
  command = plan
  variables { tables = { Orders = {} } }
  expect_failures = [var.tables]
}

run "handler_name" {
  command = plan
  variables { handlers = { "Billing" = { runtime = "nodejs22", source_dir = "./tests/src" } } }
  expect_failures = [var.handlers]
}

run "two_sources" {
  command = plan
  variables { handlers = { billing = { runtime = "nodejs22", source_dir = "./tests/src", source_zip = "billing.zip" } } }
  expect_failures = [var.handlers]
}

run "no_source" {
  command = plan
  variables { handlers = { billing = { runtime = "nodejs22" } } }
  expect_failures = [var.handlers]
}

run "table_access" {
  command = plan
  variables {
    tables   = { orders = {} }
    handlers = { billing = { runtime = "nodejs22", source_dir = "./tests/src", tables = { orders = "write" } } }
  }
  expect_failures = [var.handlers]
}

run "filter_without_topic" {
  command = plan
  variables { handlers = { billing = { runtime = "nodejs22", source_dir = "./tests/src", filter = { type = ["order.created"] } } } }
  expect_failures = [var.handlers]
}

run "unknown_topic" {
  command = plan
  variables {
    topics   = ["orders"]
    handlers = { billing = { runtime = "nodejs22", source_dir = "./tests/src", subscribes_to = "payments" } }
  }
  expect_failures = [threefactor_eventhandler.this]
}

run "unknown_table" {
  command = plan
  variables {
    tables   = { orders = {} }
    handlers = { billing = { runtime = "nodejs22", source_dir = "./tests/src", tables = { payments = "read" } } }
  }
  expect_failures = [threefactor_eventhandler.this]
}
