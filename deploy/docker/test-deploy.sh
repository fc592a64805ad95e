#!/usr/bin/env bash
# deploy/docker/test-deploy.sh — tests of the deploy files that need no Docker engine and no
# cluster (docs/deploy.md, "What is validated"):
#
#   1. entrypoint.sh, under every POSIX shell found (dash, bash --posix, busybox sh), with a fake
#      `echoflow` on PATH that records its arguments: the hostfile and the
#      `--processes N --process I --hostfile F` it derives from a StatefulSet pod name, the cases it
#      passes through unchanged, and the errors it reports; its functions on their own.
#   2. healthcheck.sh against a loopback HTTP server (python3 -m http.server, bounded wait).
#   3. docker-compose.yml, prometheus.yml and the Grafana provisioning parsed as YAML (python3
#      yaml) and checked against each other, the SPEC §2 topics of deploy/local/kafka.sh and the
#      files they mount; `docker compose config` too when a compose client is installed.
#   4. The Dockerfile read without Docker: every COPY source exists and is not .dockerignored, the
#      builder installs test-all.sh's librdkafka build packages, the runtime user is not root.
#   5. `echoflow validate` on deploy/docker/pipeline.toml and the ConfigMap's pipeline.toml when a
#      built binary is given (ECHOFLOW_TEST_BIN; required when CI=true), and `kubectl kustomize
#      deploy/k8s` when kubectl is installed.
#
# Ends with one line `deploy: N passed, M failed` and exits non-zero if any check failed.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
entrypoint=deploy/docker/entrypoint.sh
passed=0
failed=0
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*" >&2; }
# expect_eq NAME GOT WANT
expect_eq() {
  if [ "$2" == "$3" ]; then ok "$1"; else fail "$1"$'\n  got:  '"${2//$'\n'/$'\n        '}"$'\n  want: '"${3//$'\n'/$'\n        '}"; fi
}

# A fake echoflow: one argument per line into $ARGS_OUT.
mkdir -p "$work/bin"
cat >"$work/bin/echoflow" <<'EOF'
#!/bin/sh
: >"$ARGS_OUT"
for a in "$@"; do printf '%s\n' "$a" >>"$ARGS_OUT"; done
EOF
chmod +x "$work/bin/echoflow"

# run_entrypoint SHELL VAR=VALUE… -- ARGS…: runs the entrypoint in a clean environment; sets
# $rc, $args (the fake's argument lines) and $err (standard error).
run_entrypoint() {
  local sh=$1; shift
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  rm -f "$work/args" "$work/hostfile"
  env -i PATH="$work/bin:/usr/bin:/bin" ARGS_OUT="$work/args" ECHOFLOW_HOSTFILE="$work/hostfile" \
    "${envs[@]}" $sh "$entrypoint" "$@" 2>"$work/err"
  rc=$?
  args=$(cat "$work/args" 2>/dev/null || true)
  err=$(cat "$work/err")
}

# A Python with PyYAML: the one on PATH, or Debian's (python3-yaml), whichever has it.
py=""
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import yaml' 2>/dev/null; then py=$candidate; break; fi
done

shells=()
command -v dash >/dev/null && shells+=("dash")
shells+=("bash --posix")
command -v busybox >/dev/null && shells+=("busybox sh")

# ---- 1. entrypoint ----------------------------------------------------------------------------
for sh in "${shells[@]}"; do
  t="entrypoint [$sh]"
  if $sh -n "$entrypoint"; then ok "$t: parses"; else fail "$t: does not parse"; fi

  # The brief's case: pod echoflow-2 of a 3-replica StatefulSet in namespace prod.
  run_entrypoint "$sh" HOSTNAME=echoflow-2 ECHOFLOW_PROCESSES=3 POD_NAMESPACE=prod -- \
    run --config /etc/echoflow/pipeline.toml
  expect_eq "$t: echoflow-2 of 3 exits 0" "$rc" 0
  expect_eq "$t: echoflow-2 of 3 arguments" "$args" "run
