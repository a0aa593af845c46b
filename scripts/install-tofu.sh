#!/usr/bin/env bash
# Builds OpenTofu from the Go module proxy and caches the binary; prints its path.
# `go install` cannot build it (its go.mod has a replace directive), so build inside the module's own tree.
set -euo pipefail

version="${TOFU_VERSION:-1.10.10}"
cache="${THREEFACTOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/threefactor}"
bin="$cache/tofu-$version/tofu"

if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
command -v go >/dev/null || { echo "install-tofu: go is not on PATH; install Go 1.26 first" >&2; exit 1; }

echo "install-tofu: building OpenTofu $version (about 7 minutes the first time)" >&2
dir=$(go mod download -json "github.com/opentofu/opentofu@v$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -n "$dir" ] || { echo "install-tofu: could not download github.com/opentofu/opentofu@v$version from the Go module proxy" >&2; exit 1; }
mkdir -p "$(dirname "$bin")"
(cd "$dir" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin.tmp" ./cmd/tofu)
mv "$bin.tmp" "$bin"
echo "$bin"
