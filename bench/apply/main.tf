# One queue handler: what bench/apply.sh times.
terraform {
  required_providers {
    threefactor = { source = "threefactor/threefactor" }
  }
}

variable "endpoint" { type = string }
variable "name" { type = string }

provider "threefactor" {
  aws = { region = "us-east-1", endpoint = var.endpoint }
}

resource "threefactor_eventhandler" "bench" {
  name  = var.name
  cloud = "aws"
  function = {
    runtime    = "nodejs22"
    source_dir = "${path.module}/../../examples/quickstart/src"
  }
}