--config
/etc/echoflow/pipeline.toml
--processes
3
--process
2
--hostfile
$work/hostfile"
  expect_eq "$t: echoflow-2 of 3 hostfile (one host:port per process, as src/cli/cluster.rs reads it)" \
    "$(grep -v '^#' "$work/hostfile" 2>/dev/null)" \
    "echoflow-0.echoflow-headless.prod.svc.cluster.local:2101
echoflow-1.echoflow-headless.prod.svc.cluster.local:2101
echoflow-2.echoflow-headless.prod.svc.cluster.local:2101"

  # POD_NAME (downward API) wins over HOSTNAME; service, domain, port and set name are settable.
  run_entrypoint "$sh" HOSTNAME=ignored POD_NAME=flow-1 ECHOFLOW_PROCESSES=2 \
    ECHOFLOW_HEADLESS_SERVICE=peers ECHOFLOW_CLUSTER_DOMAIN=example.internal ECHOFLOW_TIMELY_PORT=7000 -- run
  expect_eq "$t: POD_NAME and overrides: process" "$(sed -n 5p <<<"$args")" 1
  expect_eq "$t: POD_NAME and overrides: hostfile" "$(grep -v '^#' "$work/hostfile" 2>/dev/null)" \
    "flow-0.peers.default.svc.example.internal:7000
flow-1.peers.default.svc.example.internal:7000"

  # ECHOFLOW_PROCESS overrides the ordinal (a hostname without one is then fine).
  run_entrypoint "$sh" HOSTNAME=laptop ECHOFLOW_PROCESS=0 ECHOFLOW_PROCESSES=2 ECHOFLOW_STATEFULSET=echoflow -- run
  expect_eq "$t: ECHOFLOW_PROCESS=0 on a plain hostname" "$rc $(sed -n 5p <<<"$args")" "0 0"

  # Passed through unchanged: one process, no arguments (the default run), another subcommand,
  # and a run that already names its layout.
  run_entrypoint "$sh" HOSTNAME=echoflow-2 -- run --config /c.toml
  expect_eq "$t: one process (ECHOFLOW_PROCESSES unset) is unchanged" "$args" $'run\n--config\n/c.toml'
  [ -e "$work/hostfile" ] && fail "$t: one process wrote a hostfile" || ok "$t: one process writes no hostfile"
  run_entrypoint "$sh" HOSTNAME=x -- 
  expect_eq "$t: no arguments run the image's default" "$args" $'run\n--config\n/etc/echoflow/pipeline.toml'
  run_entrypoint "$sh" HOSTNAME=echoflow-2 ECHOFLOW_PROCESSES=3 -- demo --seconds 5
  expect_eq "$t: demo passes through in a cluster pod" "$args" $'demo\n--seconds\n5'
  run_entrypoint "$sh" HOSTNAME=echoflow-2 ECHOFLOW_PROCESSES=3 -- run --processes 2 --process 0 --hostfile /h
  expect_eq "$t: explicit cluster flags are left alone" "$args" $'run\n--processes\n2\n--process\n0\n--hostfile\n/h'

  # Errors: one line naming the cause, exit 2, echoflow not started.
  for case in "echoflow-3|3|allowed is 0..2" "laptop|3|does not end in -<ordinal>" \
              "echoflow-02|3|does not end in -<ordinal>" "echoflow-1|abc|ECHOFLOW_PROCESSES = 'abc'" \
              "echoflow-0|0|ECHOFLOW_PROCESSES = '0'"; do
    IFS='|' read -r host n want <<<"$case"
    run_entrypoint "$sh" HOSTNAME="$host" ECHOFLOW_PROCESSES="$n" -- run
    if [ "$rc" = 2 ] && [ -z "$args" ] && [[ "$err" == *"$want"* ]] && [ "$(wc -l <<<"$err")" = 1 ]; then
      ok "$t: $host with $n processes is refused ($want)"
    else
      fail "$t: $host with $n processes: rc=$rc args='$args' err='$err' (want rc 2 and '$want')"
    fi
  done
  run_entrypoint "$sh" HOSTNAME=echoflow-1 ECHOFLOW_PROCESSES=2 ECHOFLOW_TIMELY_PORT=70000 -- run
  expect_eq "$t: a bad port is refused" "$rc" 2

  # The functions on their own.
  got=$(ECHOFLOW_ENTRYPOINT_NO_MAIN=1 $sh -c '. "$1"; hostfile_lines 4 s d.local 1; pod_ordinal web-12; pod_ordinal a-b-0; pod_set a-b-0; pod_ordinal web || echo none; pod_ordinal web- || echo none' sh "$entrypoint")
  expect_eq "$t: hostfile_lines, pod_ordinal, pod_set" "$got" "s-0.d.local:1
