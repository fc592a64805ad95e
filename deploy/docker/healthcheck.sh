#!/bin/bash
# deploy/docker/healthcheck.sh — the image's HEALTHCHECK (Dockerfile): GET a path of echoflow's
# metrics listener (SPEC §7: /healthz alive, /ready ready) and succeed on HTTP 200.
#
#   echoflow-healthcheck [PATH]        PATH defaults to /healthz
#
# The slim runtime image has no curl or wget, so this speaks HTTP/1.0 over bash's /dev/tcp.
# The port is the one of ECHOFLOW_METRICS__ADDRESS (the image sets 0.0.0.0:9898), asked on
# 127.0.0.1; ECHOFLOW_HEALTHCHECK_HOST overrides the host (tests). Gives up after 3 s.
set -euo pipefail

path=${1:-/healthz}
address=${ECHOFLOW_METRICS__ADDRESS:-127.0.0.1:9898}
port=${address##*:}
host=${ECHOFLOW_HEALTHCHECK_HOST:-127.0.0.1}

exec 3<>"/dev/tcp/$host/$port" || { echo "healthcheck: cannot connect to $host:$port" >&2; exit 1; }
# One write: echoflow's listener reads the request line, answers and closes; a request written in
# pieces could meet a closed socket (SIGPIPE) before the answer is read.
request=$(printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n_' "$path" "$host")
request=${request%_}
trap '' PIPE
printf '%s' "$request" >&3 || true
status_line=""
IFS= read -r -t 3 status_line <&3 || true
exec 3<&-
case "$status_line" in
  "HTTP/1."[01]" 200 "*) exit 0 ;;
  *) echo "healthcheck: GET $path on $host:$port answered '${status_line%$'\r'}'" >&2; exit 1 ;;
esac
