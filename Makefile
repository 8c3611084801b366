# martech-guardrails — see README.md. `make help` lists the targets.

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

ROOT       := $(shell pwd)
LOCALBIN   := $(ROOT)/bin
K8S_BIN    := $(LOCALBIN)/k8s
KUBECTL    := $(K8S_BIN)/kubectl
IMG_REPO   ?= ghcr.io/martech-guardrails/guardrails
IMG        ?= $(IMG_REPO):dev
# IMG split for kustomize: the name before the last ":" of its last path element, and the tag.
IMG_TAG        = $(lastword $(subst :, ,$(lastword $(subst /, ,$(IMG)))))
IMG_NAME_NOTAG = $(patsubst %:$(IMG_TAG),%,$(IMG))
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS    := -X github.com/martech-guardrails/guardrails/internal/version.Version=$(VERSION)

CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION    ?= v2.15.0
# The helm CLI of make helm (for make test-e2e) is the helm.sh/helm/v4 that
# go.mod requires, whose Go packages the chart test runs.
HELM_VERSION             ?= $(shell awk '$$1 == "helm.sh/helm/v4" { print $$2 }' go.mod)
HELM           := $(LOCALBIN)/helm
CHART          := charts/martech-guardrails
CONTROLLER_GEN := $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
GOLANGCI_LINT  := $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)

# Test flags: GO_TEST_FLAGS for extra go test flags, e.g. `make test GO_TEST_FLAGS=-v`.
GO_TEST_FLAGS ?=
# Linker flags of the test binaries: no DWARF (-w) links each of the two
# dozen test binaries about a third faster; stack traces are unchanged.
# GO_TEST_LDFLAGS= keeps it, for a debugger.
GO_TEST_LDFLAGS ?= -w
# Rounds of make bench-peers (A B C alternating; the medians need at least 5).
BENCH_PEERS_ROUNDS ?= 5

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate CRDs, RBAC and webhook configuration into config/.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd webhook paths="{./api/...,./controllers/...,./internal/webhook/...,./internal/audit/...}" output:crd:artifacts:config=config/crd/bases
	hack/report-crds.sh

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: verify-generated
verify-generated: $(CONTROLLER_GEN) ## Fail if generated files are stale (regenerates into a temp copy, never in place).
	hack/verify-generated.sh $(CONTROLLER_GEN)

.PHONY: chart
chart: envtest-bins ## Write the Helm chart charts/martech-guardrails from config/ (hack/chartgen; never edit the chart by hand).
	go run ./hack/chartgen -kubectl $(KUBECTL) -out $(CHART)

.PHONY: verify-chart
verify-chart: envtest-bins ## Fail if charts/martech-guardrails differs from what `make chart` writes from config/.
	@tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	  go run ./hack/chartgen -kubectl $(KUBECTL) -out "$$tmp/chart"; \
	  if ! diff -r $(CHART) "$$tmp/chart" | head -40; then :; fi; \
	  if ! diff -r -q $(CHART) "$$tmp/chart" >/dev/null; then echo "$(CHART) is stale: run 'make chart' and commit the result" >&2; exit 1; fi; \
	  echo "$(CHART) is up to date with config/"

.PHONY: fmt
fmt: ## go fmt the code.
	go fmt ./...

.PHONY: vet
vet: ## go vet the code.
	go vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint.
	$(GOLANGCI_LINT) run --build-tags e2e ./...

##@ Test

.PHONY: k8s-bins
k8s-bins: ## Build kube-apiserver, etcd, controller-manager, scheduler, kubectl, kwok(ctl) into bin/k8s from the Go module proxy.
	hack/build-k8s-bins.sh

.PHONY: envtest-bins
envtest-bins: ## Build only what envtest needs (kube-apiserver, etcd, kubectl).
	hack/build-k8s-bins.sh kube-apiserver etcd kubectl

# The steps of `make test`, in order; each is a target of its own, and
# hack/timed-steps.sh prints how long each took (a first run builds the
# tools and kube-apiserver, etcd and kubectl; later runs find them cached).
# envtest-bins comes before vet: kube-apiserver's build compiles, into Go's
# build cache, most of the packages vet and the tests need (see
# hack/build-k8s-bins.sh), so a cold run pays for them once.
TEST_STEPS := $(CONTROLLER_GEN) verify-generated gofmt-check envtest-bins verify-chart vet cert-manager-crds go-test

.PHONY: test
test: ## Check generated files, the chart and gofmt, vet, then run unit, Rego, chart and envtest suites; prints the time of each step.
	@hack/timed-steps.sh "make test" "$(MAKE)" $(TEST_STEPS)

.PHONY: gofmt-check
gofmt-check: ## Fail if a Go file needs gofmt.
	@gofmt_out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './bin/*'))"; \
	  if [ -n "$$gofmt_out" ]; then echo "gofmt needed on:"; echo "$$gofmt_out"; exit 1; fi

.PHONY: go-test
go-test: envtest-bins cert-manager-crds ## go test ./... with envtest's binaries (the last step of make test).
	KUBEBUILDER_ASSETS=$(K8S_BIN) KUBEBUILDER_CONTROLPLANE_START_TIMEOUT=$${KUBEBUILDER_CONTROLPLANE_START_TIMEOUT:-2m} \
	  go test -timeout 20m -ldflags='$(GO_TEST_LDFLAGS)' $(GO_TEST_FLAGS) ./...

.PHONY: helm
helm: ## Build the pinned helm (helm.sh/helm/v4 $(HELM_VERSION)) into bin/helm from the Go module proxy (cached); make test-e2e runs it, make test uses Helm's Go packages.
	HELM_VERSION=$(HELM_VERSION) HELM_BIN=$(HELM) hack/build-helm.sh