s-1.d.local:1
s-2.d.local:1
s-3.d.local:1
12
0
a-b
none
none"
done

# ---- 2. healthcheck ---------------------------------------------------------------------------
mkdir -p "$work/www"
echo ok >"$work/www/healthz"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/www" >/dev/null 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
if ECHOFLOW_METRICS__ADDRESS="0.0.0.0:$port" bash deploy/docker/healthcheck.sh /healthz 2>/dev/null; then
  ok "healthcheck: 200 on /healthz succeeds"
else
  fail "healthcheck: 200 on /healthz should succeed"
fi
if ECHOFLOW_METRICS__ADDRESS="0.0.0.0:$port" bash deploy/docker/healthcheck.sh /ready 2>/dev/null; then
  fail "healthcheck: 404 on /ready should fail"
else
  ok "healthcheck: a non-200 answer fails"
fi
kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; server_pid=""
if ECHOFLOW_METRICS__ADDRESS="0.0.0.0:$port" bash deploy/docker/healthcheck.sh 2>/dev/null; then
  fail "healthcheck: no listener should fail"
else
  ok "healthcheck: no listener fails"
fi

# ---- 3. compose, Prometheus, Grafana ----------------------------------------------------------
kafka_topics=$(sed -n '/^topics=(/,/)/p' deploy/local/kafka.sh | tr -d '()' | sed 's/topics=//' | tr -s ' \n' '\n' | grep . | sort)
if [ -z "$py" ]; then
  fail "no python3 with PyYAML (apt-get install python3-yaml): compose, Prometheus and Grafana files not checked"
