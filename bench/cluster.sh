#!/usr/bin/env bash
#
# bench/cluster.sh: the one command that produces the "several servers"
# figures for docs/benchmarks.md: one `rapport serve` against two and three
# on one PostgreSQL database, and one server with `cluster = false` (no
# notifications, no shared presence) beside them as the baseline.
#
# It builds the server and the load generator, starts a throwaway
# PostgreSQL cluster (scripts/lib/postgres.sh), then RUNS times, for each
# shape in SHAPES, on a fresh database:
#   1. starts the shape's servers on free loopback ports, bootstraps a
#      workspace;
#   2. `rapport-bench messages`: CLIENTS clients sending back to back,
#      spread over the servers round-robin (durable messages/s, latency);
#   3. `rapport-bench fanout`: VISITORS widgets spread over the servers,
#      RATE messages/s, each sent through a different server than the one
#      its widget is on (so every delivery crosses servers when there are
#      several): delivery latency from the POST to the widget's frame;
#   4. stops the servers.
# It prints markdown tables (stdout): every run, then per shape the medians
# and the ratio to the one-server baseline measured in the same run.
# Progress goes to stderr. All traffic stays on 127.0.0.1; everything
# started is stopped and every scratch file removed on exit.
#
# The servers, the database and the load generators share this machine's
# cores: the figures show what sharing costs (notifications, presence,
# every server reading each new entry), not what more machines would add.
#
# Knobs (environment):
#   SHAPES     which to run: solo (one server, cluster off), 1, 2, 3
#              (default "solo 1 2 3")
#   RUNS       rounds of every shape (default 3)
#   CLIENTS    messages' concurrent clients (default 64)
#   DURATION   measured time of each load (default 15s)
#   WARMUP     unmeasured time before it (default 3s)
#   CONTACTS   contacts the messages go to (default 1000)
#   VISITORS   open widgets in the fanout (default 200)
#   RATE       fanout messages/s (default 500)
#   TMPDIR     where the scratch directory (and the database) goes

set -euo pipefail
export LC_ALL=C

SHAPES=${SHAPES:-solo 1 2 3}
RUNS=${RUNS:-3}
CLIENTS=${CLIENTS:-64}
DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-3s}
CONTACTS=${CONTACTS:-1000}
VISITORS=${VISITORS:-200}
RATE=${RATE:-500}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib/postgres.sh
source scripts/lib/postgres.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh

unset DATABASE_URL RAPPORT_DATA_DIR RAPPORT_CONFIG

work=
pids=()

stop_servers() {
    local pid
    for pid in "${pids[@]}"; do
        stop_pid "$pid"
    done
    pids=()
}

