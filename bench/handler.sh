#!/usr/bin/env bash
# Handler runtime benchmark: the Go library (handler/dynamodbstore
# BenchmarkHandler, both modes) and Powertools' idempotency utility
# (bench/powertools) on the same workload against one moto_server.
#
#   bench/handler.sh            # EVENTS=500 per phase
#   EVENTS=1000 bench/handler.sh
#
# Needs moto_server, node (>= 20), npm and go. Prints both sides and the
# ratio of events/s; moto's own speed bounds both, so the ratio and the
# per-event write counts are the figures, not the absolute rates.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
events="${EVENTS:-500}"
for tool in moto_server node npm go python3; do
  command -v "$tool" >/dev/null || { echo "bench/handler.sh: $tool not found" >&2; exit 1; }
done

# Static dummy credentials; never probe a metadata service.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN

if [ ! -d "$root/bench/powertools/node_modules/@aws-lambda-powertools/idempotency" ]; then
  (cd "$root/bench/powertools" && npm ci --no-audit --no-fund >/dev/null)
fi

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
endpoint="http://127.0.0.1:$port"
log="$(mktemp)"
moto_server -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true; rm -f "$log" "$out"' EXIT
out="$(mktemp)"
for _ in $(seq 1 100); do
  curl -fsS "$endpoint/moto-api/" >/dev/null 2>&1 && break
  sleep 0.1
done

echo "# moto_server at $endpoint, $events events per phase, $(nproc) cores, $(go version | cut -d' ' -f3), node $(node --version)"
(cd "$root/bench/powertools" && DYNAMODB_ENDPOINT="$endpoint" EVENTS="$events" node --no-warnings bench.mjs) | tee -a "$out"
# Both sides start from an empty moto (its TransactWriteItems copies the tables it touches).
curl -fsS -X POST "$endpoint/moto-api/reset" >/dev/null
(cd "$root/handler" && THREEFACTOR_BENCH_DYNAMODB_ENDPOINT="$endpoint" \
  go test -run '^$' -bench 'BenchmarkHandler' -benchtime "${events}x" -count 1 ./dynamodbstore) |
  awk '/^Benchmark/ {
    name = $1; sub(/^BenchmarkHandler\//, "", name); sub(/-[0-9]+$/, "", name)
    line = "go/" name "\t" $2 " events"
    for (i = 3; i < NF; i++) if ($(i+1) ~ /\/(s|event)$/ && $(i+1) != "ns/op") v[$(i+1)] = $i
    printf "%s\t%s events/s\t%s writes/event\t%s reads/event\t%s WCU/event\t%s RCU/event\t%s SDK retries/event\n", line, v["events/s"], v["writes/event"], v["reads/event"], v["WCU/event"], v["RCU/event"], v["retries/event"]
  } /^(FAIL|ok|PASS)|--- FAIL|_test\.go:/ { print "# " $0 }' | tee -a "$out"

echo
echo "# events/s relative to Powertools (same phase, same moto)"
awk -F'\t' '
  { split($1, n, "/"); rate[$1] = $3 + 0 }
  END {
    split("first duplicate stale", phases, " ")
    for (p = 1; p <= 3; p++) {
      ph = phases[p]; pt = rate["powertools/" ph]
      if (pt == 0) continue
      printf "%-10s claim-complete %.2fx   transactional %.2fx\n", ph, rate["go/claim-complete/" ph] / pt, rate["go/transactional/" ph] / pt
    }
  }' "$out"
