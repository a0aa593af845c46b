terraform {
  required_providers {
    threefactor = {
      source = "threefactor/threefactor"
    }
  }
}

provider "threefactor" {
  aws = {
    region = "us-east-1"
    # profile  = "dev"                    # else the SDK's default credential chain
    # endpoint = "http://127.0.0.1:5000"  # moto, LocalStack or a private endpoint; AWS_ENDPOINT_URL works too
    default_tags = {
      owner = "platform"
    }
  }
}