.PHONY: cert-manager-crds
cert-manager-crds: ## Copy cert-manager's Certificate and Issuer CRDs (from its Go module) into bin/ for the chart test.
	hack/cert-manager-crds.sh

.PHONY: test-e2e
test-e2e: k8s-bins build helm image ## End-to-end suite on a local kwok cluster with the real kubectl, and the manager from the image under podman (TestImage; root).
	HELM=$(HELM) KUBECTL=$(KUBECTL) K8S_BIN=$(K8S_BIN) go test -tags e2e -count=1 -v -timeout 20m ./test/e2e/...

# Fuzz targets, as package:FuzzName; FUZZTIME is each one's budget.
FUZZ_TARGETS ?= ./internal/policy:FuzzEvaluate ./internal/policy:FuzzCompileEvaluate ./internal/webhook:FuzzAdmissionDecode ./internal/manifest:FuzzSplitDocuments ./internal/manifest:FuzzDecodeYAML ./internal/manifest:FuzzAcceptor ./internal/cli:FuzzSuitePaths
FUZZTIME     ?= 30s

.PHONY: fuzz
fuzz: ## Run each Go fuzz target for FUZZTIME (default 30s); a crash fails and is written to the package's testdata/fuzz/ (commit it as a seed).
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "== fuzz $$name ($$pkg, $(FUZZTIME))"; \
	  go test $$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) 2>&1 | tail -3 || exit 1; \
	done

.PHONY: bench
bench: envtest-bins ## Run the Go benchmarks and print ns/op, B/op, allocs/op (and the webhook's p50/p99 create latencies).
	KUBEBUILDER_ASSETS=$(K8S_BIN) go test -run '^$$' -bench . -benchmem -count 1 -timeout 30m ./...

.PHONY: bench-peers
bench-peers: build ## guardrails check beside conftest and gator (pinned, built into bin/peers) on the same 5,000 documents and rule: medians of wall, CPU, peak RSS.
	hack/build-peers.sh
	go run ./test/bench/peers -guardrails $(LOCALBIN)/guardrails -conftest $(LOCALBIN)/peers/conftest -gator $(LOCALBIN)/peers/gator -rounds $(BENCH_PEERS_ROUNDS)

.PHONY: bench-load
bench-load: envtest-bins ## Concurrent creates (1, 10, 50 clients) through envtest with our webhooks, no-op ones, none: creates/s, avg/p50/p95/p99, webhook CPU and peak RSS (BENCH_LOAD_FLAGS: -rounds, -max-time...).
	go run ./test/bench/load -root $(ROOT) -assets $(K8S_BIN) $(BENCH_LOAD_FLAGS)

##@ Build

.PHONY: build
build: ## Build bin/manager and bin/guardrails.
	go build -ldflags "$(LDFLAGS)" -o $(LOCALBIN)/manager ./cmd/manager
	go build -ldflags "$(LDFLAGS)" -o $(LOCALBIN)/guardrails ./cmd/guardrails

.PHONY: run
run: k8s-bins manifests generate build ## Start a local simulated cluster, apply CRDs and samples, run the manager.
	hack/run-local.sh

.PHONY: build-installer
build-installer: manifests generate envtest-bins ## Write dist/install.yaml (CRDs, RBAC, manager, webhooks with self-managed certificates) and dist/install-certmanager.yaml, with the manager image IMG (repo:tag or repo@sha256:...).
	mkdir -p dist
	@tmp="$$(mktemp -d "$(ROOT)/dist/.installer.XXXXXX")"; trap 'rm -rf "$$tmp"' EXIT; \
	  for overlay in default certmanager; do \
	    out=dist/install.yaml; [ $$overlay = default ] || out=dist/install-$$overlay.yaml; \
	    mkdir -p "$$tmp/$$overlay"; \
	    case "$(IMG)" in \
	      *@sha256:*) pin="  newName: $(firstword $(subst @, ,$(IMG)))|  digest: $(lastword $(subst @, ,$(IMG)))" ;; \
	      *) pin="  newName: $(IMG_NAME_NOTAG)|  newTag: \"$(IMG_TAG)\"" ;; \
	    esac; \
	    printf 'resources:\n- ../../../config/%s\nimages:\n- name: ghcr.io/martech-guardrails/guardrails\n%s\n' "$$overlay" "$$pin" | tr '|' '\n' > "$$tmp/$$overlay/kustomization.yaml"; \
	    $(KUBECTL) kustomize "$$tmp/$$overlay" > $$out; \
	  done
	@grep -m1 '        image: ' dist/install.yaml
	@echo "wrote dist/install.yaml and dist/install-certmanager.yaml (needs cert-manager)"

# The platforms of `make image` (one index); IMG_REPO names it.
IMAGE_PLATFORMS ?= linux/amd64,linux/arm64

.PHONY: image
image: ## Build the OCI image without an engine (hack/image): dist/image/ (layout), dist/image.oci.tar, dist/sbom/; prints the index digest.
	go run ./hack/image -out dist -repo $(IMG_REPO) -version $(VERSION) -platforms $(IMAGE_PLATFORMS)

.PHONY: docker-build
docker-build: ## Build the same image with a Docker engine (Dockerfile; none runs on the dev machines).
	docker build -t $(IMG) --build-arg VERSION=$(VERSION) --build-arg REVISION=$$(git rev-parse HEAD) .

.PHONY: clean
clean: ## Remove build output (keeps the binary cache in ~/.cache/martech-guardrails).
	rm -rf bin/manager bin/guardrails dist .local

##@ Tools

$(CONTROLLER_GEN):
	@mkdir -p $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)
	mv -f $(LOCALBIN)/controller-gen $@

$(GOLANGCI_LINT):
	@mkdir -p $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv -f $(LOCALBIN)/golangci-lint $@
