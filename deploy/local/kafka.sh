#!/usr/bin/env bash
# Local Apache Kafka 3.9.1 (KRaft, one combined broker+controller) without Docker.
# Jars come from Maven Central through deploy/local/kafka/pom.xml and run on the machine's Java.
set -euo pipefail

readonly KAFKA_VERSION="3.9.1"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
readonly POM="$SCRIPT_DIR/kafka/pom.xml"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-$HOME/.local/share/scrm/kafka}"
KAFKA_JARS_DIR="${KAFKA_JARS_DIR:-$HOME/.cache/scrm/kafka-jars-$KAFKA_VERSION}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-60}"
KAFKA_SASL_PORT="${KAFKA_SASL_PORT:-}"
KAFKA_SASL_USER="${KAFKA_SASL_USER:-scrm}"
KAFKA_SASL_PASSWORD="${KAFKA_SASL_PASSWORD:-}"

usage() {
  cat <<EOF
Usage: $(basename "$0") install|start|stop|status|--help

Runs Apache Kafka $KAFKA_VERSION in KRaft mode (one node that is broker and controller), bound to
127.0.0.1, from Maven Central jars on the machine's Java (17+). No Docker needed.

  install   fetch the broker jars into KAFKA_JARS_DIR (needs mvn; skipped when already there).
            As root on Debian/Ubuntu a missing java or mvn is installed with apt-get.
  start     install if needed, format storage on first use, start the broker in the background,
            wait until it answers a Kafka request; the last stdout line is the bootstrap address
            127.0.0.1:PORT. Idempotent: an already running broker is left alone (exit 0).
  stop      stop the broker and wait for it to exit (SIGTERM, SIGKILL after KAFKA_STOP_TIMEOUT s).
            Idempotent.
  status    exit 0 and print the bootstrap address when running, exit 3 when not.

Environment (defaults in brackets):
  KAFKA_PORT             client listener port [9092]
  KAFKA_CONTROLLER_PORT  KRaft controller port [9093]
  KAFKA_DATA_DIR         config, pid file, logs and topic data [\$HOME/.local/share/scrm/kafka]
  KAFKA_JARS_DIR         jar cache, kept across runs [\$HOME/.cache/scrm/kafka-jars-$KAFKA_VERSION]
  KAFKA_HEAP_OPTS        JVM heap flags [-Xms128m -Xmx512m]
  KAFKA_START_TIMEOUT    seconds to wait for readiness [60]
  KAFKA_STOP_TIMEOUT     seconds to wait for a clean exit [60]
  KAFKA_SASL_PORT        also listen for SASL_PLAINTEXT here (PLAIN and SCRAM-SHA-256) [unset: no SASL listener]
  KAFKA_SASL_USER        the one SASL user [scrm]
  KAFKA_SASL_PASSWORD    its password (required with KAFKA_SASL_PORT; set at first start, when storage is formatted)

Broker settings: num.partitions=4, every replication factor and min ISR = 1,
group.initial.rebalance.delay.ms=0, auto.create.topics.enable=true (so outside tools such as
kafka-console-producer just work; the application itself creates its topics explicitly through the admin API). Logs: \$KAFKA_DATA_DIR/server.log.
EOF
}

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

pid_file() { echo "$KAFKA_DATA_DIR/kafka.pid"; }

