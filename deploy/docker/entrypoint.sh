#!/bin/sh
# deploy/docker/entrypoint.sh — the container's entrypoint (POSIX sh; docs/deploy.md).
#
# `echoflow run` as one process of a timely cluster (SPEC §5, §8: "process index = pod ordinal on
# Kubernetes"). When ECHOFLOW_PROCESSES > 1 and the command is `run`, it
#   1. takes this process's index from ECHOFLOW_PROCESS, or else from the trailing `-N` of the pod
#      name (POD_NAME, else HOSTNAME, else `hostname`): a StatefulSet names its pods <set>-0 … <set>-(N-1);
#   2. writes the hostfile that src/cli/cluster.rs reads — one `host:port` per line, line i for
#      process i, `#` lines ignored — naming every pod through the headless Service:
#        <set>-<i>.<service>.<namespace>.svc.<cluster domain>:<port>
#   3. execs `echoflow run … --processes N --process I --hostfile F`.
# Any other command (`demo`, `loadgen`, `validate`, …), a single process, or a `run` that already
# carries --processes/--hostfile is exec'ed unchanged. Errors are one line and exit 2.
#
# Environment (defaults in brackets):
#   ECHOFLOW_PROCESSES          processes in the cluster = StatefulSet replicas [1]
#   ECHOFLOW_PROCESS            this process's index [the pod name's ordinal]
#   POD_NAME                    the pod's name (downward API) [HOSTNAME]
#   ECHOFLOW_STATEFULSET        the pods' name prefix [the pod name without its -N]
#   ECHOFLOW_HEADLESS_SERVICE   the headless Service [<statefulset>-headless]
#   POD_NAMESPACE               the namespace (downward API) [default]
#   ECHOFLOW_CLUSTER_DOMAIN     the cluster's DNS domain [cluster.local]
#   ECHOFLOW_PEER_DOMAIN        everything after "<pod>." [<service>.<namespace>.svc.<domain>]
#   ECHOFLOW_TIMELY_PORT        timely's port on every pod [2101]
#   ECHOFLOW_HOSTFILE           where the hostfile is written [/tmp/echoflow/hostfile]
#   ECHOFLOW_BIN                the binary [echoflow, looked up on PATH]
# None of these contains "__", so echoflow's configuration loader ignores them (SPEC §6).
#
# Timely binds its own line's address and retries connecting to the others every second, so the
# pods may start in any order (podManagementPolicy: Parallel); the headless Service publishes
# not-ready addresses so that peers resolve before /ready turns 200.
#
# Sourcing this file with ECHOFLOW_ENTRYPOINT_NO_MAIN=1 defines the functions only (for tests).
set -eu

entrypoint_die() {
  echo "echoflow-entrypoint: error: $*" >&2
  exit 2
}

# is_count VALUE: VALUE is a decimal integer ≥ 0 without sign or leading zeros (0 itself allowed).
is_count() {
  case "$1" in
    '' | *[!0-9]* | 0?*) return 1 ;;
    *) return 0 ;;
  esac
}

# pod_ordinal NAME: prints the ordinal at the end of NAME (`echoflow-2` → 2); fails without one.
pod_ordinal() {
  case "$1" in
    *-*) ;;
    *) return 1 ;;
  esac
  ordinal=${1##*-}
  is_count "$ordinal" || return 1
  printf '%s\n' "$ordinal"
}

# pod_set NAME: NAME without its trailing `-N` (`echoflow-2` → echoflow).
pod_set() {
  printf '%s\n' "${1%-*}"
}

# hostfile_lines PROCESSES SET PEER_DOMAIN PORT: the hostfile, one line per process, in order.
hostfile_lines() {
  n=$1 set=$2 domain=$3 port=$4
  i=0
  while [ "$i" -lt "$n" ]; do
    printf '%s-%s.%s:%s\n' "$set" "$i" "$domain" "$port"
    i=$((i + 1))
  done
}

# has_cluster_flags ARGS…: the command line already names the cluster layout.
has_cluster_flags() {
  for arg in "$@"; do
    case "$arg" in
      --processes | --processes=* | --hostfile | --hostfile=* | --process | --process=*) return 0 ;;
    esac
  done
  return 1
}

main() {
  bin=${ECHOFLOW_BIN:-echoflow}
  if [ "$#" -eq 0 ]; then
    set -- run --config /etc/echoflow/pipeline.toml
  fi
  processes=${ECHOFLOW_PROCESSES:-1}
  if [ "$1" != run ] || has_cluster_flags "$@"; then
    exec "$bin" "$@"
  fi
  is_count "$processes" && [ "$processes" -ge 1 ] \
    || entrypoint_die "ECHOFLOW_PROCESSES = '$processes': allowed is an integer ≥ 1"
  if [ "$processes" -eq 1 ]; then
    exec "$bin" "$@"
  fi

  pod=${POD_NAME:-${HOSTNAME:-$(hostname)}}
  if [ -n "${ECHOFLOW_PROCESS:-}" ]; then
    process=$ECHOFLOW_PROCESS
    is_count "$process" || entrypoint_die "ECHOFLOW_PROCESS = '$process': allowed is an integer ≥ 0"
  else
    process=$(pod_ordinal "$pod") \
      || entrypoint_die "pod name '$pod' does not end in -<ordinal> (a StatefulSet pod); set ECHOFLOW_PROCESS"
  fi
  [ "$process" -lt "$processes" ] \
    || entrypoint_die "process index $process (pod '$pod'): allowed is 0..$((processes - 1)) for ECHOFLOW_PROCESSES = $processes"

  set_name=${ECHOFLOW_STATEFULSET:-$(pod_set "$pod")}
  service=${ECHOFLOW_HEADLESS_SERVICE:-$set_name-headless}
  namespace=${POD_NAMESPACE:-default}
  peer_domain=${ECHOFLOW_PEER_DOMAIN:-$service.$namespace.svc.${ECHOFLOW_CLUSTER_DOMAIN:-cluster.local}}
  port=${ECHOFLOW_TIMELY_PORT:-2101}
  is_count "$port" && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] \
    || entrypoint_die "ECHOFLOW_TIMELY_PORT = '$port': allowed is 1..65535"
  hostfile=${ECHOFLOW_HOSTFILE:-/tmp/echoflow/hostfile}

  mkdir -p "$(dirname "$hostfile")" || entrypoint_die "cannot create the folder of $hostfile"
  {
    echo "# generated by echoflow-entrypoint for pod $pod: $processes processes, line i = process i"
    hostfile_lines "$processes" "$set_name" "$peer_domain" "$port"
  } >"$hostfile" || entrypoint_die "cannot write $hostfile"
  echo "echoflow-entrypoint: process $process of $processes, hostfile $hostfile" >&2
  exec "$bin" "$@" --processes "$processes" --process "$process" --hostfile "$hostfile"
}

if [ "${ECHOFLOW_ENTRYPOINT_NO_MAIN:-0}" != 1 ]; then
  main "$@"
fi
