#!/usr/bin/env bash
# Fails when the generated files (deepcopy, CRDs, RBAC, webhook manifests) are
# stale. It generates into a temporary copy of the tree and compares, so it
# never rewrites the working tree silently.
set -euo pipefail
CONTROLLER_GEN="$1"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
tar -C "$ROOT" --exclude=./bin --exclude=./.local --exclude=./dist --exclude=./.git -cf - . | tar -C "$TMP" -xf -
(
  cd "$TMP"
  "$CONTROLLER_GEN" object:headerFile="hack/boilerplate.go.txt" paths="./api/..."
  "$CONTROLLER_GEN" rbac:roleName=manager-role crd webhook paths="{./api/...,./controllers/...,./internal/webhook/...,./internal/audit/...}" output:crd:artifacts:config=config/crd/bases
  hack/report-crds.sh "$TMP"
)
stale=0
for d in api config/crd/bases config/reports config/rbac config/webhook; do
  [ -d "$TMP/$d" ] || continue
  if ! diff -r -q "$ROOT/$d" "$TMP/$d" >/dev/null 2>&1; then
    diff -r "$ROOT/$d" "$TMP/$d" | head -40 >&2 || true
    stale=1
  fi
done
if [ "$stale" = 1 ]; then
  echo "generated files are stale: run 'make manifests generate' and commit the result" >&2
  exit 1
fi
echo "generated files are up to date"
