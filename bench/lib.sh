# shellcheck shell=bash
#
# Helpers for the bench scripts: logging, free ports, waiting for a server,
# and starting and stopping `rapport serve`. Every bench script sources
# it; the functions read `work` (the scratch directory), `bin` (where the
# binaries are), `port` and `server_pid` when they are called.

log() {
    printf '[bench] %s\n' "$*" >&2
}

# Stops process $1 (TERM, then KILL after 10 s), if it still runs.
stop_pid() {
    local pid=$1 i
    [[ -n "$pid" ]] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Prints the first TCP port at or above $1 that nothing listens on.
free_port() {
    local port=$1
    while [[ -n "$(ss -Hltn "sport = :$port")" ]]; do
        port=$((port + 1))
    done
    printf '%s\n' "$port"
}

# Prints the string after "KEY": in JSON text on stdin (one object, any layout).
json_string() {
    tr -d '\n' | sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p"
}

# Prints the number after "KEY": in the one-line JSON object in FILE.
json_number() {
    sed -n "s/.*\"$2\":\([-0-9.e+]*\).*/\1/p" "$1"
}

# Prints the number after "KEY": in JSON text on stdin (one object, any layout).
json_field_number() {
    tr -d '\n' | sed -n "s/.*\"$1\": *\([-0-9.e+]*\).*/\1/p"
}

# Waits until URL/healthz answers 200 while the server ($server_pid) still
# runs.
wait_healthy() {
    local url=$1 i
    for ((i = 0; i < 600; i++)); do
        if curl -fsS --max-time 2 -o /dev/null "$url/healthz" 2>/dev/null; then
            return 0
        fi
        kill -0 "$server_pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# start_server NAME ARGS...: `rapport ARGS... serve` on $port, from $work,
# output appended to $work/NAME.log; sets server_pid and waits for /healthz.
# The server logs at `warn`, or at SERVER_RUST_LOG when set (for example
# `warn,sqlx=debug` to time every statement). The binary is $bin/rapport,
# or $server_bin when set (another build, to compare with).
#
# With HEAPTRACK=1 every server runs under heaptrack's allocation recorder
# (build with SERVER_FEATURES=--no-default-features: it sees the C
# library's malloc, not jemalloc), its record in $work/NAME.N.heaptrack.gz,
# and stop_server kills it at once: what the record shows still allocated
# is then what the server held when it was stopped, not what a shutdown
# left. `heaptrack_print -f FILE --print-leaks 1` reads it.
start_server() {
    local name=$1
    shift
    server_preload "$name"
    (cd "$work" && RUST_LOG=${SERVER_RUST_LOG:-warn} exec "${preload[@]}" "${server_bin:-$bin/rapport}" "$@" serve \
        --listen "127.0.0.1:$port") >>"$work/$name.log" 2>&1 &
    server_pid=$!
    if ! wait_healthy "http://127.0.0.1:$port"; then
        log "the server did not become healthy; its log:"
        cat "$work/$name.log" >&2
        return 1
    fi
}

stop_server() {
    local pid=${server_pid:-}
    server_pid=
    if [[ ${HEAPTRACK:-0} == 1 && -n "$pid" ]]; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        # The recorder's interpreter finishes the file once the pipe closes.
        sleep 2
        return 0
    fi
    stop_pid "$pid"
}

# Sets `preload` to what the server NAME's command starts with: nothing,
# or with HEAPTRACK=1 heaptrack's recorder (see start_server).
server_preload() {
    preload=()
    if [[ ${HEAPTRACK:-0} == 1 ]]; then
        preload=(env "LD_PRELOAD=$(heaptrack_lib)/libheaptrack_preload.so"
            "DUMP_HEAPTRACK_OUTPUT=$(heaptrack_pipe "$1")")
    fi
}

# Where heaptrack keeps its preload library and interpreter.
heaptrack_lib() {
    local exe
    exe=$(command -v heaptrack) || {
        log "HEAPTRACK=1 needs heaptrack (apt-get install heaptrack)"
        return 1
    }
    printf '%s\n' "$(dirname "$(readlink -f "$exe")")/../lib/heaptrack"
}

# Makes a pipe for a server's allocation record and starts heaptrack's
# interpreter on it, writing $work/NAME.N.heaptrack.gz; prints the pipe.
heaptrack_pipe() {
    local name=$1 n=0 pipe
    while [[ -e "$work/$name.$n.heaptrack.gz" ]]; do n=$((n + 1)); done
    pipe="$work/$name.$n.heaptrack.pipe"
    mkfifo "$pipe"
    ("$(heaptrack_lib)/libexec/heaptrack_interpret" <"$pipe" | gzip -c >"$work/$name.$n.heaptrack.gz"
        rm -f "$pipe") >/dev/null 2>&1 &
    printf '%s\n' "$pipe"
}

# db_scalar SQL: the answer of the bench's database (`db`, set by
# on_backend) to one query.
db_scalar() {
    if [[ ${db[0]} == sqlite3 ]]; then "${db[@]}" "$1"; else "${db[@]}" -c "$1"; fi
}

# on_backend BACKEND FUNCTION [ARGS...]: calls FUNCTION LABEL [ARGS...]
# DATABASE-FLAGS... on a fresh database of BACKEND, with `db` set to a
# client of it (for db_scalar): SQLite in $work/sqlite, or PostgreSQL in a
# throwaway cluster under $work (scripts/lib/postgres.sh, sourced by the
# caller), database rapport_bench, stopped afterwards. Exits 2 for an
# unknown backend.
on_backend() {
    local backend=$1 fn=$2 pg_url
    shift 2
    case "$backend" in
    sqlite)
        rm -rf -- "$work/sqlite"
        db=(sqlite3 -batch "$work/sqlite/rapport.db")
        "$fn" sqlite "$@" --data-dir "$work/sqlite"
        ;;
    postgres)
        ensure_postgres_installed
        TMPDIR=$work start_test_postgres
        psql "$RAPPORT_TEST_POSTGRES_URL" -v ON_ERROR_STOP=1 -q -c 'CREATE DATABASE rapport_bench'
        pg_url=${RAPPORT_TEST_POSTGRES_URL%/*}/rapport_bench
        db=(psql -Atq -v ON_ERROR_STOP=1 -d "$pg_url")
        "$fn" postgres "$@" --database-url "$pg_url"
        rapport_pg_cleanup
        ;;
    *)
        log "unknown backend '$backend' in BACKENDS (use sqlite, postgres)"
        exit 2
        ;;
    esac
}

# Prints the median of the numbers on stdin, one per line.
median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# profile_start NAME: when PROFILE_DIR is set, records the server
# ($server_pid) with perf (99 Hz, DWARF call graphs: release builds have no
# frame pointers) into $PROFILE_DIR/NAME.data until profile_stop; sets
# profile_pid (empty when not recording).
profile_start() {
    profile_pid=
    [[ -n "${PROFILE_DIR:-}" ]] || return 0
    mkdir -p "$PROFILE_DIR"
    perf record -q -F 99 --call-graph dwarf,16384 -p "$server_pid" \
        -o "$PROFILE_DIR/$1.data" 2>>"$work/perf.log" &
    profile_pid=$!
}

# profile_stop: ends the recording profile_start began, if any.
profile_stop() {
    [[ -n "${profile_pid:-}" ]] || return 0
    kill -INT "$profile_pid" 2>/dev/null || true
    wait "$profile_pid" 2>/dev/null || true
}

# profile_draw NAME TITLE: draws $PROFILE_DIR/NAME.data as the flame graph
# $PROFILE_DIR/NAME.svg when there is a recording and inferno's tools are
# on PATH.
profile_draw() {
    [[ -n "${profile_pid:-}" ]] || return 0
    command -v inferno-flamegraph >/dev/null || return 0
    perf script -i "$PROFILE_DIR/$1.data" 2>/dev/null | inferno-collapse-perf |
        inferno-flamegraph --minwidth 1 --title "$2" >"$PROFILE_DIR/$1.svg"
}
