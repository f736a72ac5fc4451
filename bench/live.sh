#!/usr/bin/env bash
#
# bench/live.sh: the one command that produces the live-delivery figures for
# docs/benchmarks.md: connection density (server memory per idle widget
# socket) and fan-out latency (POST /api/v1/messages to the widget socket),
# for Rapport and, measured the same way, for a socket.io 4 server
# (bench/socketio/).
#
# It builds the server and the load generator, installs bench/socketio's
# locked npm packages, raises the open-file limit as far as the hard limit
# allows, then runs, one after another, each on a fresh server on a free
# loopback port:
#   1. Rapport idle density: `rapport-bench idle` holds CONNECTIONS widget
#      sockets (from 127.0.0.2..127.0.0.250) and reads the server's VmRSS;
#   2. socket.io idle density: `node load.js idle`, the same steps;
#   3. Rapport fan-out: `rapport-bench fanout`, RATE messages/s to VISITORS
#      open widgets;
#   4. socket.io fan-out: `node load.js fanout`, the same.
# Rapport runs on SQLite in a fresh data directory each time (bootstrapped
# with `rapport admin bootstrap`), with RUST_LOG=warn,
# RAPPORT_MAX_CONNECTIONS=19000 and the widget's per-IP rate limits off
# (RAPPORT_WIDGET_REQUESTS_PER_SECOND_PER_IP=0). It ends by printing
# markdown tables (stdout) to paste into docs/benchmarks.md; progress goes
# to stderr. All traffic stays on 127.0.0.0/8; everything started is stopped
# and every scratch file removed on exit; each load run is cut off after a
# time limit.
#
# Knobs (environment):
#   CONNECTIONS    idle sockets (default 15000; lowered to fit the open-file
#                  limit, with a warning)
#   HOLD           how long the idle sockets stay open (default 30s)
#   SETTLE         idle time before each memory reading (default 5s)
#   VISITORS       open widgets in the fan-out runs (default 200)
#   RATE           messages/s in the fan-out runs (default 1000)
#   DURATION       measured fan-out time (default 20s)
#   WARMUP         unmeasured fan-out time before it (default 2s)
#   CLIENTS        sends in flight at most (default 64)
#   RUNS           which to run (default "rapport-idle socketio-idle
#                  rapport-fanout socketio-fanout")
#   BENCH_PROFILE  release (default) or debug: debug only checks the script,
#                  its figures mean nothing
#   server_bin     if set, another build's `rapport` binary serves Rapport's
#                  runs (to compare with this build; the load generator
#                  stays this build's)
#   TMPDIR         where the scratch directory goes

set -euo pipefail
# Decimal points in printf and in the JSON we parse, whatever the locale.
export LC_ALL=C

CONNECTIONS=${CONNECTIONS:-15000}
HOLD=${HOLD:-30s}
SETTLE=${SETTLE:-5s}
VISITORS=${VISITORS:-200}
RATE=${RATE:-1000}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-2s}
CLIENTS=${CLIENTS:-64}
RUNS=${RUNS:-rapport-idle socketio-idle rapport-fanout socketio-fanout}
BENCH_PROFILE=${BENCH_PROFILE:-release}
# The cap on a load run (seconds): booting, opening, holding and closing
# 15,000 sockets takes about two minutes.
IDLE_LIMIT=${IDLE_LIMIT:-900}
FANOUT_LIMIT=${FANOUT_LIMIT:-300}
# Open files kept for everything but the sockets (database, logs, pools).
SPARE_FILES=500

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=bench/lib.sh
source bench/lib.sh

# The script chooses the database itself; a caller's setting must not leak in.
unset DATABASE_URL RAPPORT_DATA_DIR RAPPORT_CONFIG

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
    if [[ -n "$work" ]]; then
        rm -rf -- "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- helpers ----------------------------------------------------------------

