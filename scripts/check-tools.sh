#!/usr/bin/env bash
# Checks for the tools the tests and the demo need and says what is missing and how to get it.
set -uo pipefail
missing=0
need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "missing: $1 — $2" >&2
    missing=1
  fi
}
need go "install Go 1.26 (https://go.dev/dl); the Go module proxy must be reachable"
need moto_server "install the AWS emulator: pip install 'moto[server]' (moto 5.x, Python 3.9+)"
need curl "apt-get install curl"
need gcloud "install google-cloud-cli with the Firestore emulator (component cloud-firestore-emulator, or apt-get install google-cloud-cli-firestore-emulator)"
need java "install a Java runtime (17 or later) for the Firestore emulator"
need node "install Node.js 20 or later for the Cosmos DB emulator (npm @vercel/cosmosdb-server) and the Node Azure example"
need npm "install npm (with Node.js); the npm registry must be reachable on first use"
[ "$missing" = 0 ] || { echo "check-tools: install what is missing above, then run again" >&2; exit 1; }
