#!/usr/bin/env bash
# Wall time of `tofu apply` (and destroy) of one queue handler against moto, RUNS times (default 5);
# prints each and the median. Usage: bench/apply.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
make -s build
tofu=$(scripts/install-tofu.sh)
trap 'scripts/moto.sh stop; rm -rf "${work:-}"' EXIT
endpoint=$(scripts/moto.sh start "${BENCH_PORT:-5056}")
. scripts/devprovider.sh

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
applies=() destroys=()
for i in $(seq 1 "$runs"); do
  args=(-auto-approve -input=false -state="$work/$i.tfstate" -var "endpoint=$endpoint" -var "name=bench-$i")
  t=$(date +%s%N); "$tofu" -chdir=bench/apply apply "${args[@]}" >/dev/null; applies+=("$(ms "$t")")
  t=$(date +%s%N); "$tofu" -chdir=bench/apply destroy "${args[@]}" >/dev/null; destroys+=("$(ms "$t")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "apply ms:   ${applies[*]} (median $(median "${applies[@]}"))"
echo "destroy ms: ${destroys[*]} (median $(median "${destroys[@]}"))"