# Prints the broker pid when the pid file names a live kafka.Kafka process; otherwise fails.
running_pid() {
  local pf pid
  pf="$(pid_file)"
  [[ -f "$pf" ]] || return 1
  pid="$(cat "$pf" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # Guard against pid reuse: the process must really be our broker.
  if [[ -r "/proc/$pid/cmdline" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'kafka\.Kafka' || return 1
  fi
  echo "$pid"
}

# The bootstrap address of the running broker (its config may use another port than the env now says).
running_bootstrap() {
  if [[ -f "$KAFKA_DATA_DIR/bootstrap" ]]; then cat "$KAFKA_DATA_DIR/bootstrap"; else echo "127.0.0.1:$KAFKA_PORT"; fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Sends a Kafka ApiVersions v0 request (api key 18, correlation id 7, client id "scrm") and checks
# that the reply carries our correlation id and error code 0: proof a Kafka broker is serving requests.
kafka_answers() {
  local reply
  # shellcheck disable=SC2016  # $1 expands in the inner bash
  reply="$(timeout 5 bash -c '
      exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
      printf "\x00\x00\x00\x0e\x00\x12\x00\x00\x00\x00\x00\x07\x00\x04scrm" >&3
      head -c 10 <&3 | od -An -tx1 -v' _ "$1" 2>/dev/null | tr -d ' \n')" || return 1
  # 4 bytes size, 4 bytes correlation id (7), 2 bytes error code (0).
  [[ "${reply:8:12}" == "000000070000" ]]
}

# Installs Debian packages when running as root with apt-get; otherwise explains what is missing.
apt_install() {
  local what="$1"; shift
  if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    die "$what not found. Install it (Debian: apt-get install -y $*)."
  fi
  log "$what not found; installing Debian packages: $* ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "$@" >&2 || die "apt-get install $* failed"
}

need_java() {
  command -v java >/dev/null 2>&1 || apt_install "java (17+)" default-jre-headless
  command -v java >/dev/null 2>&1 || die "java still not found"
}

cmd_install() {
  if [[ -f "$KAFKA_JARS_DIR/.complete" ]]; then
    log "jars already in $KAFKA_JARS_DIR"
    echo "$KAFKA_JARS_DIR"
    return 0
  fi
  need_java
  command -v mvn >/dev/null 2>&1 || apt_install "mvn (needed once to fetch the Kafka jars)" maven
  [[ -f "$POM" ]] || die "missing $POM"
  local parent tmp started
  parent="$(dirname "$KAFKA_JARS_DIR")"
  mkdir -p "$parent"
  tmp="$(mktemp -d "$parent/.kafka-jars.XXXXXX")"
  started=$SECONDS
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_JARS_DIR ..."
  # (sed strips the colour codes Maven 3.8 prints even in batch mode)
  if ! mvn -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
         -DincludeScope=runtime -DoutputDirectory="$tmp" 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' >&2; then
    rm -rf "$tmp"
    die "mvn could not fetch the Kafka jars (is Maven Central reachable? see the output above)"
  fi
  ls "$tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 || { rm -rf "$tmp"; die "kafka_2.13 jar missing after mvn"; }
  touch "$tmp/.complete"
  # Atomic publish; if a concurrent install won the race keep its copy.
  if ! mv -T "$tmp" "$KAFKA_JARS_DIR" 2>/dev/null; then
    rm -rf "$tmp"
    [[ -f "$KAFKA_JARS_DIR/.complete" ]] || die "could not create $KAFKA_JARS_DIR (exists but incomplete? remove it)"
  fi
  log "jars ready in $((SECONDS - started)) s ($(find "$KAFKA_JARS_DIR" -name '*.jar' | wc -l) jars)"
  echo "$KAFKA_JARS_DIR"
}

write_config() {
  local d="$KAFKA_DATA_DIR"
  local listeners="PLAINTEXT://127.0.0.1:$KAFKA_PORT" map="CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT" sasl=""
  if [[ -n "$KAFKA_SASL_PORT" ]]; then
    listeners+=",SASL_PLAINTEXT://127.0.0.1:$KAFKA_SASL_PORT"
    map+=",SASL_PLAINTEXT:SASL_PLAINTEXT"
    sasl="sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$KAFKA_SASL_USER=\"$KAFKA_SASL_PASSWORD\";
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;"
  fi
  cat >"$d/server.properties" <<EOF
# Generated by deploy/local/kafka.sh on every start; edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=$listeners,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=$listeners
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$map
$sasl
log.dirs=$d/data
num.partitions=4
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
group.initial.rebalance.delay.ms=0
# true for outside tools; the application creates its topics explicitly.
auto.create.topics.enable=true
delete.topic.enable=true
log.retention.hours=168
EOF
  cat >"$d/log4j.properties" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$d/server.log
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.org.apache.kafka.clients=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
EOF
}

cmd_start() {
  mkdir -p "$KAFKA_DATA_DIR"
  KAFKA_DATA_DIR="$(cd "$KAFKA_DATA_DIR" && pwd)"
  # One start/stop at a time per data dir. fd 9 is closed for the broker so it does not keep the lock.
  exec 9>"$KAFKA_DATA_DIR/.lock"
  flock -w 120 9 || die "another kafka.sh is busy with $KAFKA_DATA_DIR"

  local pid
  if pid="$(running_pid)"; then
    log "already running (pid $pid)"
    running_bootstrap
    return 0
  fi
  rm -f "$(pid_file)"

  local t0=$SECONDS
  cmd_install >/dev/null
  need_java
  [[ "$KAFKA_PORT" != "$KAFKA_CONTROLLER_PORT" ]] || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ"
  local p
  if [[ -n "$KAFKA_SASL_PORT" && -z "$KAFKA_SASL_PASSWORD" ]]; then die "KAFKA_SASL_PORT needs KAFKA_SASL_PASSWORD"; fi
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" $KAFKA_SASL_PORT; do
    if port_open "$p"; then die "port $p on 127.0.0.1 is already in use by another process"; fi
  done

  write_config
  mkdir -p "$KAFKA_DATA_DIR/data"
  local cp="$KAFKA_JARS_DIR/*"
  local -a heap jvm
  read -r -a heap <<<"$KAFKA_HEAP_OPTS"
  jvm=(java "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError
                -Djava.awt.headless=true -Dlog4j.configuration="file:$KAFKA_DATA_DIR/log4j.properties"
                -cp "$cp")
  if [[ ! -f "$KAFKA_DATA_DIR/data/meta.properties" ]]; then
    local cluster_id
    cluster_id="$("${jvm[@]}" kafka.tools.StorageTool random-uuid 2>>"$KAFKA_DATA_DIR/format.log" | tail -n 1)"
    [[ -n "$cluster_id" ]] || die "StorageTool random-uuid failed; see $KAFKA_DATA_DIR/format.log"
    log "formatting storage in $KAFKA_DATA_DIR/data (cluster id $cluster_id)"
    local -a scram=()
    [[ -n "$KAFKA_SASL_PORT" ]] && scram=(--add-scram "SCRAM-SHA-256=[name=$KAFKA_SASL_USER,password=$KAFKA_SASL_PASSWORD]")
    "${jvm[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_DATA_DIR/server.properties" "${scram[@]}" \
      >>"$KAFKA_DATA_DIR/format.log" 2>&1 || { cat "$KAFKA_DATA_DIR/format.log" >&2; die "storage format failed"; }
  fi

  [[ -f "$KAFKA_DATA_DIR/server.log" ]] && mv -f "$KAFKA_DATA_DIR/server.log" "$KAFKA_DATA_DIR/server.log.prev"
  log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT, data $KAFKA_DATA_DIR)"
  local -a detach=()
  command -v setsid >/dev/null 2>&1 && detach=(setsid)
  nohup "${detach[@]}" "${jvm[@]}" kafka.Kafka "$KAFKA_DATA_DIR/server.properties" \
    </dev/null >"$KAFKA_DATA_DIR/kafka.out" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$(pid_file)"
  echo "127.0.0.1:$KAFKA_PORT" >"$KAFKA_DATA_DIR/bootstrap"

  local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "broker exited during start-up; last lines of its logs:"
      tail -n 30 "$KAFKA_DATA_DIR/kafka.out" "$KAFKA_DATA_DIR/server.log" >&2 2>/dev/null || true
      rm -f "$(pid_file)"
      die "Kafka did not start"
    fi
    if grep -q 'Kafka Server started' "$KAFKA_DATA_DIR/server.log" 2>/dev/null && kafka_answers "$KAFKA_PORT"; then
      break
    fi
    if ((SECONDS >= deadline)); then
      log "not ready after ${KAFKA_START_TIMEOUT} s; last lines of server.log:"
      tail -n 30 "$KAFKA_DATA_DIR/server.log" >&2 2>/dev/null || true
      kill -KILL "$pid" 2>/dev/null || true
      rm -f "$(pid_file)"
      die "Kafka start timed out"
    fi
    sleep 0.2
  done
  log "ready in $((SECONDS - t0)) s (pid $pid)"
  echo "127.0.0.1:$KAFKA_PORT"
}

cmd_stop() {
  if [[ ! -d "$KAFKA_DATA_DIR" ]]; then log "not running"; return 0; fi
  exec 9>"$KAFKA_DATA_DIR/.lock"
  flock -w 120 9 || die "another kafka.sh is busy with $KAFKA_DATA_DIR"
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$(pid_file)"
    log "not running"
    return 0
  fi
  log "stopping pid $pid ..."
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + KAFKA_STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "still alive after ${KAFKA_STOP_TIMEOUT} s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.2
  done
  rm -f "$(pid_file)"
  log "stopped"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    log "running (pid $pid)"
    running_bootstrap
    return 0
  fi
  log "not running"
  return 3
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  -h|--help|help) usage ;;
  *) usage >&2; exit 2 ;;
esac
