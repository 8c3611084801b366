# The same image `make image` builds without an engine (hack/image, see
# docs/image.md), for people with a Docker engine: static binaries
# (CGO_ENABLED=0, -trimpath), an empty base (scratch) with /etc/passwd for
# uid 65532, the licences, the OCI labels, user 65532, no shell.
# `make image` is the reference: it is reproducible (one digest per commit),
# multi-arch in one index and carries the SBOM; this Dockerfile gives the
# same file tree but not the same digest (Docker stamps its own times).
#
#   make docker-build IMG=...    or    docker buildx build --platform linux/amd64,linux/arm64 .
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
# The base layer of hack/image: the user, its home, /tmp, the licences.
RUN mkdir -p /rootfs/etc /rootfs/home/nonroot /rootfs/root /rootfs/tmp /rootfs/licenses \
 && printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > /rootfs/etc/passwd \
 && printf 'root:x:0:\nnonroot:x:65532:\n' > /rootfs/etc/group \
 && chown 65532:65532 /rootfs/home/nonroot && chmod 0700 /rootfs/home/nonroot /rootfs/root && chmod 1777 /rootfs/tmp
COPY LICENSE NOTICE /rootfs/licenses/

FROM scratch
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.source="https://github.com/martech-guardrails/guardrails" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.title="martech-guardrails"
COPY --from=builder /rootfs/ /
COPY --from=builder /out/manager /manager
COPY --from=builder /out/guardrails /guardrails
ENV HOME=/home/nonroot
USER 65532:65532
WORKDIR /
ENTRYPOINT ["/manager"]