# Starts `rapport serve` on SQLite in a fresh $work/LABEL-data and
# bootstraps a workspace; sets url, app_id and token.
start_rapport() {
    local label=$1 port bootstrap data=$work/$1-data
    port=$(free_port 18080)
    url=http://127.0.0.1:$port
    log "$label: starting rapport serve on $url (log: $work/$label-server.log)"
    # From $work, so that no ./rapport.toml of the caller's is picked up.
    # All the load comes from 127.0.0.0/8, as if through one proxy: the
    # widget's per-IP rate limits (which would refuse the 15,000 boots) are
    # turned off. An older server ignores the setting.
    (cd "$work" && RUST_LOG=warn RAPPORT_MAX_CONNECTIONS=19000 RAPPORT_WIDGET_REQUESTS_PER_SECOND_PER_IP=0 \
        exec "${server_bin:-$bin/rapport}" --data-dir "$data" serve --listen "127.0.0.1:$port") \
        >"$work/$label-server.log" 2>&1 &
    server_pid=$!
    if ! wait_healthy "$url"; then
        log "$label: the server did not become healthy; its log:"
        cat "$work/$label-server.log" >&2
        return 1
    fi
    bootstrap=$(cd "$work" && "${server_bin:-$bin/rapport}" --data-dir "$data" admin bootstrap \
        --workspace Bench --email b@bench.test --password 'long enough')
    app_id=$(json_string app_id <<<"$bootstrap")
    token=$(json_string api_token <<<"$bootstrap")
    if [[ -z "$app_id" || -z "$token" ]]; then
        log "$label: no app_id or api_token in the bootstrap output: $bootstrap"
        return 1
    fi
}

# Starts bench/socketio/server.js on a free port; sets url.
start_socketio() {
    local label=$1 port i
    port=$(free_port 18090)
    url=http://127.0.0.1:$port
    log "$label: starting the socket.io server on $url (log: $work/$label-server.log)"
    (cd bench/socketio && exec node server.js --port "$port") >"$work/$label-server.log" 2>&1 &
    server_pid=$!
    for ((i = 0; i < 100; i++)); do
        if grep -qs "\"pid\":$server_pid," "$work/$label-server.log"; then
            return 0
        fi
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    log "$label: the socket.io server did not start; its log:"
    cat "$work/$label-server.log" >&2
    return 1
}

# One run: LABEL is rapport-idle, socketio-idle, rapport-fanout or
# socketio-fanout; its JSON report is left in $work/LABEL.json.
run() {
    local label=$1
    case "$label" in
    rapport-idle)
        start_rapport "$label"
        log "$label: $CONNECTIONS idle widget sockets, held $HOLD"
        run_child timeout "$IDLE_LIMIT" "$bin/rapport-bench" idle --url "$url" --app-id "$app_id" \
            --connections "$CONNECTIONS" --hold "$HOLD" --settle "$SETTLE" \
            --server-pid "$server_pid" --json >"$work/$label.json"
        ;;
    socketio-idle)
        start_socketio "$label"
        log "$label: $CONNECTIONS idle socket.io sockets, held $HOLD"
        run_child timeout "$IDLE_LIMIT" node --max-old-space-size=8192 bench/socketio/load.js idle \
            --url "$url" --connections "$CONNECTIONS" --hold "$HOLD" --settle "$SETTLE" \
            --server-pid "$server_pid" --json >"$work/$label.json"
        ;;
    rapport-fanout)
        start_rapport "$label"
        log "$label: $RATE messages/s to $VISITORS widgets, $WARMUP warmup, $DURATION measured"
        RAPPORT_BENCH_TOKEN=$token run_child timeout "$FANOUT_LIMIT" "$bin/rapport-bench" fanout \
            --url "$url" --app-id "$app_id" --visitors "$VISITORS" --rate "$RATE" \
            --duration "$DURATION" --warmup "$WARMUP" --clients "$CLIENTS" --json >"$work/$label.json"
        ;;
    socketio-fanout)
        start_socketio "$label"
        log "$label: $RATE messages/s to $VISITORS sockets, $WARMUP warmup, $DURATION measured"
        run_child timeout "$FANOUT_LIMIT" node bench/socketio/load.js fanout --url "$url" \
            --visitors "$VISITORS" --rate "$RATE" --duration "$DURATION" --warmup "$WARMUP" \
            --clients "$CLIENTS" --json >"$work/$label.json"
        ;;
    *)
        log "unknown run '$label' in RUNS"
        exit 2
        ;;
    esac
    stop_server
}

# Prints a density table row from $work/LABEL.json, or nothing if not run.
idle_row() {
    local name=$1 file=$work/$2.json
    [[ -s "$file" ]] || return 0
    printf '| %s | %s | %.1f | %.1f | %.1f | **%.2f** | %.2f | %.1f | %s | %.1f |\n' "$name" \
        "$(json_number "$file" connected)" \
        "$(awk "BEGIN { print $(json_number "$file" rss_before_kib) / 1024 }")" \
        "$(awk "BEGIN { print $(json_number "$file" rss_after_kib) / 1024 }")" \
        "$(awk "BEGIN { print $(json_number "$file" rss_end_kib) / 1024 }")" \
        "$(json_number "$file" kib_per_connection)" "$(json_number "$file" anon_kib_per_connection)" \
        "$(json_number "$file" slab_kib_per_connection)" \
        "$(($(json_number "$file" failed) + $(json_number "$file" dropped)))" \
        "$(json_number "$file" open_s)"
}

