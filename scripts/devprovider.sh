# Sourced by the demo and the benchmarks: points tofu at the provider built in bin/ through
# dev_overrides (so no registry is asked), in a scratch directory $work removed on exit, with dummy
# AWS credentials that keep every SDK away from metadata addresses.
work=$(mktemp -d)
cat >"$work/tofurc" <<RC
provider_installation {
  dev_overrides {
    "registry.opentofu.org/threefactor/threefactor" = "$PWD/bin"
  }
  direct {}
}
RC
export TF_CLI_CONFIG_FILE="$work/tofurc" TF_DATA_DIR="$work/data" TF_IN_AUTOMATION=1
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true
