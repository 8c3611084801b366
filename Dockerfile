# Multi-stage, static build; distroless nonroot runtime with both binaries.
# Build: make docker-build IMG=... (needs a Docker engine; none runs on the
# development machines).
FROM golang:1.26 AS builder
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev
WORKDIR /workspace
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY controllers/ controllers/
COPY internal/ internal/
COPY policies/ policies/
ENV CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH}
RUN go build -trimpath -ldflags "-s -w -X github.com/martech-guardrails/guardrails/internal/version.Version=${VERSION}" -o /out/manager ./cmd/manager \
 && go build -trimpath -ldflags "-s -w -X github.com/martech-guardrails/guardrails/internal/version.Version=${VERSION}" -o /out/guardrails ./cmd/guardrails

FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /out/manager /manager
COPY --from=builder /out/guardrails /guardrails
USER 65532:65532
ENTRYPOINT ["/manager"]
