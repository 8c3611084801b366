#!/usr/bin/env bash
# `make run`: a local simulated cluster (kwok, 2 fake nodes) with the CRDs and
# samples applied, and the manager in the foreground. Ctrl-C stops the manager
# and the cluster; the next run starts the same cluster again (or recreates it
# when it cannot be started).
#
# USE_EXISTING_CLUSTER=true runs against the current kubeconfig instead.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
K8S="$ROOT/bin/k8s"
KUBECTL="$K8S/kubectl"
LOCAL="$ROOT/.local"
CLUSTER="${KWOK_CLUSTER_NAME:-guardrails}"
export KWOK_WORKDIR="$LOCAL/kwok"
MANAGER_ARGS=(--metrics-bind-address="${METRICS_ADDR:-127.0.0.1:18080}" --health-probe-bind-address="${PROBE_ADDR:-127.0.0.1:18081}")

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

kwokctl() { "$K8S/kwokctl" "$@"; }

create_cluster() {
  say "creating simulated cluster '$CLUSTER' under .local/ (kwok, binary runtime)"
  kwokctl create cluster --name "$CLUSTER" --runtime binary \
    --kube-apiserver-binary "$K8S/kube-apiserver" \
    --kube-controller-manager-binary "$K8S/kube-controller-manager" \
    --kube-scheduler-binary "$K8S/kube-scheduler" \
    --kwok-controller-binary "$K8S/kwok" \
    --etcd-binary "$K8S/etcd" \
    --wait 120s
}

cluster_kubeconfig="$KWOK_WORKDIR/clusters/$CLUSTER/kubeconfig.yaml"

if [ "${USE_EXISTING_CLUSTER:-}" = "true" ]; then
  KUBECONFIG_FILE="${KUBECONFIG:-$HOME/.kube/config}"
  say "using the existing cluster from $KUBECONFIG_FILE"
  STOP_CLUSTER=false
else
  mkdir -p "$LOCAL"
  if [ -f "$cluster_kubeconfig" ]; then
    say "starting existing simulated cluster '$CLUSTER'"
    if ! kwokctl start cluster --name "$CLUSTER" --wait 120s; then
      say "could not start it; recreating"
      kwokctl delete cluster --name "$CLUSTER" || true
      create_cluster
    fi
  else
    create_cluster
  fi
  kwokctl --name "$CLUSTER" scale node --replicas 2
  cp "$cluster_kubeconfig" "$LOCAL/kubeconfig"
  KUBECONFIG_FILE="$LOCAL/kubeconfig"
  STOP_CLUSTER=true
fi
export KUBECONFIG="$KUBECONFIG_FILE"

stop() {
  trap - EXIT INT TERM
  if [ -n "${MANAGER_PID:-}" ]; then kill "$MANAGER_PID" 2>/dev/null || true; wait "$MANAGER_PID" 2>/dev/null || true; fi
  if [ "$STOP_CLUSTER" = true ]; then
    say "stopping simulated cluster '$CLUSTER' (make run starts it again)"
    kwokctl stop cluster --name "$CLUSTER" >/dev/null 2>&1 || true
  fi
}
trap stop EXIT INT TERM

say "installing CRDs"
"$KUBECTL" apply --server-side --force-conflicts -f "$ROOT/config/crd/bases" >/dev/null
"$KUBECTL" wait --for condition=Established --timeout=60s -f "$ROOT/config/crd/bases" >/dev/null

say "starting the manager"
"$ROOT/bin/manager" "${MANAGER_ARGS[@]}" ${MANAGER_EXTRA_ARGS:-} &
MANAGER_PID=$!

say "applying config/samples/"
for i in $(seq 1 30); do
  if "$KUBECTL" apply -f "$ROOT/config/samples/" > "$LOCAL/samples-apply.log" 2>&1; then break; fi
  if [ "$i" = 30 ]; then cat "$LOCAL/samples-apply.log" >&2; exit 1; fi
  sleep 2
done
sed 's/^/    /' "$LOCAL/samples-apply.log"

cat <<MSG

The operator is running against the simulated cluster. In another terminal:

    bin/kubectl --kubeconfig ${KUBECONFIG_FILE#"$ROOT/"} get martech -A

Ctrl-C stops the manager and the cluster.

MSG
wait "$MANAGER_PID"