elif out=$(KAFKA_TOPICS="$kafka_topics" "$py" - <<'PY' 2>&1
import os, re, sys, yaml
problems = []
def check(cond, msg):
    if not cond:
        problems.append(msg)
compose = yaml.safe_load(open("deploy/docker-compose.yml"))
services = compose["services"]
check(set(services) == {"kafka", "kafka-topics", "echoflow", "loadgen", "prometheus", "grafana"},
      f"services: {sorted(services)}")
check(services["loadgen"].get("profiles") == ["loadgen"], "loadgen must be behind the `loadgen` profile")
check(services["loadgen"]["command"][0] == "loadgen", "loadgen runs `echoflow loadgen`")
check(services["echoflow"]["build"]["dockerfile"] == "Dockerfile" and services["echoflow"]["build"]["context"] == "..",
      "echoflow builds the repository's Dockerfile")
check(services["echoflow"]["depends_on"]["kafka-topics"]["condition"] == "service_completed_successfully",
      "echoflow waits for the topics")
# Topics created = SPEC §2 topics of deploy/local/kafka.sh.
script = services["kafka-topics"]["command"][0]
created = sorted(re.findall(r"echoflow\.[a-z-]+", script))
check(created == os.environ["KAFKA_TOPICS"].split(), f"topics {created} differ from kafka.sh's")
# Every bind mount's source exists (the dashboards folder is another file's business).
mounts = {}
for name, svc in services.items():
    for v in svc.get("volumes", []):
        src, dst = v.split(":")[:2]
        mounts[(name, src)] = dst
        if src.startswith("./") and src != "./grafana/dashboards":
            check(os.path.exists(os.path.join("deploy", src)), f"{name}: mount source {src} missing")
# echoflow's metrics: config file and environment say 0.0.0.0:9898; Prometheus scrapes it there.
toml = open("deploy/docker/pipeline.toml").read()
check(re.search(r'^address = "0\.0\.0\.0:9898"', toml, re.M), "deploy/docker/pipeline.toml metrics.address")
check(re.search(r'^brokers = "kafka:9092"', toml, re.M), "deploy/docker/pipeline.toml brokers")
check(services["echoflow"]["environment"]["ECHOFLOW_METRICS__ADDRESS"] == "0.0.0.0:9898", "echoflow metrics env")
check(mounts[("echoflow", "./docker/pipeline.toml")] == "/etc/echoflow/pipeline.toml", "config mount")
check("/etc/echoflow/pipeline.toml" in services["echoflow"]["command"], "echoflow reads the mounted config")
prom = yaml.safe_load(open("deploy/prometheus/prometheus.yml"))
targets = [t for job in prom["scrape_configs"] for sc in job.get("static_configs", []) for t in sc["targets"]]
check("echoflow:9898" in targets, f"Prometheus targets {targets}")
check(mounts[("prometheus", "./prometheus/prometheus.yml")] == "/etc/prometheus/prometheus.yml", "prometheus config mount")
ds = yaml.safe_load(open("deploy/grafana/provisioning/datasources/prometheus.yml"))["datasources"]
check(len(ds) == 1 and ds[0]["type"] == "prometheus" and ds[0]["url"] == "http://prometheus:9090" and ds[0]["uid"] == "prometheus",
      f"Grafana datasource {ds}")
prov = yaml.safe_load(open("deploy/grafana/provisioning/dashboards/echoflow.yml"))["providers"]
check(len(prov) == 1 and prov[0]["type"] == "file", "one file dashboards provider")
check(prov[0]["options"]["path"] == mounts[("grafana", "./grafana/dashboards")],
      "the provider reads the folder deploy/grafana/dashboards is mounted at")
check(mounts[("grafana", "./grafana/provisioning")] == "/etc/grafana/provisioning", "provisioning mount")
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
PY
); then ok "compose, Prometheus and Grafana files parse and agree"; else fail "compose/Prometheus/Grafana: $out"; fi
if docker compose version >/dev/null 2>&1; then
  if docker compose -f deploy/docker-compose.yml --profile loadgen config -q; then ok "docker compose config"; else fail "docker compose config"; fi
else
  echo "note: no docker compose client here; the compose file was checked as YAML only"
fi

# ---- 4. Dockerfile, read ----------------------------------------------------------------------
if out=$(python3 - <<'PY' 2>&1
import fnmatch, os, re, sys
problems = []
text = open("Dockerfile").read().replace("\\\n", " ")
ignored = [l.strip().rstrip("/") for l in open(".dockerignore") if l.strip() and not l.startswith("#")]
for m in re.finditer(r"^COPY (?!--from)(.+)$", text, re.M):
    *srcs, _dst = m.group(1).split()
    for src in srcs:
        if src == ".":
            continue
        if not os.path.exists(src):
            problems.append(f"COPY {src}: missing")
        if any(fnmatch.fnmatch(src, pat) or src.startswith(pat + "/") for pat in ignored):
            problems.append(f"COPY {src}: excluded by .dockerignore")
builder = text.split("FROM ")[1]
for pkg in ["pkg-config", "cmake", "libssl-dev", "zlib1g-dev", "libfontconfig1-dev"]:
    if not re.search(rf"\b{re.escape(pkg)}\b", builder):
        problems.append(f"builder stage lacks {pkg}")
    if not re.search(rf"\b{re.escape(pkg)}\b", open("deploy/local/test-all.sh").read()):
        problems.append(f"{pkg} is not one of test-all.sh's packages")
if "cargo build --release --locked --bin echoflow" not in text:
    problems.append("builder does not run cargo build --release --locked --bin echoflow")
uid = re.search(r"^ARG ECHOFLOW_UID=(\d+)$", text, re.M)
if not uid or int(uid.group(1)) == 0 or not re.search(r"^USER \$\{ECHOFLOW_UID\}", text, re.M):
    problems.append("runtime must switch to the non-root ECHOFLOW_UID")
for want in ["EXPOSE 9898", 'ENTRYPOINT ["/usr/local/bin/echoflow-entrypoint"]', "ECHOFLOW_METRICS__ADDRESS=0.0.0.0:9898"]:
    if want not in text:
        problems.append(f"Dockerfile lacks {want}")
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
PY
); then ok "Dockerfile: COPY sources, build packages, non-root user"; else fail "Dockerfile: $out"; fi
if docker info >/dev/null 2>&1; then
  echo "note: a Docker engine is reachable; build the image with: docker build -t echoflow:local ."
