#!/usr/bin/env bash
# Generates docs/ with tfplugindocs from templates/, examples/ and the provider's schema. The schema
# comes from `tofu providers schema -json` on the provider built in bin/ (tfplugindocs would
# otherwise download Terraform), rekeyed to the short name tfplugindocs looks for.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v python3 >/dev/null || { echo "docs: python3 is missing (it rekeys the schema JSON)" >&2; exit 1; }
# The per-cloud table in the resource template comes from the clouds' descriptions.
go test ./internal/provider -count=1 -run '^TestDocsCloudTable$' -update >/dev/null
tofu=$(scripts/install-tofu.sh)
. scripts/devprovider.sh
trap 'rm -rf "$work"' EXIT

mkdir "$work/config"
cat >"$work/config/main.tf" <<'TF'
terraform {
  required_providers {
    threefactor = { source = "threefactor/threefactor" }
  }
}
TF
"$tofu" -chdir="$work/config" providers schema -json >"$work/tofu-schema.json"
python3 - "$work/tofu-schema.json" "$work/schema.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["provider_schemas"] = {"threefactor": v for v in s["provider_schemas"].values()}
json.dump(s, open(sys.argv[2], "w"))
PY

go tool -modfile=tools/go.mod tfplugindocs generate \
  --provider-name threefactor --rendered-provider-name threefactor \
  --providers-schema "$work/schema.json"
out=$(go tool -modfile=tools/go.mod tfplugindocs validate --provider-name threefactor 2>&1) || {
  echo "$out" >&2
  exit 1
}
echo "docs: generated and validated docs/"
