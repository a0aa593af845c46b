#!/usr/bin/env bash
# `make demo`: the story the provider and the runner tell, checked. On moto (loopback), it applies
# examples/demo (a handler built from examples/handler-go, paused so that the local runner
# delivers), sends a burst with duplicates, reordering and one poison event, runs
# `threefactor run --until-drained`, releases a handler that knows the poison event's status,
# replays it from the dead-letter queue, runs again, destroys, and asserts every number on the way:
# it exits non-zero when one is off.
set -euo pipefail
cd "$(dirname "$0")/.."

tofu=$(scripts/install-tofu.sh)
port="${DEMO_PORT:-5055}"
trap 'scripts/moto.sh stop; rm -rf "${work:-}"' EXIT
endpoint=$(scripts/moto.sh start "$port")
export AWS_ENDPOINT_URL="$endpoint"

. scripts/devprovider.sh
state="$work/terraform.tfstate"
build="$work/build"
say() { printf '\ndemo: %s\n' "$*"; }

start=$(date +%s%N)
go build -o "$work/threefactor" ./cmd/threefactor
go build -o "$work/shop" ./examples/demo/shop
goarch=$(go env GOARCH)
arch=$([ "$goarch" = arm64 ] && echo arm64 || echo x86_64)
(cd examples/handler-go && CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -o "$build/bootstrap" .)
built=$(date +%s%N)
echo "demo: built the CLI, the demo's helper and examples/handler-go for $goarch in $(( (built - start) / 1000000 )) ms"

apply() { # apply with the statuses the handler knows
  "$tofu" -chdir=examples/demo apply -auto-approve -input=false -compact-warnings -state="$state" \
    -var "endpoint=$endpoint" -var "build_dir=$build" -var "architecture=$arch" -var "order_statuses=$1" >"$work/apply.log" ||
    { cat "$work/apply.log"; exit 1; }
}
run() { # run the runner until drained; its exit status must be $1
  local code=0
  # One batch at a time: moto loses items when TransactWriteItems calls overlap.
  "$work/threefactor" run --chdir examples/demo --state "$state" --tofu "$tofu" --until-drained --concurrency 1 >"$2" 2>"$2.log" || code=$?
  sed 's/^/  /' "$2.log"
  if [ "$code" != "$1" ]; then
    echo "demo: threefactor run exited $code, want $1" >&2
    exit 1
  fi
}

say "1. the orders table and the handler, applied with trigger.enabled = false (the runner delivers)"
apply "placed,paid,shipped"
queue=$("$tofu" -chdir=examples/demo output -state="$state" -raw queue_url)
dlq=$("$tofu" -chdir=examples/demo output -state="$state" -raw dead_letter_url)

say "2. a burst: o-1 and o-2 out of order, three duplicates, and o-4 refunded, a status this release does not know"
"$work/shop" burst "$queue"

say "3. threefactor run --until-drained: the poison event fails 3 times (max_attempts) and is dead-lettered"
run 1 "$work/run1.jsonl"
"$work/shop" tally "$work/run1.jsonl" received=13 succeeded=10 failed=3 dead_lettered=1 duplicates=3 applied+stale=7
"$work/shop" orders o-1=shipped o-2=paid o-3=placed o-4=placed

say "4. threefactor dlq orders list"
"$work/threefactor" dlq --chdir examples/demo --state "$state" --tofu "$tofu" orders list | sed 's/^/  /'

say "5. a release that knows refunded, then threefactor dlq orders replay"
apply "placed,paid,shipped,refunded"
"$work/threefactor" dlq --chdir examples/demo --state "$state" --tofu "$tofu" orders replay | sed 's/^/  /'

say "6. threefactor run --until-drained: the replayed event is applied"
run 0 "$work/run2.jsonl"
"$work/shop" tally "$work/run2.jsonl" received=1 succeeded=1 failed=0 dead_lettered=0 applied=1
"$work/shop" orders o-4=refunded
"$work/shop" dedup orders--dedup "$work/run1.jsonl" "$work/run2.jsonl"
"$work/shop" empty "$queue" "$dlq"

say "7. destroy"
"$tofu" -chdir=examples/demo destroy -auto-approve -input=false -state="$state" \
  -var "endpoint=$endpoint" -var "build_dir=$build" -var "architecture=$arch" -var "order_statuses=" >"$work/destroy.log" ||
  { cat "$work/destroy.log"; exit 1; }
left=$("$tofu" -chdir=examples/demo state list -state="$state" | wc -l)
if [ "$left" != 0 ]; then
  echo "demo: $left resources left in the state" >&2
  exit 1
fi
if pgrep -f "$build/bootstrap" >/dev/null; then
  echo "demo: a handler process outlived its run:" >&2
  pgrep -af "$build/bootstrap" >&2
  exit 1
fi
moto_pid=$(cat "${THREEFACTOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/threefactor}/moto/pid")
scripts/moto.sh stop
for _ in $(seq 1 50); do # gone, or a zombie nobody reaps (its state is Z)
  state_of=$(awk '{print $3}' "/proc/$moto_pid/stat" 2>/dev/null || true)
  [ -z "$state_of" ] || [ "$state_of" = Z ] && break
  sleep 0.1
done
if [ -n "$state_of" ] && [ "$state_of" != Z ]; then
  echo "demo: moto (pid $moto_pid) still runs" >&2
  exit 1
fi
echo "  0 resources, no handler process left, moto stopped"
echo "demo: the story checked in $(( ($(date +%s%N) - built) / 1000000 )) ms after the build"
