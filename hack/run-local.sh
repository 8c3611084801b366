#!/usr/bin/env bash
# `make run`: a local simulated cluster (kwok, 2 fake nodes) with the CRDs and
# samples applied, and the manager in the foreground serving the admission
# webhooks. Ctrl-C stops the manager and the cluster; the next run starts the
# same cluster again (or recreates it when it cannot be started).
#
# Webhooks: kwok's kube-apiserver runs on this host, so it calls the manager at
# https://127.0.0.1:$WEBHOOK_PORT. The script makes a local CA and serving
# certificate with openssl under .local/webhook-certs (reused until they are a
# day from expiry), registers the generated webhook configurations
# (config/webhook/manifests.yaml) with that URL and CA bundle, and runs the
# manager with --disable-cert-rotation on those files. Samples are applied once
# the manager is ready (/readyz); if its webhooks never come up they are
# unregistered so the samples still apply. WEBHOOKS=false (or no openssl) runs
# without them.
#
# USE_EXISTING_CLUSTER=true runs against the current kubeconfig instead
# (webhooks off unless WEBHOOKS=true: the API server must reach 127.0.0.1).
#
# --no-manager prepares everything the manager needs (cluster, CRDs, its
# identity, certificates, webhook registration), writes its command line to
# .local/manager-args (one argument a line; its kubeconfig is
# .local/manager.kubeconfig), prints it and exits, leaving the cluster
# running: run the manager yourself, under a debugger or as the e2e suite
# does. `bin/k8s/kwokctl stop cluster --name guardrails` (with
# KWOK_WORKDIR=.local/kwok) stops the cluster.
#
# kwokctl runs with bin/k8s first on its PATH, so the kubectl it calls is our
# bin/k8s/kubectl, never an older one on your PATH nor a download.
#
# Ctrl-C at any point, cluster start-up included, stops what was started
# (manager, webhooks, cluster) and exits 130.
set -euo pipefail

NO_MANAGER=false
for arg in "$@"; do
  case "$arg" in
    --no-manager) NO_MANAGER=true ;;
    *) echo "run-local.sh: unknown argument '$arg' (known: --no-manager)" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
K8S="$ROOT/bin/k8s"
KUBECTL="$K8S/kubectl"
LOCAL="${GUARDRAILS_LOCAL_DIR:-$ROOT/.local}"
CLUSTER="${KWOK_CLUSTER_NAME:-guardrails}"
export KWOK_WORKDIR="$LOCAL/kwok"
PROBE_ADDR="${PROBE_ADDR:-127.0.0.1:18081}"
WEBHOOK_PORT="${WEBHOOK_PORT:-9443}"
CERTS="$LOCAL/webhook-certs"
# Metrics: plain HTTP on a loopback address (--metrics-secure=false), so that
# curl http://127.0.0.1:18080/metrics works; the install serves HTTPS with
# authentication (docs/security.md). Credential age: the samples' namespace is
# the one whose Secret metadata the manager reads (its local identity may).
MANAGER_ARGS=(--metrics-bind-address="${METRICS_ADDR:-127.0.0.1:18080}" --metrics-secure=false
  --credential-namespaces="${CREDENTIAL_NAMESPACES:-growth-marketing}" --health-probe-bind-address="$PROBE_ADDR")
# The webhook configurations registered for the local manager.
LOCAL_WEBHOOKS=(validatingwebhookconfiguration/guardrails-local-validating-webhook-configuration)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

kwokctl() { PATH="$K8S:$PATH" KWOK_KUBECTL_BINARY="$KUBECTL" "$K8S/kwokctl" "$@"; }

