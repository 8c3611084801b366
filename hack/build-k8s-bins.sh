#!/usr/bin/env bash
# Builds the local cluster binaries from the Go module proxy (no other network
# is needed): kube-apiserver, kube-controller-manager, kube-scheduler, kubectl,
# etcd, kwok and kwokctl. See docs/local-cluster.md for the versions and why
# it is done through throwaway modules.
#
# Binaries are built once into a cache folder keyed by version
# (${GUARDRAILS_CACHE_DIR:-~/.cache/martech-guardrails}/k8s-<versions>) and
# copied into bin/k8s/. A binary is built to a temporary name, checked with its
# own version command, and only then moved into place, so a failed build never
# leaves something that looks complete.
#
# They are built so that Go's build cache serves both them and `go vet` /
# `go test` of this repository: the Kubernetes module resolves with this
# repository's go.mod requirements added (so client-go, apimachinery, grpc
# and the rest compile once, at the versions the tests use), and nothing is
# built with flags the tests do not use (no -trimpath, the default cgo
# setting). About 1,200 of the ~1,800 packages (the standard library
# included) that `go vet` and `go test` compile are then already in the
# cache when `make test` reaches them.
#
# Usage: hack/build-k8s-bins.sh [binary ...]   (default: all)
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.37.2}"
K8S_STAGING_VERSION="${K8S_STAGING_VERSION:-v0.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GOMOD="$ROOT/go.mod"
OUT="${K8S_BIN_DIR:-$ROOT/bin/k8s}"
CACHE_ROOT="${GUARDRAILS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/martech-guardrails}"
CACHE="$CACHE_ROOT/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"
mkdir -p "$OUT" "$CACHE"

ALL=(kube-apiserver etcd kube-controller-manager kube-scheduler kubectl kwok kwokctl)
WANT=("$@")
[ ${#WANT[@]} -eq 0 ] && WANT=("${ALL[@]}")

log() { printf 'k8s-bins: %s\n' "$*" >&2; }
fail() { printf 'k8s-bins: FAILED: %s\n' "$*" >&2; exit 1; }

module_for() {
  case "$1" in
    kube-apiserver|kube-controller-manager|kube-scheduler|kubectl) echo "k8s.io/kubernetes@$K8S_VERSION" ;;
    etcd) echo "go.etcd.io/etcd/server/v3@$ETCD_VERSION" ;;
    kwok|kwokctl) echo "sigs.k8s.io/kwok@$KWOK_VERSION" ;;
    *) fail "unknown binary '$1' (known: ${ALL[*]})" ;;
  esac
}

pkg_for() {
  case "$1" in
    kube-apiserver|kube-controller-manager|kube-scheduler|kubectl) echo "k8s.io/kubernetes/cmd/$1" ;;
    etcd) echo "go.etcd.io/etcd/server/v3" ;;
    kwok|kwokctl) echo "sigs.k8s.io/kwok/cmd/$1" ;;
  esac
}

version_cmd() {
  case "$1" in
    kubectl) echo "version --client" ;;
    *) echo "--version" ;;
  esac
}

expected_version() {
  case "$1" in
    etcd) echo "${ETCD_VERSION#v}" ;;
    kwok|kwokctl) echo "$KWOK_VERSION" ;;
    *) echo "$K8S_VERSION" ;;
  esac
}