# Prints a fan-out table row from $work/LABEL.json, or nothing if not run.
fanout_row() {
    local name=$1 file=$work/$2.json
    [[ -s "$file" ]] || return 0
    printf '| %s | %s | %.0f | %.1f | **%.1f** | %.1f | %s | %s | %.1f / %.1f |\n' "$name" \
        "$(json_number "$file" visitors)" "$(json_number "$file" achieved_per_s)" \
        "$(json_number "$file" p50_ms)" "$(json_number "$file" p99_ms)" \
        "$(json_number "$file" max_ms)" "$(json_number "$file" lost)" \
        "$(json_number "$file" errors)" \
        "$(json_number "$file" post_p50_ms)" "$(json_number "$file" post_p99_ms)"
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
if [[ ! -f bench/socketio/node_modules/.package-lock.json ||
    bench/socketio/package-lock.json -nt bench/socketio/node_modules/.package-lock.json ]]; then
    log "installing bench/socketio's npm packages (npm ci)"
    (cd bench/socketio && npm ci --no-audit --no-fund --loglevel=error) >&2
fi
socketio_version=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' \
    bench/socketio/node_modules/socket.io/package.json | head -n 1)

# --- open files -------------------------------------------------------------

# Every socket is a file in the load generator and another in the server
# (separate processes, each with this limit).
hard=$(ulimit -Hn)
if [[ "$hard" == unlimited ]]; then
    hard=1048576
fi
if (($(ulimit -Sn) < hard)); then
    ulimit -Sn "$hard"
fi
files=$(ulimit -Sn)
if ((CONNECTIONS + SPARE_FILES > files)); then
    log "WARNING: the open-file limit is $files: $CONNECTIONS sockets do not fit; using $((files - SPARE_FILES))"
    CONNECTIONS=$((files - SPARE_FILES))
fi
log "open-file limit: $files (hard $hard); $CONNECTIONS idle connections"

# --- the runs ---------------------------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/rapport-live.XXXXXX")
for label in $RUNS; do
    run "$label"
done

# --- the report (stdout) ----------------------------------------------------

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
command="bench/live.sh"
printf '\n'
# shellcheck disable=SC2016 # the backticks are markdown
printf 'Live delivery: `%s` (%s build); open-file limit %s.\n\n' "$command" "$BENCH_PROFILE" "$files"
if [[ -s "$work/rapport-idle.json" || -s "$work/socketio-idle.json" ]]; then
    printf 'Connection density: %s idle widget sockets from 127.0.0.2-250, held %s; server RSS (VmRSS) read before opening, %s after the last opened (KiB per connection = the difference / connections) and at the end of the hold.\n\n' \
        "$CONNECTIONS" "$HOLD" "$SETTLE"
    printf '| server | idle connections | RSS before (MiB) | RSS after (MiB) | RSS at the end (MiB) | KiB per connection | of it anonymous | kernel slab KiB per connection* | failed or dropped | open time (s) |\n'
    printf '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n'
    idle_row "Rapport (SQLite)" rapport-idle
    idle_row "socket.io $socketio_version (Node $(node --version))" socketio-idle
    printf '\n'
    # shellcheck disable=SC2016 # the backticks are markdown
    printf '*System-wide `Slab` of /proc/meminfo, both ends of each loopback connection, other processes included: rough.\n\n'
fi
if [[ -s "$work/rapport-fanout.json" || -s "$work/socketio-fanout.json" ]]; then
    printf 'Fan-out: %s messages/s to %s open widgets, %s measured after %s warmup; latency from the POST starting to the frame arriving.\n\n' \
        "$RATE" "$VISITORS" "$DURATION" "$WARMUP"
    printf '| server | widgets | messages/s sent | p50 ms | p99 ms | max ms | lost | errors | POST p50 / p99 ms |\n'
    printf '| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n'
    fanout_row "Rapport (SQLite, durable)" rapport-fanout
    fanout_row "socket.io $socketio_version (relay, nothing stored)" socketio-fanout
    printf '\n'
fi
printf 'Machine: %s cores (%s), %s GiB, Linux %s, %s. The load generators run on the same cores as the server.\n' \
    "$(nproc)" "${cpu:-unknown CPU}" "$(awk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)" \
    "$(uname -r)" "$(date -u '+%Y-%m-%d %H:%M UTC')"