# stop runs on every exit: it stops the manager, unregisters the webhooks and
# stops the cluster this script started (STOP_CLUSTER, set before the start,
# so an interrupted start-up is stopped too).
STOP_CLUSTER=false
stop() {
  trap - EXIT INT TERM
  if [ -n "${MANAGER_PID:-}" ]; then kill "$MANAGER_PID" 2>/dev/null || true; wait "$MANAGER_PID" 2>/dev/null || true; fi
  if [ "${WEBHOOKS_REGISTERED:-false}" = true ]; then unregister_webhooks; fi
  if [ "$STOP_CLUSTER" = true ]; then
    say "stopping simulated cluster '$CLUSTER' (make run starts it again)"
    kwokctl stop cluster --name "$CLUSTER" >/dev/null 2>&1 || true
  fi
}
# Bash runs the INT trap once the command in the foreground (kwokctl, which
# also sees the Ctrl-C) has returned; exiting there means nothing after it
# runs.
interrupted() { say "interrupted"; exit 130; }
trap stop EXIT
trap interrupted INT TERM

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
  WEBHOOKS="${WEBHOOKS:-false}"
else
  mkdir -p "$LOCAL"
  STOP_CLUSTER=true
  if [ -f "$cluster_kubeconfig" ]; then
    say "starting existing simulated cluster '$CLUSTER'"
    # A start can come up without its API server (its port, picked when
    # the cluster was created, taken meanwhile): check it answers.
    if ! kwokctl start cluster --name "$CLUSTER" --timeout 60s --wait 60s ||
      ! "$KUBECTL" --kubeconfig "$cluster_kubeconfig" get --raw /readyz >/dev/null 2>&1; then
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
fi
export KUBECONFIG="$KUBECONFIG_FILE"

# unregister_webhooks removes the local webhook configurations: without the
# manager they would reject every write of our kinds (failurePolicy Fail).
unregister_webhooks() {
  "$KUBECTL" delete --ignore-not-found --wait=false "${LOCAL_WEBHOOKS[@]}" >/dev/null 2>&1 || true
}

say "installing CRDs"
"$KUBECTL" apply --server-side --force-conflicts -f "$ROOT/config/crd/bases" >/dev/null
"$KUBECTL" wait --for condition=Established --timeout=60s -f "$ROOT/config/crd/bases" >/dev/null
# The report CRDs the audit writes (docs/audit.md): `get reports -A`.
"$KUBECTL" apply --server-side --force-conflicts -f "$ROOT/config/reports/openreports" >/dev/null
# Gatekeeper's ConstraintTemplate CRD (as Gatekeeper v3.23.1 publishes it)
# and the constraint CRD Gatekeeper would create for the sample template, so
# the sample ConstraintTemplate and Constraint (config/samples/gatekeeper/)
# are stored and the operator applies them to what it renders
# (docs/policies.md). GATEKEEPER=false leaves them out.
if [ "${GATEKEEPER:-true}" = true ]; then
  "$KUBECTL" apply --server-side --force-conflicts -f "$ROOT/test/gatekeeper/constrainttemplate-customresourcedefinition.yaml" -f "$ROOT/config/samples/gatekeeper/crds" >/dev/null
  "$KUBECTL" wait --for condition=Established --timeout=60s -f "$ROOT/test/gatekeeper/constrainttemplate-customresourcedefinition.yaml" -f "$ROOT/config/samples/gatekeeper/crds" >/dev/null
fi

# make_certs writes a local CA and a serving certificate for 127.0.0.1 and
# localhost (tls.crt, tls.key, ca.crt) unless valid ones are there.
make_certs() {
  if [ -f "$CERTS/ca.crt" ] && openssl x509 -checkend 86400 -noout -in "$CERTS/tls.crt" >/dev/null 2>&1; then
    return 0
  fi
  say "making a local CA and webhook serving certificate in .local/webhook-certs"
  mkdir -p "$CERTS"
  openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=guardrails-local-webhook-ca" \
    -keyout "$CERTS/ca.key" -out "$CERTS/ca.crt" >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$CERTS/tls.key" -out "$CERTS/tls.csr" >/dev/null 2>&1
  printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "extendedKeyUsage=serverAuth" \
    "keyUsage=critical,digitalSignature,keyEncipherment" "basicConstraints=CA:FALSE" > "$CERTS/tls.ext"
  openssl x509 -req -days 365 -in "$CERTS/tls.csr" -CA "$CERTS/ca.crt" -CAkey "$CERTS/ca.key" \
    -CAcreateserial -extfile "$CERTS/tls.ext" -out "$CERTS/tls.crt" >/dev/null 2>&1
}

