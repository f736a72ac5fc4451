#!/usr/bin/env bash
#
# bench/write-path.sh: the one command that produces the write-path figures
# for docs/benchmarks.md.
#
# It builds the server and the load generator, measures the raw fsync rate of
# a scratch directory, then for SQLite and for PostgreSQL (a throwaway cluster
# from scripts/lib/postgres.sh, in the same scratch directory) starts
# `rapport serve` on a free loopback port, bootstraps a workspace, runs
# `rapport-bench messages` against it and stops it. After the SQLite run it
# measures the raw limit: `rapport-bench raw-writes` writes the rows the
# run's messages wrote (copies, fresh ids) straight into the same database
# with prepared statements, as many messages per transaction as the
# server's group commits carried in the run (the median of the server's
# `rapport_store::group_commit` debug lines), for RAW_SECONDS. It ends by
# printing a markdown table (stdout) to paste into docs/benchmarks.md;
# progress goes to stderr. All traffic stays on 127.0.0.1; everything started is stopped and
# every scratch file removed on exit.
#
# Knobs (environment):
#   CLIENTS        concurrent clients (default 64)
#   DURATION       measured time per backend (default 20s)
#   WARMUP         unmeasured time before it (default 3s)
#   CONTACTS       contacts to send to (default 1000)
#   FSYNC_SECONDS  length of the fsync probe (default 5)
#   RAW_SECONDS    length of the raw-limit writes (default 10)
#   BACKENDS       which to run (default "sqlite postgres")
#   BENCH_PROFILE  release (default) or debug: debug only checks the script,
#                  its figures mean nothing
#   server_bin     if set, another build's `rapport` binary serves the runs
#                  (to compare with this build; the load generator and the
#                  raw limit stay this build's)
#   TMPDIR         where the scratch directory goes; it must be on the disk
#                  under test (not tmpfs)
#   PROFILE_DIR    if set, the server is recorded with `perf record` (99 Hz,
#                  DWARF call graphs) while the load runs, into this
#                  directory, and drawn as a flame graph (LABEL-write-path.svg)
#                  when inferno's inferno-collapse-perf and
#                  inferno-flamegraph are on PATH

set -euo pipefail
# Decimal points in printf and in the JSON we parse, whatever the locale.
export LC_ALL=C

CLIENTS=${CLIENTS:-64}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-3s}
CONTACTS=${CONTACTS:-1000}
FSYNC_SECONDS=${FSYNC_SECONDS:-5}
RAW_SECONDS=${RAW_SECONDS:-10}
BACKENDS=${BACKENDS:-sqlite postgres}
BENCH_PROFILE=${BENCH_PROFILE:-release}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib/postgres.sh
source scripts/lib/postgres.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh

# The script chooses the database itself; a caller's setting must not leak in.
unset DATABASE_URL RAPPORT_DATA_DIR

# --- cleanup ----------------------------------------------------------------

work=
server_pid=
child_pid=

# Runs a command in the background and waits for it, so that a signal to this
# script is handled at once rather than when the command ends; cleanup stops
# the command.
run_child() {
    local status=0
    "$@" &
    child_pid=$!
    wait "$child_pid" || status=$?
    child_pid=
    return "$status"
}

cleanup() {
    if [[ -n "$child_pid" ]]; then
        kill -TERM "$child_pid" 2>/dev/null || true
        wait "$child_pid" 2>/dev/null || true
    fi
    stop_server
    # The PostgreSQL cluster lives under $work: stop it before deleting.
    rapport_pg_cleanup
    if [[ -n "$work" ]]; then
        rm -rf -- "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- helpers ----------------------------------------------------------------

# run_backend LABEL DATABASE-FLAGS...: serves on the database the flags name,
# bootstraps a workspace, runs the load and stops the server. The result is
# left in $work/LABEL.json.
run_backend() {
    local label=$1 port url bootstrap token
    shift
    port=$(free_port 18080)
    url=http://127.0.0.1:$port
    log "$label: starting rapport serve on $url (log: $work/$label-server.log)"
    # From $work, so that no ./rapport.toml of the caller's is picked up.
    # The group commits' sizes are logged (at debug) for the raw limit.
    (cd "$work" && RUST_LOG=${SERVER_RUST_LOG:-warn,rapport_store::group_commit=debug} \
        exec "${server_bin:-$bin/rapport}" "$@" serve --listen "127.0.0.1:$port") \
        >"$work/$label-server.log" 2>&1 &
    server_pid=$!
    if ! wait_healthy "$url"; then
        log "$label: the server did not become healthy; its log:"
        cat "$work/$label-server.log" >&2
        return 1
    fi

    bootstrap=$(cd "$work" && "${server_bin:-$bin/rapport}" "$@" admin bootstrap \
        --workspace "Bench $label" --email "bench@example.com" --password "bench-password")
    token=$(sed -n 's/.*"api_token": *"\([^"]*\)".*/\1/p' <<<"$bootstrap")
    if [[ -z "$token" ]]; then
        log "$label: no api_token in the bootstrap output: $bootstrap"
        return 1
    fi

    log "$label: $CLIENTS clients, warmup $WARMUP, measuring $DURATION"
    profile_start "$label-write-path"
    RAPPORT_BENCH_TOKEN=$token run_child "$bin/rapport-bench" messages --url "$url" \
        --clients "$CLIENTS" --duration "$DURATION" --warmup "$WARMUP" \
        --contacts "$CONTACTS" --json >"$work/$label.json"
    profile_stop
    stop_server
    profile_draw "$label-write-path" "Write path, $CLIENTS clients, $label"
}

# Prints the median writes per group commit in the server log of LABEL
# (one figure per logged interval), rounded; 1 if none was logged.
commit_batch() {
    local sizes
    # The log's colours off first.
    sizes=$(sed -e 's/\x1b\[[0-9;]*m//g' "$work/$1-server.log" |
        sed -n 's/.*group commits.*commits=\([0-9]*\).*writes=\([0-9]*\).*/\1 \2/p' |
        awk '$1 > 0 { print $2 / $1 }')
    if [[ -z "$sizes" ]]; then
        echo 1
    else
        median <<<"$sizes" | awk '{ v = int($1 + 0.5); print (v < 1 ? 1 : v) }'
    fi
}

# Prints one markdown table row from $work/LABEL.json.
table_row() {
    local name=$1 file=$work/$2.json
    printf '| %s | %s | %.0f | %.1f | %.1f | %s |\n' "$name" \
        "$(json_number "$file" clients)" "$(json_number "$file" messages_per_s)" \
        "$(json_number "$file" p50_ms)" "$(json_number "$file" p99_ms)" \
        "$(json_number "$file" errors)"
}

# --- build ------------------------------------------------------------------

case "$BENCH_PROFILE" in
release) cargo build --release -p rapport-server -p rapport-bench ;;
debug) cargo build -p rapport-server -p rapport-bench ;;
*)
    log "BENCH_PROFILE must be release or debug, not $BENCH_PROFILE"
    exit 2
    ;;
