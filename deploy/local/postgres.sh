#!/usr/bin/env bash
# Throwaway local PostgreSQL cluster for development and integration tests, without Docker.
set -euo pipefail

PGPORT="${PGPORT:-55432}"
PG_DATA_DIR="${PG_DATA_DIR:-$HOME/.local/share/scrm/postgres}"
PG_DATABASE="${PG_DATABASE:-scrm}"
PG_OS_USER="${PG_OS_USER:-postgres}"
PG_START_TIMEOUT="${PG_START_TIMEOUT:-60}"

usage() {
  cat <<EOF
Usage: $(basename "$0") start|stop|status|--help

A throwaway PostgreSQL cluster bound to 127.0.0.1, tuned for speed, not durability
(fsync, synchronous_commit and full_page_writes are off): never keep data you care about in it.

  start    initdb on first use (trust auth, superuser "postgres"), start the server, create the
           database "$PG_DATABASE" when missing; the last stdout line is the SQLAlchemy URL
           postgresql+psycopg://postgres@127.0.0.1:PORT/$PG_DATABASE. Idempotent.
  stop     fast shutdown, waits for exit. Idempotent.
  status   exit 0 and print the URL when running, exit 3 when not.

Environment (defaults in brackets):
  PGPORT            TCP port [55432]
  PG_DATA_DIR       holds pgdata/ (the cluster), run/ (unix socket) and postgres.log
                    [\$HOME/.local/share/scrm/postgres]
  PG_BIN_DIR        directory with initdb/pg_ctl/psql [newest /usr/lib/postgresql/*/bin, else PATH]
  PG_OS_USER        OS user that runs the server when this script runs as root [postgres]
  PG_START_TIMEOUT  seconds to wait for start-up [60]

When initdb is nowhere to be found and this runs as root on Debian/Ubuntu, the distribution's
"postgresql" package is installed with apt-get. PostgreSQL refuses to run as root, so as root the
data dir is given to PG_OS_USER and its parent directories get traverse (x) permission for that user.
EOF
}

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

find_bin_dir() {
  if [[ -n "${PG_BIN_DIR:-}" ]]; then
    [[ -x "$PG_BIN_DIR/initdb" ]] || die "PG_BIN_DIR=$PG_BIN_DIR has no initdb"
    echo "$PG_BIN_DIR"; return 0
  fi
  local d
  d="$(compgen -G '/usr/lib/postgresql/*/bin' | sort -V | tail -n 1 || true)"
  if [[ -n "$d" && -x "$d/initdb" ]]; then echo "$d"; return 0; fi
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return 0; fi
  if command -v pg_config >/dev/null 2>&1 && [[ -x "$(pg_config --bindir)/initdb" ]]; then
    pg_config --bindir; return 0
  fi
  return 1
}

install_postgres() {
  if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    die "PostgreSQL server binaries (initdb) not found. Install them (Debian: apt-get install -y postgresql) or set PG_BIN_DIR."
  fi
  log "initdb not found; installing Debian's postgresql package (apt-get) ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends postgresql >&2 || die "apt-get install postgresql failed"
}

# Runs a command as the server's OS user (as root) or as ourselves (otherwise).
as_pg() {
  if [[ "$(id -u)" -eq 0 ]]; then
    if command -v runuser >/dev/null 2>&1; then
      runuser -u "$PG_OS_USER" -- "$@"
    else
      su -s /bin/sh "$PG_OS_USER" -c "$(printf '%q ' "$@")"
    fi
  else
    "$@"
  fi
}

# As root: the server user must be able to reach the data dir through every parent directory.
grant_traverse() {
  local dir="$1" path="" part
  local -a parts
  IFS='/' read -r -a parts <<<"${dir#/}"
  # Top-down, so each check only fails for the directory that really blocks the way.
  for part in "${parts[@]:0:${#parts[@]}-1}"; do
    path="$path/$part"
    if ! runuser -u "$PG_OS_USER" -- test -x "$path" 2>/dev/null; then
      if command -v setfacl >/dev/null 2>&1 && setfacl -m "u:$PG_OS_USER:x" "$path" 2>/dev/null; then
        log "granted $PG_OS_USER traverse permission on $path (ACL)"
      else
        chmod o+x "$path" || die "cannot make $path traversable for $PG_OS_USER"
        log "granted traverse permission (o+x) on $path so $PG_OS_USER can reach the data dir"
      fi
    fi
  done
}

setup_paths() {
  mkdir -p "$PG_DATA_DIR"
  PG_DATA_DIR="$(cd "$PG_DATA_DIR" && pwd)"
  CLUSTER="$PG_DATA_DIR/pgdata"
  SOCKET_DIR="$PG_DATA_DIR/run"
  LOGFILE="$PG_DATA_DIR/postgres.log"
  cd "$PG_DATA_DIR"  # the server user may not be allowed into our current directory
}

need_bins() {
  local bin
  if ! bin="$(find_bin_dir)"; then
    install_postgres
    bin="$(find_bin_dir)" || die "initdb still not found after installing postgresql"
  fi
  BIN="$bin"
}

is_running() {
  [[ -f "$CLUSTER/PG_VERSION" ]] || return 1
  as_pg "$BIN/pg_ctl" status -D "$CLUSTER" >/dev/null 2>&1
}

# Port of the running server, from postmaster.pid (line 4), falling back to PGPORT.
running_port() {
  local p
  p="$(sed -n 4p "$CLUSTER/postmaster.pid" 2>/dev/null || true)"
  [[ "$p" =~ ^[0-9]+$ ]] && echo "$p" || echo "$PGPORT"
}

url() { echo "postgresql+psycopg://postgres@127.0.0.1:$1/$PG_DATABASE"; }

ensure_database() {
  local port="$1" exists
  exists="$("$BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -XtAq \
             -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'")" \
    || die "cannot connect to PostgreSQL on 127.0.0.1:$port"
  if [[ "$exists" != "1" ]]; then
    "$BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres "$PG_DATABASE" || die "createdb $PG_DATABASE failed"
    log "created database $PG_DATABASE"
  fi
}

cmd_start() {
  [[ "$PG_DATABASE" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "PG_DATABASE must be a plain identifier"
  local t0=$SECONDS
  setup_paths
  need_bins
  local root=0
  [[ "$(id -u)" -eq 0 ]] && root=1
  if ((root)); then
    id "$PG_OS_USER" >/dev/null 2>&1 || die "OS user $PG_OS_USER does not exist (PostgreSQL cannot run as root)"
    grant_traverse "$PG_DATA_DIR"
    chown "$PG_OS_USER" "$PG_DATA_DIR"
  fi

  if is_running; then
    local port
    port="$(running_port)"
    log "already running on 127.0.0.1:$port"
    ensure_database "$port"
    url "$port"
    return 0
  fi

  if [[ ! -f "$CLUSTER/PG_VERSION" ]]; then
    log "initdb $CLUSTER ($("$BIN/initdb" --version))"
    rm -rf "$CLUSTER"
    as_pg "$BIN/initdb" -D "$CLUSTER" -A trust -U postgres -E UTF8 --locale=C --no-sync >"$PG_DATA_DIR/initdb.log" 2>&1 \
      || { cat "$PG_DATA_DIR/initdb.log" >&2; die "initdb failed"; }
    # Settings that may change between starts live in scrm.conf, rewritten on every start.
    echo "include_if_exists = 'scrm.conf'" | as_pg tee -a "$CLUSTER/postgresql.conf" >/dev/null
  fi

  if (exec 3<>"/dev/tcp/127.0.0.1/$PGPORT") 2>/dev/null; then
    die "port $PGPORT on 127.0.0.1 is already in use by another process (set PGPORT)"
  fi
  mkdir -p "$SOCKET_DIR"
  ((root)) && chown "$PG_OS_USER" "$SOCKET_DIR"
  local sockets="$SOCKET_DIR"
  # A unix socket path must fit in 107 bytes; with a deep data dir use TCP only.
  if (( ${#SOCKET_DIR} + 20 > 107 )); then sockets=""; fi
  as_pg tee "$CLUSTER/scrm.conf" >/dev/null <<EOF
# Generated by deploy/local/postgres.sh on every start.
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$sockets'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF
  ((root)) && chown "$PG_OS_USER" "$LOGFILE" 2>/dev/null || true
  log "starting PostgreSQL on 127.0.0.1:$PGPORT (data $CLUSTER, log $LOGFILE)"
  if ! as_pg "$BIN/pg_ctl" start -D "$CLUSTER" -l "$LOGFILE" -w -t "$PG_START_TIMEOUT" >/dev/null; then
    tail -n 30 "$LOGFILE" >&2 2>/dev/null || true
    die "PostgreSQL did not start"
  fi
  ensure_database "$PGPORT"
  log "ready in $((SECONDS - t0)) s"
  url "$PGPORT"
}

cmd_stop() {
  if [[ ! -d "$PG_DATA_DIR" ]]; then log "not running"; return 0; fi
  setup_paths
  if [[ ! -f "$CLUSTER/PG_VERSION" ]]; then log "not running"; return 0; fi
  BIN="$(find_bin_dir)" || { log "not running (PostgreSQL is not installed)"; return 0; }
  if ! is_running; then log "not running"; return 0; fi
  as_pg "$BIN/pg_ctl" stop -D "$CLUSTER" -m fast -w -t 60 >/dev/null || die "pg_ctl stop failed"
  log "stopped"
}

cmd_status() {
  if [[ ! -d "$PG_DATA_DIR" ]]; then log "not running"; return 3; fi
  setup_paths
  BIN="$(find_bin_dir)" || { log "not running (PostgreSQL is not installed)"; return 3; }
  if is_running; then
    local port
    port="$(running_port)"
    log "running on 127.0.0.1:$port"
    url "$port"
    return 0
  fi
  log "not running"
  return 3
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  -h|--help|help) usage ;;
  *) usage >&2; exit 2 ;;
esac