# local_webhooks prints the generated webhook configurations with the
# Service reference replaced by https://127.0.0.1:$WEBHOOK_PORT<path> and the
# local CA bundle.
local_webhooks() {
  local ca
  ca="$(base64 < "$CERTS/ca.crt" | tr -d '\n')"
  sed -e '/^    service:$/d' -e '/^      name: webhook-service$/d' -e '/^      namespace: system$/d' \
    -e "s#^      path: \(.*\)\$#    url: https://127.0.0.1:${WEBHOOK_PORT}\1\n    caBundle: ${ca}#" \
    -e 's/^  name: \(.*webhook-configuration\)$/  name: guardrails-local-\1/' \
    "$ROOT/config/webhook/manifests.yaml"
}

register_webhooks() {
  if ! command -v openssl >/dev/null 2>&1; then
    say "openssl not found: running without admission webhooks"
    return 1
  fi
  make_certs || { say "could not make certificates: running without admission webhooks"; return 1; }
  local rendered
  rendered="$(local_webhooks)"
  if grep -q '^    service:' <<<"$rendered" || ! grep -q 'url: https://127.0.0.1' <<<"$rendered"; then
    say "could not render config/webhook/manifests.yaml for the local URL: running without admission webhooks"
    return 1
  fi
  "$KUBECTL" apply -f - <<<"$rendered" >/dev/null
  WEBHOOKS_REGISTERED=true
}

# wait_ready polls the manager's /readyz (which includes the webhooks).
wait_ready() {
  for _ in $(seq 1 "$1"); do
    if ! kill -0 "$MANAGER_PID" 2>/dev/null; then return 1; fi
    if curl -fsS -o /dev/null "http://$PROBE_ADDR/readyz" 2>/dev/null; then return 0; fi
    sleep 1
  done
  return 1
}

# manager_identity gives the manager its own identity in the simulated
# cluster, a service account as in a real install: the webhooks never judge
# the operator's own requests, so with your admin identity kubectl would not
# be judged either. Prints the kubeconfig the manager uses.
manager_identity() {
  local ns=guardrails-system sa=guardrails-controller-manager kc="$LOCAL/manager.kubeconfig" token
  {
    "$KUBECTL" create namespace "$ns" --dry-run=client -o yaml | "$KUBECTL" apply -f -
    "$KUBECTL" -n "$ns" create serviceaccount "$sa" --dry-run=client -o yaml | "$KUBECTL" apply -f -
    "$KUBECTL" create clusterrolebinding guardrails-local-manager --clusterrole=cluster-admin \
      --serviceaccount="$ns:$sa" --dry-run=client -o yaml | "$KUBECTL" apply -f -
  } >/dev/null 2>&1 || return 1
  token="$("$KUBECTL" -n "$ns" create token "$sa" --duration=720h 2>/dev/null)" || return 1
  cp "$KUBECONFIG_FILE" "$kc"
  "$KUBECTL" --kubeconfig "$kc" config set-credentials guardrails-manager --token="$token" >/dev/null
  "$KUBECTL" --kubeconfig "$kc" config set-context --current --user=guardrails-manager >/dev/null
  echo "$kc"
}

MANAGER_KUBECONFIG="$KUBECONFIG_FILE"
if [ "${USE_EXISTING_CLUSTER:-}" != "true" ]; then
  if kc="$(manager_identity)"; then
    MANAGER_KUBECONFIG="$kc"
  else
    say "could not create the manager's service account: it runs as you, so your own requests are not judged"
  fi
