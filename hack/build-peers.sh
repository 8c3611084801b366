#!/usr/bin/env bash
# Builds the peer tools of `make bench-peers` from the Go module proxy:
# conftest and Gatekeeper's gator, at pinned versions, with `go install
# module@version` (each module's own go.mod and go.sum decide its
# dependencies). They are built once into a cache folder keyed by version
# (${GUARDRAILS_CACHE_DIR:-~/.cache/martech-guardrails}/peers-<versions>)
# and copied into bin/peers/. A binary is built to a temporary folder and
# moved into place only when the build succeeded.
#
# Usage: hack/build-peers.sh
set -euo pipefail

CONFTEST_VERSION="${CONFTEST_VERSION:-v0.71.1}"
GATOR_VERSION="${GATOR_VERSION:-v3.23.1}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${PEERS_BIN_DIR:-$ROOT/bin/peers}"
CACHE_ROOT="${GUARDRAILS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/martech-guardrails}"
CACHE="$CACHE_ROOT/peers-conftest-$CONFTEST_VERSION-gator-$GATOR_VERSION"
mkdir -p "$OUT" "$CACHE"

log() { printf 'peers: %s\n' "$*" >&2; }

build() {
  local name="$1" pkg="$2" tmp start
  if [ ! -x "$CACHE/$name" ]; then
    start=$(date +%s)
    log "$name: building $pkg ..."
    tmp="$(mktemp -d "$CACHE/.$name.XXXXXX")"
    # Outside this module, so our go.mod does not take part.
    if ! (cd "$tmp" && GOBIN="$tmp" CGO_ENABLED=0 go install -trimpath "$pkg") >"$CACHE/$name.build.log" 2>&1; then
      tail -20 "$CACHE/$name.build.log" >&2
      rm -rf "$tmp"
      log "FAILED: $name did not build (full log: $CACHE/$name.build.log)"
      exit 1
    fi
    mv -f "$tmp/$name" "$CACHE/$name"
    rm -rf "$tmp"
    log "$name: built in $(( $(date +%s) - start ))s"
  fi
  cp -f "$CACHE/$name" "$OUT/.$name.partial" && mv -f "$OUT/.$name.partial" "$OUT/$name"
}

build conftest "github.com/open-policy-agent/conftest@$CONFTEST_VERSION"
build gator "github.com/open-policy-agent/gatekeeper/v3/cmd/gator@$GATOR_VERSION"
log "conftest $CONFTEST_VERSION and gator $GATOR_VERSION in ${OUT#$ROOT/}"
