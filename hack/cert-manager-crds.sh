#!/usr/bin/env bash
# Copies cert-manager's own Certificate and Issuer CRDs into
# bin/cert-manager-crds/ for the chart test's server-side dry run of the
# cert-manager install (test/chart). They come from the cert-manager Go
# module, fetched through the Go module proxy into the module cache; nothing
# else of cert-manager is used.
#
# Usage: hack/cert-manager-crds.sh
set -euo pipefail

CERT_MANAGER_VERSION="${CERT_MANAGER_VERSION:-v1.21.2}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/bin/cert-manager-crds"

if [ -f "$OUT/.version" ] && [ "$(cat "$OUT/.version")" = "$CERT_MANAGER_VERSION" ]; then
  echo "cert-manager-crds: $CERT_MANAGER_VERSION present in $OUT, skipped" >&2
  exit 0
fi
dir="$(cd "${TMPDIR:-/tmp}" && GOFLAGS= go mod download -json "github.com/cert-manager/cert-manager@$CERT_MANAGER_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
[ -d "$dir/deploy/crds" ] || { echo "cert-manager-crds: FAILED: no deploy/crds in github.com/cert-manager/cert-manager@$CERT_MANAGER_VERSION" >&2; exit 1; }
rm -rf "$OUT"; mkdir -p "$OUT"
for crd in certificates issuers; do
  cp "$dir/deploy/crds/cert-manager.io_$crd.yaml" "$OUT/"
done
chmod u+w "$OUT"/*.yaml
echo "$CERT_MANAGER_VERSION" > "$OUT/.version"
echo "cert-manager-crds: $CERT_MANAGER_VERSION in $OUT" >&2
