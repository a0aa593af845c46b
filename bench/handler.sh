#!/usr/bin/env bash
# Handler runtime benchmark: the Go library (handler/dynamodbstore
# BenchmarkHandler: claim/complete, transactional and single-write) and
# Powertools' idempotency utility (bench/powertools) on the same workload
# against one moto_server, in ROUNDS interleaved rounds (each round runs both
# sides, in alternating order, on an emptied moto).
#
#   bench/handler.sh                     # EVENTS=500 per phase, ROUNDS=5
#   EVENTS=1000 ROUNDS=7 bench/handler.sh
#
# Needs moto_server, node (>= 20), npm, go and python3. Prints every run, then
# the per-event requests and capacity units (exact: the same in every round,
# or the script says so), the median events/s per side over the rounds, and
# the median of the per-round ratios to Powertools: moto's speed varies
# between runs by up to 2x, so only ratios from the same round compare.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
events="${EVENTS:-500}"
rounds="${ROUNDS:-5}"
for tool in moto_server node npm go python3 curl; do
  command -v "$tool" >/dev/null || { echo "bench/handler.sh: $tool not found" >&2; exit 1; }
done

# Static dummy credentials; never probe a metadata service.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN

if [ ! -d "$root/bench/powertools/node_modules/@aws-lambda-powertools/idempotency" ]; then
  (cd "$root/bench/powertools" && npm ci --no-audit --no-fund >/dev/null)
fi
# Build the Go benchmark once, outside the timed rounds.
gobench="$(mktemp)"
(cd "$root/handler" && go test -c -o "$gobench" ./dynamodbstore)

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
endpoint="http://127.0.0.1:$port"
log="$(mktemp)"
out="$(mktemp)"
moto_server -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true; rm -f "$log" "$out" "$gobench"' EXIT
for _ in $(seq 1 100); do
  curl -fsS "$endpoint/moto-api/" >/dev/null 2>&1 && break
  sleep 0.1
done

powertools() {
  (cd "$root/bench/powertools" && DYNAMODB_ENDPOINT="$endpoint" EVENTS="$events" node --no-warnings bench.mjs)
}

golib() {
  (cd "$root/handler/dynamodbstore" && THREEFACTOR_BENCH_DYNAMODB_ENDPOINT="$endpoint" \
    "$gobench" -test.run '^$' -test.bench 'BenchmarkHandler' -test.benchtime "${events}x" -test.count 1) |
    awk '/^Benchmark/ {
      name = $1; sub(/^BenchmarkHandler\//, "", name); sub(/-[0-9]+$/, "", name)
      delete v
      for (i = 3; i < NF; i++) if ($(i+1) ~ /\/(s|event)$/ && $(i+1) != "ns/op") v[$(i+1)] = $i
      printf "go/%s\t%s events\t%s events/s\t%s requests/event\t%s writes/event\t%s reads/event\t%s WCU/event\t%s RCU/event\t%s SDK retries/event\n", name, $2, v["events/s"], v["requests/event"], v["writes/event"], v["reads/event"], v["WCU/event"], v["RCU/event"], v["retries/event"]
    } /^(FAIL|PASS)|--- FAIL|_test\.go:/ { print "# " $0 }'
}

echo "# moto_server at $endpoint, $events events per phase, $rounds rounds, $(nproc) cores, $(go version | cut -d' ' -f3), node $(node --version), moto $(python3 -c "import moto; print(moto.__version__)" 2>/dev/null || echo "(version unknown)")"
for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) -eq 1 ]; then order="powertools golib"; else order="golib powertools"; fi
  for side in $order; do
    # Each side starts from an empty moto (its TransactWriteItems copies the tables it touches).
    curl -fsS -X POST "$endpoint/moto-api/reset" >/dev/null
    "$side" | sed "s/^/$round\t/" | tee -a "$out"
  done
done

echo
python3 - "$out" <<'EOF'
import statistics, sys
rows = {}  # name -> round -> fields
for line in open(sys.argv[1]):
    parts = line.rstrip("\n").split("\t")
    if len(parts) < 3 or parts[1].startswith("#"):
        continue
    rnd, name = parts[0], parts[1]
    f = {}
    for p in parts[2:]:
        val, _, unit = p.partition(" ")
        try:
            f[unit] = float(val)
        except ValueError:
            pass
    rows.setdefault(name, {})[rnd] = f
phases = ["first", "duplicate", "stale"]
sides = ["powertools"] + ["go/" + m for m in ("claim-complete", "transactional", "single-write")]
print("# per event (exact figures: requests, item writes, WCU, reads, RCU)")
for side in sides:
    for ph in phases:
        runs = rows.get(side + "/" + ph if side != "powertools" else "powertools/" + ph, {})
        if not runs:
            continue
        keys = ["requests/event", "writes/event", "WCU/event", "reads/event", "RCU/event"]
        vals = {k: sorted({round(r.get(k, float("nan")), 3) for r in runs.values()}) for k in keys}
        note = "" if all(len(v) == 1 for v in vals.values()) else "  (differs between rounds!)"
        print(f"{side}/{ph}\t" + "\t".join(f"{'/'.join(str(x) for x in vals[k])} {k}" for k in keys) + note)
print()
print("# events/s: median over the rounds (min-max), and the median of the per-round ratios to Powertools")
for ph in phases:
    pt = rows.get("powertools/" + ph, {})
    for side in sides:
        name = side + "/" + ph if side != "powertools" else "powertools/" + ph
        runs = rows.get(name, {})
        if not runs:
            continue
        rates = [r["events/s"] for r in runs.values()]
        line = f"{name}\t{statistics.median(rates):.1f} events/s ({min(rates):.1f}-{max(rates):.1f}, {len(rates)} runs)"
        if side != "powertools":
            ratios = [runs[k]["events/s"] / pt[k]["events/s"] for k in runs if k in pt and pt[k].get("events/s")]
            if ratios:
                line += f"\t{statistics.median(ratios):.2f}x Powertools (per round {min(ratios):.2f}-{max(ratios):.2f}x)"
        print(line)
EOF
