# shellcheck shell=bash
#
# Throwaway PostgreSQL clusters for Rapport's tests and for local development.
#
# Source this file from bash; it only defines functions and does nothing by
# itself:
#
#   source scripts/lib/postgres.sh
#   ensure_postgres_installed     # apt-get installs PostgreSQL if it is missing
#   start_test_postgres           # starts a cluster, exports RAPPORT_TEST_POSTGRES_URL
#   ...                           # the cluster is stopped and deleted on EXIT
#
# start_test_postgres installs an EXIT trap that calls rapport_pg_cleanup after
# whatever EXIT trap the caller had already set (it is chained, not replaced).
# A caller that sets its own EXIT trap *afterwards* must call
# rapport_pg_cleanup from it. rapport_pg_cleanup is idempotent.
#
# The functions report failure by returning non-zero (after printing why and,
# for a server that would not start, its log); callers run under `set -e` or
# check the status. They never `exit`, so sourcing this into an interactive
# shell is safe.
#
# Knobs (environment):
#   RAPPORT_PG_BINDIR     directory holding initdb/pg_ctl/... (default: newest
#                         /usr/lib/postgresql/*/bin, else whatever is on PATH)
#   RAPPORT_PG_PORT_BASE  first TCP port to try (default 55432)
#   RAPPORT_PG_CONF       extra lines for postgresql.conf (e.g. to load
#                         pg_stat_statements for a benchmark's diagnosis)
#
# After start_test_postgres these are set: RAPPORT_TEST_POSTGRES_URL
# (exported), RAPPORT_PG_DIR, RAPPORT_PG_DATA, RAPPORT_PG_LOG,
# RAPPORT_PG_SOCKET_DIR, RAPPORT_PG_PORT.

_rapport_pg_log() {
    printf '[postgres] %s\n' "$*" >&2
}

