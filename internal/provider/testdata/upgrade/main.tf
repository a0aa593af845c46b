# The configuration of v0.tfstate after the upgrade: default_tags moved from the aws block to the
# provider's top level, everything else as it was written for the provider that recorded the state.
terraform {
  required_providers {
    threefactor = { source = "threefactor/threefactor" }
  }
}

variable "endpoint" { type = string }

provider "threefactor" {
  default_tags = { owner = "platform" }
  aws = {
    region   = "us-east-1"
    endpoint = var.endpoint
  }
}

resource "threefactor_eventhandler" "queue" {
  name  = "upgrade-queue"
  cloud = "aws"
  function = {
    runtime            = "nodejs22"
    source_dir         = "${path.module}/src"
    secret_environment = { API_KEY = "s3cret" }
  }
  tags = { team = "orders" }
}

resource "threefactor_eventhandler" "topic" {
  name  = "upgrade-topic"
  cloud = "aws"
  function = {
    runtime    = "nodejs22"
    source_dir = "${path.module}/src"
  }
  trigger = { kind = "topic" }
  retry   = { max_attempts = 3 }
}
