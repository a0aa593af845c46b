#!/usr/bin/env bash
# Starts or stops moto_server (the AWS emulator) on 127.0.0.1 for the demo.
#   scripts/moto.sh start [PORT]   prints the endpoint URL once moto answers
#   scripts/moto.sh stop
# Tests start their own moto on a free port (acctest/moto); this one serves `make demo`.
set -euo pipefail

state="${THREEFACTOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/threefactor}/moto"
mkdir -p "$state"

case "${1:-}" in
start)
  port="${2:-5000}"
  if ! command -v moto_server >/dev/null; then
    echo "moto.sh: moto_server not found: install it with pip install 'moto[server]' (moto 5.x)" >&2
    exit 1
  fi
  if [ -f "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null; then
    "$0" stop
  fi
  AWS_EC2_METADATA_DISABLED=true nohup moto_server -H 127.0.0.1 -p "$port" >"$state/log" 2>&1 &
  echo $! >"$state/pid"
  url="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    if curl -fsS -o /dev/null "$url/moto-api/" 2>/dev/null; then
      # Without Docker, moto consumes messages delivered to a function instead of failing on them.
      curl -fsS -X POST -H 'Content-Type: application/json' -d '{"lambda": {"use_docker": false}}' "$url/moto-api/config" >/dev/null
      echo "$url"
      exit 0
    fi
    sleep 0.1
  done
  echo "moto.sh: moto_server did not answer on $url; its log:" >&2
  cat "$state/log" >&2
  exit 1
  ;;
stop)
  if [ -f "$state/pid" ]; then
    kill "$(cat "$state/pid")" 2>/dev/null || true
    rm -f "$state/pid"
  fi
  ;;
*)
  echo "usage: $0 start [PORT] | stop" >&2
  exit 2
  ;;
esac