fi

if [ "${WEBHOOKS:-true}" = true ] && register_webhooks; then
  say "registered the admission webhooks at https://127.0.0.1:$WEBHOOK_PORT"
  MANAGER_ARGS+=(--webhook-port="$WEBHOOK_PORT" --webhook-cert-dir="$CERTS" --disable-cert-rotation)
else
  unregister_webhooks
  MANAGER_ARGS+=(--enable-webhooks=false)
fi

if [ "$NO_MANAGER" = true ]; then
  # shellcheck disable=SC2206 # MANAGER_EXTRA_ARGS is a word list by design
  args=("${MANAGER_ARGS[@]}" ${MANAGER_EXTRA_ARGS:-})
  printf '%s\n' "${args[@]}" > "$LOCAL/manager-args"
  [ "$MANAGER_KUBECONFIG" = "$LOCAL/manager.kubeconfig" ] || cp "$MANAGER_KUBECONFIG" "$LOCAL/manager.kubeconfig"
  say "ready for a manager you run yourself (arguments in ${LOCAL#"$ROOT/"}/manager-args):"
  printf '    KUBECONFIG=%s bin/manager %s\n' "${LOCAL#"$ROOT/"}/manager.kubeconfig" "${args[*]}"
  # Leave the cluster and the webhook registration in place.
  STOP_CLUSTER=false WEBHOOKS_REGISTERED=false
  exit 0
fi

say "starting the manager"
KUBECONFIG="$MANAGER_KUBECONFIG" "$ROOT/bin/manager" "${MANAGER_ARGS[@]}" ${MANAGER_EXTRA_ARGS:-} &
MANAGER_PID=$!

if wait_ready 90; then
  say "the manager is ready"
else
  say "the manager is not ready after 90s (see its log above)"
  if [ "${WEBHOOKS_REGISTERED:-false}" = true ]; then
    say "unregistering the webhooks so the samples still apply"
    unregister_webhooks
    WEBHOOKS_REGISTERED=false
  fi
fi

say "applying config/samples/"
for i in $(seq 1 30); do
  if "$KUBECTL" apply -f "$ROOT/config/samples/" > "$LOCAL/samples-apply.log" 2>&1; then break; fi
  if [ "$i" = 30 ]; then cat "$LOCAL/samples-apply.log" >&2; exit 1; fi
  sleep 2
done
sed 's/^/    /' "$LOCAL/samples-apply.log"
if [ "${GATEKEEPER:-true}" = true ]; then
  say "applying config/samples/gatekeeper/ (a Gatekeeper ConstraintTemplate and its Constraint)"
  "$KUBECTL" apply -f "$ROOT/config/samples/gatekeeper/" 2>&1 | sed 's/^/    /'
fi

cat <<MSG

The operator is running against the simulated cluster. In another terminal:

    bin/kubectl --kubeconfig ${KUBECONFIG_FILE#"$ROOT/"} get martech -A

The vendor catalogue is a portfolio (owners, contracts, next deadlines):

    bin/kubectl --kubeconfig ${KUBECONFIG_FILE#"$ROOT/"} get vendors -o wide

Applying the samples warned above about a second CMS (vendor-overlap: the
organisation already uses contentful (cms) in 2 integrations); the
integration's status keeps the warning:

    bin/kubectl --kubeconfig ${KUBECONFIG_FILE#"$ROOT/"} get saas press-room -n growth-marketing -o jsonpath='{.status.violations[*].message}'

The admission webhooks answer kubectl (try a server-side dry run):

    bin/kubectl --kubeconfig ${KUBECONFIG_FILE#"$ROOT/"} apply --dry-run=server -f config/samples/07_marketingworkloads.yaml

Ctrl-C stops the manager and the cluster.

MSG
wait "$MANAGER_PID"
