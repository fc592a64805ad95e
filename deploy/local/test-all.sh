#!/usr/bin/env bash
# deploy/local/test-all.sh — the whole test suite on a fresh machine, in one command.
#
# Installs what is missing (Debian packages for the librdkafka build, Java and Maven for the
# broker), starts the project's own Kafka broker on 127.0.0.1 (deploy/local/kafka.sh), checks
# formatting and lints, runs every test of the workspace against that broker, stops the broker if
# this script started it, and exits with the tests' status.
#
# Environment: KAFKA_PORT (9092), CARGO_TARGET_DIR, ECHOFLOW_SKIP_LINT=1 to skip fmt/clippy.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
say() { echo "== test-all: $*" >&2; }

# 1. System packages. Only what is missing is installed; apt-get update runs only then.
need=()
for pkg in build-essential pkg-config cmake libssl-dev zlib1g-dev libfontconfig1-dev fonts-dejavu-core \
           openjdk-17-jre-headless maven python3; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
# A JDK may come from elsewhere (e.g. Temurin): accept any java 17+ and mvn on the PATH.
if command -v java >/dev/null && command -v mvn >/dev/null; then
  filtered=()
  for p in "${need[@]}"; do case "$p" in openjdk-17-jre-headless|maven) ;; *) filtered+=("$p") ;; esac; done
  need=("${filtered[@]}")
fi
if [ "${#need[@]}" -gt 0 ]; then
  say "installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
command -v cargo >/dev/null || { say "cargo not found: install Rust stable (rustup.rs)"; exit 1; }

# A fresh clone gains nothing from incremental compilation, and its caches would take gigabytes
# of the CI machine's disk; a developer re-running the script keeps them.
[ "${CI:-}" = true ] && export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
target_dir="${CARGO_TARGET_DIR:-target}"
disk() { say "disk: $(df -h "$root" | awk 'NR==2 {print $4 " free of " $2}'); $target_dir: $(du -sh "$target_dir" 2>/dev/null | cut -f1 || echo none)"; }
disk

# 2. Lints first: they are cheap and fail fast.
if [ "${ECHOFLOW_SKIP_LINT:-0}" != 1 ]; then
  say "cargo fmt --check"
  cargo fmt --all -- --check
  say "cargo clippy --all-targets -D warnings"
  cargo clippy --workspace --all-targets --locked -- -D warnings
fi

# 3. Build the tests before the broker starts, so the broker does not compete with the compiler.
say "building tests"
RUSTFLAGS="${RUSTFLAGS:-} -D warnings" cargo test --workspace --locked --no-run

# ---- BEGIN deploy checks (docs/deploy.md: "What is validated") ----
# 3b. The deploy files, before the broker starts: the Kubernetes manifests strict-decoded into
# the k8s.io/api types by a Go test (deploy/k8s/validate; its modules come from the Go module
# proxy), and deploy/docker/test-deploy.sh (entrypoint, healthcheck, compose/Prometheus/Grafana,
# Dockerfile, `echoflow validate` of the shipped pipeline.toml files with the binary just built).
# Debian's golang-go is too old for the k8s.io modules: without a Go ≥ 1.26 this fails under
# CI=true and is skipped with a warning otherwise.
gobin=$(command -v go || true)
[ -z "$gobin" ] && [ -x /usr/local/go/bin/go ] && gobin=/usr/local/go/bin/go
if [ -n "$gobin" ]; then
  say "go test ./... in deploy/k8s/validate ($("$gobin" version))"
  (cd deploy/k8s/validate && "$gobin" test ./...)
elif [ "${CI:-}" = true ]; then
  say "go not found (need Go >= 1.26 on PATH or in /usr/local/go) for deploy/k8s/validate"; exit 1
else
  say "WARNING: go not found: the Kubernetes manifests were NOT validated (deploy/k8s/validate)"
fi
python3 -c 'import yaml' 2>/dev/null || /usr/bin/python3 -c 'import yaml' 2>/dev/null || {
  say "installing python3-yaml"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-yaml
}
say "deploy/docker/test-deploy.sh"
ECHOFLOW_TEST_BIN="${CARGO_TARGET_DIR:-target}/debug/echoflow" deploy/docker/test-deploy.sh
# ---- END deploy checks ----

# 4. The broker.
started=0
if ! deploy/local/kafka.sh status >/dev/null 2>&1; then
  deploy/local/kafka.sh up
  started=1
else
  deploy/local/kafka.sh up   # makes sure the topics exist
fi
stop_broker() { if [ "$started" = 1 ]; then deploy/local/kafka.sh down || true; fi; }
trap stop_broker EXIT

# 5. Every test of the workspace. Tests that need the broker fail (never skip) when CI=true.
export ECHOFLOW_TEST_BROKERS="127.0.0.1:${KAFKA_PORT:-9092}"
say "cargo test --workspace"
set +e
RUSTFLAGS="${RUSTFLAGS:-} -D warnings" cargo test --workspace --locked --no-fail-fast 2>&1 | tee /tmp/echoflow-test.log
status=${PIPESTATUS[0]}
# The examples assert what they teach (conservation, determinism, batch = one at a time): run them.
# `cargo test --workspace` built them already; building them for the whole workspace again
# reuses those artifacts, where `cargo run -p <crate>` would resolve features for one crate and
# rebuild its dependency tree under new hashes (a second copy on disk).
say "examples"
if RUSTFLAGS="${RUSTFLAGS:-} -D warnings" cargo build -q --workspace --examples --locked; then
  for ex in admission esn_forecast autoscale replay_mixed; do
    if ! "$target_dir/debug/examples/$ex" >/tmp/echoflow-example.log 2>&1; then
      cat /tmp/echoflow-example.log; say "example $ex FAILED"; status=1
    else
      say "example $ex ok"
    fi
  done
else
  say "building the examples FAILED"; status=1
fi
disk
set -e
# One closing line for the whole run, summed over every test binary.
python3 - /tmp/echoflow-test.log <<'PY' || true
import re, sys
p = f = i = 0
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored", line)
    if m:
        p += int(m[1]); f += int(m[2]); i += int(m[3])
print(f"total: {p} passed, {f} failed, {i} skipped")
PY
exit "$status"
