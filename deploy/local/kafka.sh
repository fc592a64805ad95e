#!/usr/bin/env bash
# deploy/local/kafka.sh — a real single-node Apache Kafka 4.x (KRaft) on 127.0.0.1 for tests and
# local runs. Broker jars come from Maven Central through deploy/local/pom.xml (cached in ~/.m2).
#
#   kafka.sh up       resolve jars, format storage once, start the broker, wait, create topics
#   kafka.sh down     stop the broker this script started (by PID) and wait for it to exit
#   kafka.sh status   say whether it runs; exit 0 if it does, 3 if not
#   kafka.sh topics   (re)create the SPEC §2 topics (existing ones are left alone)
#
# Environment (all optional):
#   KAFKA_PORT=9092  KAFKA_CONTROLLER_PORT=9093  KAFKA_PARTITIONS=8
#   KAFKA_STATE_DIR=deploy/local/.kafka (data, logs, pid)  KAFKA_JARS_DIR=deploy/local/.jars
#   KAFKA_START_TIMEOUT=90 (seconds)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
port=${KAFKA_PORT:-9092}
cport=${KAFKA_CONTROLLER_PORT:-9093}
partitions=${KAFKA_PARTITIONS:-8}
state=${KAFKA_STATE_DIR:-$here/.kafka}
jars=${KAFKA_JARS_DIR:-$here/.jars}
timeout=${KAFKA_START_TIMEOUT:-90}
pidfile=$state/kafka.pid
bootstrap=127.0.0.1:$port
topics=(echoflow.requests echoflow.telemetry echoflow.admitted echoflow.rejections
        echoflow.scaling-decisions echoflow.control-events echoflow.dead-letter)

log() { echo "kafka.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running_pid() {
  [ -f "$pidfile" ] || return 1
  local pid
  pid=$(cat "$pidfile")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

resolve_jars() {
  if [ -f "$jars/.complete" ]; then return 0; fi
  command -v mvn >/dev/null || die "mvn not found: install Maven (apt-get install maven)"
  command -v java >/dev/null || die "java not found: install a JDK 17 (apt-get install openjdk-17-jre-headless)"
  log "resolving Kafka jars with Maven into $jars"
  rm -rf "$jars"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$jars" || die "Maven could not resolve the Kafka jars (see above)"
  touch "$jars/.complete"
}

classpath() { echo "$jars/*"; }

write_config() {
  mkdir -p "$state/data" "$state/logs"
  cat > "$state/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$state/data
num.partitions=$partitions
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
num.network.threads=2
num.io.threads=2
PROPS
}

jvm() {
  java -Xms128m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData \
       -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logs.dir="$state/logs" \
       -cp "$(classpath)" "$@"
}

format_storage() {
  [ -f "$state/data/meta.properties" ] && return 0
  local id
  # A cluster id starting with '-' is read as an option by the storage tool: draw until it does not.
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-22)
    case "$id" in -*) ;; *) break ;; esac
  done
  log "formatting KRaft storage (cluster $id)"
  jvm kafka.tools.StorageTool format -t "$id" -c "$state/server.properties" --standalone >"$state/logs/format.log" 2>&1 \
    || { cat "$state/logs/format.log" >&2; die "storage format failed"; }
}

create_topics() {
  jvm "$here/CreateTopics.java" "$bootstrap" "$partitions" "${topics[@]}" \
    || die "topic creation failed"
}

up() {
  if pid=$(running_pid) && port_open "$port"; then
    log "already running (pid $pid) on $bootstrap"
    create_topics
    return 0
  fi
  port_open "$port" && die "port $port is taken by another process; set KAFKA_PORT"
  resolve_jars
  write_config
  format_storage
  log "starting broker on $bootstrap"
  # setsid: the broker outlives this script and is not killed with the caller's process group.
  setsid nohup java -Xms128m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData \
       -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logs.dir="$state/logs" \
       -cp "$(classpath)" kafka.Kafka "$state/server.properties" \
       >"$state/logs/stdout.log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  local pid=$! waited=0
  # Port 9092 opens only once the broker is unfenced, so an open port means ready.
  until port_open "$port"; do
    kill -0 "$pid" 2>/dev/null || { tail -n 30 "$state/logs/stdout.log" "$state/logs/server.log" >&2 2>/dev/null; die "the broker exited during start-up"; }
    [ "$waited" -ge "$((timeout * 4))" ] && { kill "$pid" 2>/dev/null; die "broker not ready after ${timeout}s"; }
    sleep 0.25; waited=$((waited + 1))
  done
  log "ready after $((waited / 4))s (pid $pid)"
  create_topics
}

down() {
  local pid
  if ! pid=$(running_pid); then
    log "not running"
    rm -f "$pidfile"
    return 0
  fi
  log "stopping broker (pid $pid)"
  kill "$pid"
  for _ in $(seq 1 120); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; log "stopped"; return 0; }
    sleep 0.25
  done
  log "broker did not stop in 30 s: killing it"
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

status() {
  if pid=$(running_pid) && port_open "$port"; then
    echo "running (pid $pid) on $bootstrap"
  else
    echo "not running"; exit 3
  fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  topics) create_topics ;;
  *) echo "usage: $0 up|down|status|topics" >&2; exit 2 ;;
esac