# requirements prints path@version for each requirement of a go.mod, without
# the staging modules the Kubernetes module replaces itself.
requirements() {
  [ -f "$1" ] || return 0
  awk '/^require \(/ { r = 1; next } r && /^\)/ { r = 0; next }
       r && NF >= 2 && $1 !~ /^\/\// { print $1 "@" $2 }
       /^require [^(]/ { print $2 "@" $3 }' "$1" | grep -v '^k8s.io/kubernetes@' || true
}

# A throwaway module per family, inside the cache, so `go build` resolves
# the exact versions.
prepare_module() {
  local family="$1" dir="$CACHE/src/$1"
  if [ -f "$dir/.ready" ]; then echo "$dir"; return; fi
  rm -rf "$dir"; mkdir -p "$dir"
  (
    cd "$dir"
    go mod init "guardrails.local/k8sbins/$family" >/dev/null 2>&1
    case "$family" in
      kubernetes)
        go mod edit -require="k8s.io/kubernetes@$K8S_VERSION"
        local gomod
        gomod="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
        [ -f "$gomod" ] || fail "cannot download module k8s.io/kubernetes@$K8S_VERSION"
        for m in $(sed -n '/^replace (/,/^)/p' "$gomod" | awk '$2=="=>" {print $1}'); do
          go mod edit -replace="$m=$m@$K8S_STAGING_VERSION"
        done
        # This repository's requirements, so that the packages the binaries
        # and the tests share resolve to the same versions (module selection
        # takes the higher of the two; Kubernetes' own are never lowered).
        local reqs=()
        while read -r mv; do reqs+=("-require=$mv"); done < <(requirements "$GOMOD")
        [ ${#reqs[@]} -eq 0 ] || go mod edit "${reqs[@]}"
        printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager"\n\t_ "k8s.io/kubernetes/cmd/kube-scheduler"\n\t_ "k8s.io/kubernetes/cmd/kubectl"\n)\n' > tools.go
        ;;
      etcd)
        go mod edit -require="go.etcd.io/etcd/server/v3@$ETCD_VERSION"
        printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > tools.go
        ;;
      kwok)
        go mod edit -require="sigs.k8s.io/kwok@$KWOK_VERSION"
        printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "sigs.k8s.io/kwok/cmd/kwok"\n\t_ "sigs.k8s.io/kwok/cmd/kwokctl"\n)\n' > tools.go
        ;;
    esac
    go mod tidy -e >/dev/null 2>"$dir/tidy.log" || { cat "$dir/tidy.log" >&2; exit 1; }
  ) || fail "cannot resolve the module for $family ($(module_for "$2"))"
  touch "$dir/.ready"
  echo "$dir"
}

family_of() {
  case "$1" in
    etcd) echo etcd ;;
    kwok|kwokctl) echo kwok ;;
    *) echo kubernetes ;;
  esac
}

ldflags_for() {
  local v major minor
  case "$1" in
    etcd) echo "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION" ;;
    kwok|kwokctl) echo "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=$K8S_VERSION" ;;
    *)
      v="$K8S_VERSION"; major="${v#v}"; major="${major%%.*}"; minor="${v#v*.}"; minor="${minor%%.*}"
      local f=""
      for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        f="$f -X $p.gitVersion=$v -X $p.gitMajor=$major -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
      done
      echo "-s -w$f"
      ;;
  esac
}

build_one() {
  local name="$1" module dir start tmp
  module="$(module_for "$name")"
  if [ -x "$OUT/$name" ]; then log "$name: present in $OUT, skipped"; return; fi
  if [ ! -x "$CACHE/$name" ]; then
    start=$(date +%s)
    log "$name: building from $module ..."
    dir="$(prepare_module "$(family_of "$name")" "$name")"
    tmp="$CACHE/.$name.partial"
    rm -f "$tmp"
    # The flags `go test` uses (see the top), so the build cache is shared.
    if ! (cd "$dir" && go build -ldflags "$(ldflags_for "$name")" -o "$tmp" "$(pkg_for "$name")") >"$CACHE/$name.build.log" 2>&1; then
      tail -20 "$CACHE/$name.build.log" >&2
      rm -f "$tmp"
      fail "$name did not build from module $module (full log: $CACHE/$name.build.log)"
    fi
    # Read the whole version output first: `grep -q` in a pipe would close it
    # early and, under pipefail, fail the check with SIGPIPE.
    local got
    # shellcheck disable=SC2046
    got="$("$tmp" $(version_cmd "$name") 2>&1 || true)"
    if ! printf '%s\n' "$got" | grep -F -- "$(expected_version "$name")" >/dev/null; then
      printf '%s\n' "$got" >&2
      rm -f "$tmp"
      fail "$name from module $module does not report version $(expected_version "$name")"
    fi
    mv -f "$tmp" "$CACHE/$name"
    log "$name: built in $(( $(date +%s) - start ))s"
  else
    log "$name: from cache $CACHE"
  fi
  cp -f "$CACHE/$name" "$OUT/.$name.partial" && mv -f "$OUT/.$name.partial" "$OUT/$name"
}

total=$(date +%s)
for b in "${WANT[@]}"; do build_one "$b"; done
if printf '%s\n' "${WANT[@]}" | grep -qx kubectl; then
  ln -sf k8s/kubectl "$ROOT/bin/kubectl"
fi
log "ready in $OUT ($(( $(date +%s) - total ))s)"
