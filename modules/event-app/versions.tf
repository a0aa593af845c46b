terraform {
  # optional() object attributes and `tofu test` / `terraform test` with expect_failures.
  required_version = ">= 1.6"
  required_providers {
    threefactor = {
      source = "threefactor/threefactor"
    }
  }
}
