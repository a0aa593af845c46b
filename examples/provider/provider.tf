terraform {
  required_providers {
    threefactor = {
      source = "threefactor/threefactor"
    }
  }
}

provider "threefactor" {
  # Tags on every component of every handler, on every cloud.
  default_tags = {
    owner = "platform"
  }
  aws = {
    region = "us-east-1"
    # profile  = "dev"                    # else the SDK's default credential chain
    # endpoint = "http://127.0.0.1:5000"  # moto, LocalStack or a private endpoint; AWS_ENDPOINT_URL works too
  }
}