esac
bin=${CARGO_TARGET_DIR:-$root/target}/$BENCH_PROFILE
if [[ "$BENCH_PROFILE" != release ]]; then
    log "WARNING: $BENCH_PROFILE build: these figures only check the script"
fi

# --- the run ----------------------------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/rapport-bench.XXXXXX")
# As root, the PostgreSQL cluster under it runs as the postgres user.
chmod 755 "$work"
fs_type=$(df --output=fstype "$work" | tail -n 1)
if [[ "$fs_type" == tmpfs || "$fs_type" == ramfs ]]; then
    log "WARNING: $work is on $fs_type: fsync costs nothing there; set TMPDIR to a directory on disk"
fi

log "fsync probe: ${FSYNC_SECONDS}s in $work ($fs_type)"
run_child "$bin/rapport-bench" fsync --dir "$work" --seconds "$FSYNC_SECONDS" --json >"$work/fsync.json"

rows=()
pg_version=
raw_line=
for backend in $BACKENDS; do
    case "$backend" in
    sqlite)
        run_backend sqlite --data-dir "$work/sqlite"
        rows+=("$(table_row SQLite sqlite)")
        batch=$(commit_batch sqlite)
        log "raw limit: the run's rows straight into its database, $batch per transaction, ${RAW_SECONDS}s"
        run_child "$bin/rapport-bench" raw-writes --db "$work/sqlite/rapport.db" --batch "$batch" \
            --duration "${RAW_SECONDS}s" --json >"$work/raw.json"
        raw_line=$(printf 'Raw limit (SQLite): the same rows straight into the database, %s messages per transaction (the median group commit of the run): **%.0f messages/s**; the server reached **%.2f** of it.\n' \
            "$batch" "$(json_number "$work/raw.json" messages_per_s)" \
            "$(awk -v s="$(json_number "$work/sqlite.json" messages_per_s)" -v r="$(json_number "$work/raw.json" messages_per_s)" 'BEGIN { print s / r }')")
        ;;
    postgres)
        ensure_postgres_installed
        # The cluster goes in $work too: the same disk as the fsync probe.
        TMPDIR=$work start_test_postgres
        psql "$RAPPORT_TEST_POSTGRES_URL" -v ON_ERROR_STOP=1 -q -c 'CREATE DATABASE rapport_bench'
        pg_version=$(psql "$RAPPORT_TEST_POSTGRES_URL" -Atc 'SHOW server_version')
        run_backend postgres --database-url "${RAPPORT_TEST_POSTGRES_URL%/*}/rapport_bench"
        rows+=("$(table_row "PostgreSQL ${pg_version%% *}" postgres)")
        rapport_pg_cleanup
        ;;
    *)
        log "unknown backend '$backend' in BACKENDS (use sqlite, postgres)"
        exit 2
        ;;
    esac
done

# --- the report (stdout) ----------------------------------------------------

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
printf '\n'
# shellcheck disable=SC2016 # the backticks are markdown
printf 'Write path: `bench/write-path.sh` (%s build), %s clients, %s measured after %s warmup, %s contacts.\n\n' \
    "$BENCH_PROFILE" "$CLIENTS" "$DURATION" "$WARMUP" "$CONTACTS"
printf '| backend | clients | messages/s | p50 ms | p99 ms | errors |\n'
printf '| --- | --- | --- | --- | --- | --- |\n'
printf '%s\n' "${rows[@]}"
printf '\n'
[[ -z "$raw_line" ]] || printf '%s\n' "$raw_line"
printf 'Raw fsync rate (4 KiB write + fdatasync, same %s file system): %.0f/s (mean %.0f µs).\n' \
    "$fs_type" "$(json_number "$work/fsync.json" fsyncs_per_s)" "$(json_number "$work/fsync.json" mean_us)"
printf 'Machine: %s cores (%s), Linux %s, %s. The load generator runs on the same cores as the server.\n' \
    "$(nproc)" "${cpu:-unknown CPU}" "$(uname -r)" "$(date -u '+%Y-%m-%d %H:%M UTC')"