cleanup() {
    stop_servers
    rapport_pg_cleanup
    if [[ -n "$work" ]]; then
        rm -rf -- "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_servers LABEL COUNT CLUSTER DATABASE-URL: COUNT servers on free
# ports; their base URLs in `urls`.
start_servers() {
    local label=$1 count=$2 cluster=$3 db_url=$4 i port
    urls=()
    for ((i = 0; i < count; i++)); do
        port=$(free_port $((18080 + i * 10)))
        # The widget's per-client rate limit off: every widget comes from
        # one machine here.
        (cd "$work" && RUST_LOG=warn RAPPORT_CLUSTER=$cluster \
            RAPPORT_WIDGET_REQUESTS_PER_SECOND_PER_IP=0 exec "$bin/rapport" \
            --database-url "$db_url" serve --listen "127.0.0.1:$port") \
            >>"$work/$label-server-$i.log" 2>&1 &
        pids+=($!)
        server_pid=$!
        if ! wait_healthy "http://127.0.0.1:$port"; then
            log "$label: server $i did not become healthy; its log:"
            cat "$work/$label-server-$i.log" >&2
            return 1
        fi
        urls+=("http://127.0.0.1:$port")
    done
}

# run_shape LABEL SHAPE: one round of one shape on a fresh database;
# results in $work/LABEL-messages.json and $work/LABEL-fanout.json.
run_shape() {
    local label=$1 shape=$2 count cluster db_name db_url bootstrap token app_id also=() url
    case "$shape" in
    solo) count=1 cluster=false ;;
    1 | 2 | 3) count=$shape cluster=true ;;
    *)
        log "unknown shape '$shape' in SHAPES (use solo, 1, 2, 3)"
        exit 2
        ;;
    esac
    db_name="bench_${label//-/_}"
    psql "$RAPPORT_TEST_POSTGRES_URL" -v ON_ERROR_STOP=1 -q -c "CREATE DATABASE $db_name"
    db_url=${RAPPORT_TEST_POSTGRES_URL%/*}/$db_name
    # Migrated before the servers start, as docs/deploy.md says.
    (cd "$work" && "$bin/rapport" --database-url "$db_url" migrate) >/dev/null
    start_servers "$label" "$count" "$cluster" "$db_url"
    bootstrap=$(cd "$work" && "$bin/rapport" --database-url "$db_url" admin bootstrap \
        --workspace "Bench" --email "bench@example.com" --password "bench-password")
    token=$(json_string api_token <<<"$bootstrap")
    app_id=$(json_string app_id <<<"$bootstrap")
    for url in "${urls[@]:1}"; do
        also+=(--also-url "$url")
    done
    log "$label: $count server(s), cluster $cluster: messages, $CLIENTS clients"
    RAPPORT_BENCH_TOKEN=$token "$bin/rapport-bench" messages --url "${urls[0]}" "${also[@]}" \
        --clients "$CLIENTS" --duration "$DURATION" --warmup "$WARMUP" \
        --contacts "$CONTACTS" --json >"$work/$label-messages.json"
    log "$label: fanout, $VISITORS widgets, $RATE messages/s"
    RAPPORT_BENCH_TOKEN=$token RAPPORT_BENCH_APP_ID=$app_id "$bin/rapport-bench" fanout \
        --url "${urls[0]}" "${also[@]}" --visitors "$VISITORS" --rate "$RATE" \
        --duration "$DURATION" --warmup "$WARMUP" --json >"$work/$label-fanout.json"
    stop_servers
    if grep -qE ' (ERROR|WARN) ' "$work/$label"-server-*.log; then
        log "$label: the servers logged warnings; the first:"
        grep -hE ' (ERROR|WARN) ' "$work/$label"-server-*.log | head -n 5 >&2
    fi
}

# --- build and run --------------------------------------------------------

cargo build --release -p rapport-server -p rapport-bench
bin=${CARGO_TARGET_DIR:-$root/target}/release

work=$(mktemp -d "${TMPDIR:-/tmp}/rapport-cluster.XXXXXX")
chmod 755 "$work"
ensure_postgres_installed
TMPDIR=$work start_test_postgres
pg_version=$(psql "$RAPPORT_TEST_POSTGRES_URL" -Atc 'SHOW server_version')

for ((run = 1; run <= RUNS; run++)); do
    for shape in $SHAPES; do
        run_shape "r$run-$shape" "$shape"
    done
done

# --- report ---------------------------------------------------------------

name_of() {
    case "$1" in
    solo) printf 'one server, cluster off' ;;
    1) printf 'one server' ;;
    *) printf '%s servers' "$1" ;;
    esac
}

printf '\nSeveral servers: `bench/cluster.sh` (release build, PostgreSQL %s), %s runs; messages: %s clients for %s after %s; fanout: %s widgets, %s messages/s, each sent through another server than its widget'"'"'s when there are several.\n\n' \
    "${pg_version%% *}" "$RUNS" "$CLIENTS" "$DURATION" "$WARMUP" "$VISITORS" "$RATE"
printf '| run | shape | messages/s | p50 / p99 ms | errors | delivery p50 / p99 / max ms | lost |\n'
printf '| --- | --- | --- | --- | --- | --- | --- |\n'
for ((run = 1; run <= RUNS; run++)); do
    for shape in $SHAPES; do
        m=$work/r$run-$shape-messages.json
        f=$work/r$run-$shape-fanout.json
        printf '| %s | %s | %.0f | %.1f / %.1f | %s | %.1f / %.1f / %.1f | %s |\n' "$run" \
            "$(name_of "$shape")" "$(json_number "$m" messages_per_s)" \
            "$(json_number "$m" p50_ms)" "$(json_number "$m" p99_ms)" "$(json_number "$m" errors)" \
            "$(json_number "$f" p50_ms)" "$(json_number "$f" p99_ms)" "$(json_number "$f" max_ms)" \
            "$(json_number "$f" lost)"
    done
done

baseline=$(awk -v s="$SHAPES" 'BEGIN { n = split(s, a, " "); print a[1] }')
printf '\nMedians of the runs, and each run'"'"'s figure as a share of the same run'"'"'s %s (median of the shares):\n\n' "$(name_of "$baseline")"
printf '| shape | messages/s | share of %s | delivery p99 ms | p99 / %s |\n' "$(name_of "$baseline")" "$(name_of "$baseline")"
printf '| --- | --- | --- | --- | --- |\n'
for shape in $SHAPES; do
    rates=() shares=() p99s=() p99_ratios=()
    for ((run = 1; run <= RUNS; run++)); do
        rate=$(json_number "$work/r$run-$shape-messages.json" messages_per_s)
        base=$(json_number "$work/r$run-$baseline-messages.json" messages_per_s)
        p99=$(json_number "$work/r$run-$shape-fanout.json" p99_ms)
        base_p99=$(json_number "$work/r$run-$baseline-fanout.json" p99_ms)
        rates+=("$rate")
        shares+=("$(awk -v a="$rate" -v b="$base" 'BEGIN { print a / b }')")
        p99s+=("$p99")
        p99_ratios+=("$(awk -v a="$p99" -v b="$base_p99" 'BEGIN { print a / b }')")
    done
    printf '| %s | **%.0f** | %.2f | **%.1f** | %.2f |\n' "$(name_of "$shape")" \
        "$(printf '%s\n' "${rates[@]}" | median)" "$(printf '%s\n' "${shares[@]}" | median)" \
        "$(printf '%s\n' "${p99s[@]}" | median)" "$(printf '%s\n' "${p99_ratios[@]}" | median)"
done
printf '\nMachine: %s cores, %s, %s UTC.\n' "$(nproc)" \
    "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)" "$(date -u '+%Y-%m-%d %H:%M')"
