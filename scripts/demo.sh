#!/usr/bin/env bash
# The main job on a fresh machine: build the provider, start moto on loopback, apply
# examples/quickstart (a queue handler and a topic handler), print the outputs, destroy, stop moto.
set -euo pipefail
cd "$(dirname "$0")/.."

tofu=$(scripts/install-tofu.sh)
port="${DEMO_PORT:-5055}"
trap 'scripts/moto.sh stop; rm -rf "${work:-}"' EXIT
endpoint=$(scripts/moto.sh start "$port")

. scripts/devprovider.sh
state="$work/terraform.tfstate"

echo "demo: applying examples/quickstart against moto at $endpoint"
start=$(date +%s%N)
"$tofu" -chdir=examples/quickstart apply -auto-approve -input=false -state="$state" -var "endpoint=$endpoint"
echo "demo: apply took $(( ($(date +%s%N) - start) / 1000000 )) ms"
"$tofu" -chdir=examples/quickstart output -state="$state"
"$tofu" -chdir=examples/quickstart destroy -auto-approve -input=false -state="$state" -var "endpoint=$endpoint"
echo "demo: destroyed; done"
