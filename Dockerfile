# syntax=docker/dockerfile:1
#
# echoflow container image (docs/deploy.md).
#
#   docker build -t echoflow:local .
#   docker run --rm echoflow:local demo --seconds 10 --out /tmp/demo
#   docker run --rm -v "$PWD/deploy/docker/pipeline.toml:/etc/echoflow/pipeline.toml:ro" \
#       -p 127.0.0.1:9898:9898 echoflow:local            # = run --config /etc/echoflow/pipeline.toml
#
# Two stages: a Rust builder with librdkafka's build dependencies (the same Debian packages that
# deploy/local/test-all.sh installs: pkg-config, cmake, libssl-dev, zlib1g-dev, and
# libfontconfig1-dev for plotters' text), and a slim Debian runtime holding only the binary, the
# shared libraries it links (OpenSSL 3, zlib, fontconfig/freetype) plus a font for the demo's
# charts, and the entrypoint (deploy/docker/entrypoint.sh), run as a fixed non-root UID/GID 10001
# (deploy/k8s/statefulset.yaml's securityContext names the same numbers; the Go test in
# deploy/k8s/validate checks that they agree).

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

# ---- builder ------------------------------------------------------------------------------------
FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS builder
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential pkg-config cmake libssl-dev zlib1g-dev libfontconfig1-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The whole workspace (.dockerignore keeps target/, .git and local state out): Cargo.toml declares
# benches and the workspace members, so cargo needs their sources to read the manifest.
COPY . .
# Cache mounts keep the registry and target/ between builds (BuildKit); the binary is copied out
# of the cached target/ because a cache mount is not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin echoflow \
 && install -D -m 0755 target/release/echoflow /out/echoflow

# ---- runtime ------------------------------------------------------------------------------------
FROM debian:${DEBIAN_RELEASE}-slim AS runtime
ARG ECHOFLOW_UID=10001
ARG ECHOFLOW_GID=10001
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libssl3 zlib1g libfontconfig1 libfreetype6 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid "${ECHOFLOW_GID}" echoflow \
 && useradd --system --uid "${ECHOFLOW_UID}" --gid "${ECHOFLOW_GID}" --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin echoflow \
 && mkdir -p /etc/echoflow
COPY --from=builder /out/echoflow /usr/local/bin/echoflow
COPY deploy/docker/entrypoint.sh /usr/local/bin/echoflow-entrypoint
COPY deploy/docker/healthcheck.sh /usr/local/bin/echoflow-healthcheck
COPY deploy/pipeline.example.toml /etc/echoflow/pipeline.toml
RUN chmod 0755 /usr/local/bin/echoflow-entrypoint /usr/local/bin/echoflow-healthcheck

# In a container the metrics listener (/metrics, /healthz, /ready; SPEC §7) must be reachable from
# outside: the environment overrides metrics.address (environment > file, SPEC §6).
ENV ECHOFLOW_METRICS__ADDRESS=0.0.0.0:9898 \
    ECHOFLOW_LOG=info \
    ECHOFLOW_HOSTFILE=/tmp/echoflow/hostfile
USER ${ECHOFLOW_UID}:${ECHOFLOW_GID}
WORKDIR /tmp
# 9898: metrics and probes. 2101: timely's cluster port (multi-process runs, deploy/k8s).
EXPOSE 9898 2101
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/echoflow-healthcheck", "/healthz"]
ENTRYPOINT ["/usr/local/bin/echoflow-entrypoint"]
CMD ["run", "--config", "/etc/echoflow/pipeline.toml"]