# Prints the directory holding initdb, pg_ctl, pg_isready and psql.
_rapport_pg_bindir() {
    if [[ -n "${RAPPORT_PG_BINDIR:-}" ]]; then
        printf '%s\n' "$RAPPORT_PG_BINDIR"
        return 0
    fi
    local newest
    # Debian/Ubuntu layout; pick the highest major version installed.
    newest=$(
        shopt -s nullglob
        for f in /usr/lib/postgresql/*/bin/initdb; do
            printf '%s\n' "$f"
        done | sort -V | tail -n 1
    )
    if [[ -n "$newest" ]]; then
        dirname "$newest"
        return 0
    fi
    # Other systems (e.g. a developer's Homebrew install): use PATH.
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}

# Runs a command as root: directly when already root, else through sudo.
_rapport_as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        _rapport_pg_log "need root to run: $* (not root and no sudo)"
        return 1
    fi
}

# rapport_apt_install PACKAGE...: apt-get update (once per shell) and install.
_RAPPORT_APT_UPDATED=
rapport_apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        _rapport_pg_log "apt-get not found; please install these packages yourself: $*"
        return 1
    fi
    if [[ -z "$_RAPPORT_APT_UPDATED" ]]; then
        _rapport_pg_log "running: apt-get update"
        _rapport_as_root apt-get update || return 1
        _RAPPORT_APT_UPDATED=1
    fi
    _rapport_pg_log "running: apt-get install -y $*"
    _rapport_as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y "$@" </dev/null
}

# Installs PostgreSQL through apt when no initdb can be found.
ensure_postgres_installed() {
    local bindir
    if bindir=$(_rapport_pg_bindir); then
        _rapport_pg_log "PostgreSQL found in $bindir"
        return 0
    fi
    _rapport_pg_log "PostgreSQL is not installed; installing it with apt-get"
    rapport_apt_install postgresql || {
        _rapport_pg_log "installing PostgreSQL failed"
        return 1
    }
    if ! bindir=$(_rapport_pg_bindir); then
        _rapport_pg_log "PostgreSQL was installed but no initdb was found under /usr/lib/postgresql/*/bin"
        return 1
    fi
    _rapport_pg_log "PostgreSQL installed in $bindir"
}

# Succeeds when something is listening on 127.0.0.1:PORT (or any address).
_rapport_port_in_use() {
    local port=$1
    if command -v ss >/dev/null 2>&1; then
        [[ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]] && return 0
    fi
    # Fallback, and a second opinion: try to connect.
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

# Prints the first free TCP port at or above $1.
_rapport_free_port() {
    local port=$1 last=$(($1 + 1000))
    ((last <= 65535)) || last=65535
    while ((port <= last)); do
        if ! _rapport_port_in_use "$port"; then
            printf '%s\n' "$port"
            return 0
        fi
        port=$((port + 1))
    done
    _rapport_pg_log "no free TCP port found in $1..$last"
    return 1
}

# Runs a command as the user that owns the cluster: `postgres` when we are
# root (PostgreSQL refuses to run as root), else ourselves. Runs from / so the
# server never inherits a working directory it cannot read.
_rapport_pg_run() {
    if [[ $EUID -eq 0 ]]; then
        if command -v runuser >/dev/null 2>&1; then
            (cd / && runuser -u postgres -- "$@")
        else
            local quoted
            quoted=$(printf '%q ' "$@")
            (cd / && su postgres -s /bin/sh -c "$quoted")
        fi
    else
        (cd / && "$@")
    fi
}

_rapport_pg_print_log() {
    if [[ -n "${RAPPORT_PG_LOG:-}" && -f "$RAPPORT_PG_LOG" ]]; then
        _rapport_pg_log "----- server log ($RAPPORT_PG_LOG) -----"
        cat "$RAPPORT_PG_LOG" >&2
        _rapport_pg_log "----- end of server log -----"
    fi
}

# Succeeds while process PID is running. A zombie counts as gone: the
# postmaster is re-parented to PID 1, which may be slow to reap it.
_rapport_pid_alive() {
    local pid=$1 stat
    kill -0 "$pid" 2>/dev/null || return 1
    if stat=$(cat "/proc/$pid/stat" 2>/dev/null); then
        stat=${stat##*) }
        [[ "${stat%% *}" != Z ]]
    fi
}

# Stops the cluster started by start_test_postgres and deletes its directory.
# Safe to call more than once, and when nothing was started.
rapport_pg_cleanup() {
    local dir=${RAPPORT_PG_DIR:-}
    [[ -n "$dir" ]] || return 0
    RAPPORT_PG_DIR=
    local data="$dir/data" bindir pid i
    if [[ -f "$data/postmaster.pid" ]]; then
        _rapport_pg_log "stopping PostgreSQL (port ${RAPPORT_PG_PORT:-?})"
        pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)
        if bindir=$(_rapport_pg_bindir) &&
            _rapport_pg_run "$bindir/pg_ctl" -D "$data" -m immediate -w -t 30 stop \
                >/dev/null 2>&1; then
            :
        elif [[ "$pid" =~ ^[0-9]+$ ]] && _rapport_pid_alive "$pid"; then
            # pg_ctl could not stop it: signal the postmaster directly
            # (SIGQUIT = immediate shutdown; SIGKILL if that is ignored).
            _rapport_pg_log "pg_ctl stop failed; sending SIGQUIT to postmaster $pid"
            kill -QUIT "$pid" 2>/dev/null || true
            for ((i = 0; i < 50; i++)); do
                _rapport_pid_alive "$pid" || break
                sleep 0.1
            done
            if _rapport_pid_alive "$pid"; then
                kill -KILL "$pid" 2>/dev/null || true
            fi
        fi
    fi
    rm -rf -- "$dir"
    _rapport_pg_log "removed $dir"
}

# rapport_chain_exit_trap COMMAND: makes sure COMMAND runs on EXIT, after
# any EXIT trap already set (once, however often this is called).
rapport_chain_exit_trap() {
    local command=$1 existing
    existing=$(trap -p EXIT)
    case "$existing" in
    *"$command"*) return 0 ;;
    esac
    if [[ -n "$existing" ]]; then
        # `trap -p` prints: trap -- 'COMMAND' EXIT; recover COMMAND.
        existing=${existing#"trap -- "}
        existing=${existing%" EXIT"}
        eval "existing=$existing"
        # shellcheck disable=SC2064  # expand the old command now, on purpose
        trap -- "$existing"$'\n'"$command" EXIT
    else
        # shellcheck disable=SC2064
        trap -- "$command" EXIT
    fi
}

# Starts a throwaway PostgreSQL cluster on 127.0.0.1 and exports
# RAPPORT_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:PORT/postgres.
start_test_postgres() {
    local bindir
    if ! bindir=$(_rapport_pg_bindir); then
        _rapport_pg_log "PostgreSQL is not installed (no initdb); run ensure_postgres_installed first"
        return 1
    fi
    if [[ -n "${RAPPORT_PG_DIR:-}" ]]; then
        _rapport_pg_log "a test cluster is already running in $RAPPORT_PG_DIR"
        return 1
    fi

    if [[ $EUID -eq 0 ]] && ! id -u postgres >/dev/null 2>&1; then
        _rapport_pg_log "running as root, but there is no 'postgres' user to run the server as"
        return 1
    fi

    # A short path: the unix socket path must stay under ~100 bytes, and as
    # root the postgres user must be able to reach it.
    local base=${TMPDIR:-/tmp}
    if ((${#base} > 60)) || [[ ! -d "$base" ]]; then
        base=/tmp
    fi
    local dir
    dir=$(mktemp -d "$base/rapport-pg.XXXXXX") || return 1
    RAPPORT_PG_DIR=$dir
    RAPPORT_PG_DATA=$dir/data
    RAPPORT_PG_LOG=$dir/postgres.log
    RAPPORT_PG_SOCKET_DIR=$dir/socket
    # Register cleanup before anything can fail half-way.
    rapport_chain_exit_trap rapport_pg_cleanup

    mkdir -p "$RAPPORT_PG_SOCKET_DIR"
    : >"$RAPPORT_PG_LOG"
    if [[ $EUID -eq 0 ]]; then
        chown -R postgres: "$dir"
        if ! runuser -u postgres -- test -w "$dir" 2>/dev/null; then
            _rapport_pg_log "user postgres cannot write to $dir (is $base traversable by others?)"
            rapport_pg_cleanup
            return 1
        fi
    fi

    _rapport_pg_log "initdb in $RAPPORT_PG_DATA ($("$bindir/postgres" --version 2>/dev/null || echo "$bindir"))"
    if ! _rapport_pg_run "$bindir/initdb" -D "$RAPPORT_PG_DATA" -A trust -U postgres \
        --encoding=UTF8 --locale=C --no-sync >>"$RAPPORT_PG_LOG" 2>&1; then
        _rapport_pg_log "initdb failed"
        _rapport_pg_print_log
        rapport_pg_cleanup
        return 1
    fi

    # Server settings. The port is given on the command line (it may change
    # between attempts). fsync stays on: only initdb skips syncing.
    cat >>"$RAPPORT_PG_DATA/postgresql.conf" <<EOF

# --- added by scripts/lib/postgres.sh ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$RAPPORT_PG_SOCKET_DIR'
max_connections = 200
fsync = on
logging_collector = off
log_min_messages = warning
${RAPPORT_PG_CONF:-}
EOF

    # Find a free port and start. Another process may grab the port between
    # the check and the bind, so retry on "address in use" with the next one.
    local port=${RAPPORT_PG_PORT_BASE:-55432} attempt started=
    for attempt in 1 2 3 4 5; do
        port=$(_rapport_free_port "$port") || break
        _rapport_pg_log "starting PostgreSQL on 127.0.0.1:$port (attempt $attempt, log: $RAPPORT_PG_LOG)"
        if _rapport_pg_run "$bindir/pg_ctl" -D "$RAPPORT_PG_DATA" -l "$RAPPORT_PG_LOG" \
            -o "-p $port" -w -t 60 start >/dev/null; then
            started=1
            break
        fi
        if grep -qE 'could not bind|Address already in use|could not create any TCP/IP sockets' \
            "$RAPPORT_PG_LOG"; then
            _rapport_pg_log "port $port was taken; trying another"
            : >"$RAPPORT_PG_LOG"
            port=$((port + 1))
            continue
        fi
        break
    done
    RAPPORT_PG_PORT=$port
    if [[ -z "$started" ]]; then
        _rapport_pg_log "PostgreSQL failed to start"
        _rapport_pg_print_log
        rapport_pg_cleanup
        return 1
    fi

    # pg_ctl -w already waited; make sure TCP connections are accepted too.
    local i
    for ((i = 0; i < 60; i++)); do
        if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -t 2; then
            break
        fi
        sleep 0.5
    done
    if ((i == 60)); then
        _rapport_pg_log "PostgreSQL started but does not accept connections on 127.0.0.1:$port"
        _rapport_pg_print_log
        rapport_pg_cleanup
        return 1
    fi

    export RAPPORT_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
    _rapport_pg_log "ready: RAPPORT_TEST_POSTGRES_URL=$RAPPORT_TEST_POSTGRES_URL"
}
