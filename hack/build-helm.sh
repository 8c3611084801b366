#!/usr/bin/env bash
# Builds a pinned helm (helm.sh/helm/v4, cmd/helm) from the Go module proxy
# into bin/helm, the way hack/build-k8s-bins.sh builds the cluster binaries:
# once into a cache folder keyed by version
# (${GUARDRAILS_CACHE_DIR:-~/.cache/martech-guardrails}/helm-<version>),
# through a throwaway module so `go build` resolves exactly that version, to a
# temporary name checked with `helm version` before it is moved into place.
# `make test` does not need it (the chart test runs Helm's Go packages);
# `make test-e2e` does. Like the cluster binaries, it resolves with this
# repository's go.mod requirements (which pin helm.sh/helm/v4 for the chart
# test) and the flags `go test` uses, so what the tests compiled already is
# not compiled again.
#
# Usage: hack/build-helm.sh
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v4.3.1}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${HELM_BIN:-$ROOT/bin/helm}"
CACHE_ROOT="${GUARDRAILS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/martech-guardrails}"
CACHE="$CACHE_ROOT/helm-$HELM_VERSION"
mkdir -p "$(dirname "$OUT")" "$CACHE"

log() { printf 'helm: %s\n' "$*" >&2; }
fail() { printf 'helm: FAILED: %s\n' "$*" >&2; exit 1; }

if [ -x "$OUT" ] && "$OUT" version --short 2>/dev/null | grep -F -- "$HELM_VERSION" >/dev/null; then
  log "$HELM_VERSION present in $OUT, skipped"
  exit 0
fi

if [ ! -x "$CACHE/helm" ]; then
  start=$(date +%s)
  log "building $HELM_VERSION from helm.sh/helm/v4@$HELM_VERSION ..."
  dir="$CACHE/src"
  if [ ! -f "$dir/.ready" ]; then
    rm -rf "$dir"; mkdir -p "$dir"
    (
      cd "$dir"
      go mod init guardrails.local/helmbin >/dev/null 2>&1
      reqs=()
      while read -r mv; do reqs+=("-require=$mv"); done < <(awk '/^require \(/ { r = 1; next } r && /^\)/ { r = 0; next }
          r && NF >= 2 && $1 !~ /^\/\// { print $1 "@" $2 }
          /^require [^(]/ { print $2 "@" $3 }' "$ROOT/go.mod" 2>/dev/null | grep -v '^helm.sh/helm/v4@' || true)
      [ ${#reqs[@]} -eq 0 ] || go mod edit "${reqs[@]}"
      go mod edit -require="helm.sh/helm/v4@$HELM_VERSION"
      printf '//go:build tools\n\npackage tools\n\nimport _ "helm.sh/helm/v4/cmd/helm"\n' > tools.go
      go mod tidy -e >/dev/null 2>"$dir/tidy.log" || { cat "$dir/tidy.log" >&2; exit 1; }
    ) || fail "cannot resolve the module helm.sh/helm/v4@$HELM_VERSION"
    touch "$dir/.ready"
  fi
  tmp="$CACHE/.helm.partial"
  rm -f "$tmp"
  if ! (cd "$dir" && go build \
      -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION -X helm.sh/helm/v4/internal/version.gitTreeState=clean" \
      -o "$tmp" helm.sh/helm/v4/cmd/helm) >"$CACHE/build.log" 2>&1; then
    tail -20 "$CACHE/build.log" >&2
    rm -f "$tmp"
    fail "helm did not build from helm.sh/helm/v4@$HELM_VERSION (full log: $CACHE/build.log)"
  fi
  got="$("$tmp" version --short 2>&1 || true)"
  if ! printf '%s\n' "$got" | grep -F -- "$HELM_VERSION" >/dev/null; then
    printf '%s\n' "$got" >&2
    rm -f "$tmp"
    fail "helm from helm.sh/helm/v4@$HELM_VERSION does not report version $HELM_VERSION"
  fi
  mv -f "$tmp" "$CACHE/helm"
  log "built in $(( $(date +%s) - start ))s"
else
  log "from cache $CACHE"
fi
cp -f "$CACHE/helm" "$OUT.partial" && mv -f "$OUT.partial" "$OUT"
log "ready: $OUT"