else
  echo "note: no Docker engine here; the image was not built by this test"
fi

# ---- 5. The configurations through echoflow validate; kustomize -------------------------------
bin=${ECHOFLOW_TEST_BIN:-}
if [ -n "$bin" ] && [ -x "$bin" ]; then
  "${py:-python3}" -c 'import yaml,sys; print(yaml.safe_load(open(sys.argv[1]))["data"]["pipeline.toml"], end="")' \
    deploy/k8s/configmap.yaml >"$work/configmap-pipeline.toml"
  for f in deploy/docker/pipeline.toml "$work/configmap-pipeline.toml"; do
    label=$f; [ "$f" = "$work/configmap-pipeline.toml" ] && label="deploy/k8s/configmap.yaml's pipeline.toml"
    if out=$(env -u ECHOFLOW_TEST_BROKERS ECHOFLOW_METRICS__ADDRESS=0.0.0.0:9898 "$bin" validate "$f" 2>&1); then
      ok "echoflow validate $label"
    else
      fail "echoflow validate $f: $out"
    fi
  done
  # The real binary through the entrypoint, as the image starts it (one process), with no broker
  # (127.0.0.1:1 refuses): the listener honours ECHOFLOW_METRICS__ADDRESS, the healthcheck reads
  # its answers — /healthz 200 at once, /ready not 200 while no source is assigned. Bounded:
  # at most 20 s of polling, then the process (started here, by PID) is killed.
  mport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  env ECHOFLOW_BIN="$bin" ECHOFLOW_METRICS__ADDRESS="127.0.0.1:$mport" ECHOFLOW_KAFKA__BROKERS=127.0.0.1:1 \
    ECHOFLOW_LOG=off sh "$entrypoint" run --config deploy/docker/pipeline.toml >"$work/run.log" 2>&1 &
  run_pid=$!
  healthy=no
  for _ in $(seq 1 100); do
    if ECHOFLOW_METRICS__ADDRESS="0.0.0.0:$mport" bash deploy/docker/healthcheck.sh /healthz 2>/dev/null; then healthy=yes; break; fi
    kill -0 "$run_pid" 2>/dev/null || break
    sleep 0.2
  done
  expect_eq "echoflow run via the entrypoint: /healthz answers 200 (healthcheck.sh)" "$healthy" yes
  if ECHOFLOW_METRICS__ADDRESS="0.0.0.0:$mport" bash deploy/docker/healthcheck.sh /ready 2>/dev/null; then
    fail "echoflow run without a broker: /ready should not be 200"
  else
    ok "echoflow run without a broker: /ready is not 200"
  fi
  kill -9 "$run_pid" 2>/dev/null
  wait "$run_pid" 2>/dev/null
elif [ "${CI:-}" = true ]; then
  fail "ECHOFLOW_TEST_BIN (a built echoflow) is required when CI=true; got '${bin}'"
else
  echo "note: ECHOFLOW_TEST_BIN not set: the pipeline.toml files were not run through echoflow validate"
fi
if command -v kubectl >/dev/null; then
  if out=$(kubectl kustomize deploy/k8s 2>&1) && [ "$(grep -c '^kind:' <<<"$out")" = 6 ]; then
    ok "kubectl kustomize deploy/k8s renders 6 objects"
  else
    fail "kubectl kustomize deploy/k8s: $out"
  fi
else
  echo "note: no kubectl here; kustomization.yaml was checked by the Go test only"
fi

echo "deploy: $passed passed, $failed failed"
[ "$failed" = 0 ]
