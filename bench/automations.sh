#!/usr/bin/env bash
#
# bench/automations.sh [sqlite|postgres]...: the one command that produces
# the automation figures for docs/benchmarks.md: CONTACTS visitors viewing
# the pricing page within DURATION, each triggering a page-visit greeting.
# With no argument it runs SQLite, then PostgreSQL (a throwaway cluster
# from scripts/lib/postgres.sh).
#
# It builds the server and the load generator, raises the open-file limit
# to the hard limit, then RUNS times per backend, each on a fresh database:
#   1. bootstraps a workspace and starts `rapport serve` (release build) on
#      a free loopback port, with RUST_LOG=warn and the widget's per-IP
#      rate limits off (every visitor comes from 127.0.0.0/8);
#   2. creates the automation (trigger: a page view whose URL contains
#      /pricing, after DELAY seconds on the page; frequency: every time;
#      one message from the bot with a snippet tag), publishes it and
#      pauses it;
#   3. runs `rapport-bench greeting` (bench/src/greeting.rs): it boots the
#      CONTACTS visitors, sends each one page view with no automation live
#      (the reference rate), opens ONLINE widget sockets that stay open,
#      resumes the automation and sends the CONTACTS page views again,
#      spread evenly over DURATION, each of the others with its widget
#      open for DELAY seconds around its page view; then it waits for every
#      greeting and reads every run;
#   4. stops the server and asks the database, per contact, how many
#      messages an automation sent them (every contact must have exactly
#      one), and counts the warnings and errors in the server's log.
# Progress goes to stderr, the markdown tables to stdout. Everything started
# is stopped and the scratch directory removed on exit.
#
# Knobs (environment):
#   CONTACTS     visitors, page views and greetings (default 100000)
#   ONLINE       of them, widgets open throughout, timed (default 1000)
#   DURATION     the stretch the page views are spread over (default 60s)
#   DELAY        the trigger's seconds on page (default 5)
#   CLIENTS      page views in flight at most in the stretch (default 256)
#   RUNS         runs per backend, for medians (default 3)
#   WAIT         how long to wait for the greetings (default 900s)
#   SPOT_CHECKS  contacts' timelines read through the API (default 500)
#   BENCH_PROFILE  release (default) or debug: debug only checks the
#                  script, its figures mean nothing
#   KEEP         1: keep the scratch directory (databases, server logs, each
#                run's JSON report) and print where it is
#   TMPDIR       where the scratch directory goes

set -euo pipefail
export LC_ALL=C

CONTACTS=${CONTACTS:-100000}
ONLINE=${ONLINE:-1000}
DURATION=${DURATION:-60s}
DELAY=${DELAY:-5}
CLIENTS=${CLIENTS:-256}
RUNS=${RUNS:-3}
WAIT=${WAIT:-900s}
SPOT_CHECKS=${SPOT_CHECKS:-500}
KEEP=${KEEP:-0}
BENCH_PROFILE=${BENCH_PROFILE:-release}
if (($# == 0)); then
    set -- sqlite postgres
fi
for backend in "$@"; do
    case "$backend" in
    sqlite | postgres) ;;
    *)
        printf 'usage: %s [sqlite|postgres]...\n' "$0" >&2
        exit 2
        ;;
    esac
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib/postgres.sh
source scripts/lib/postgres.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh
unset DATABASE_URL RAPPORT_DATA_DIR RAPPORT_CONFIG
# Every visitor comes from 127.0.0.0/8: the per-IP widget limits are off;
# the widget sockets held at once stay under the connection cap.
export RAPPORT_WIDGET_REQUESTS_PER_SECOND_PER_IP=0
export RAPPORT_MAX_CONNECTIONS=19000

work=
server_pid=
bench_pid=
cleanup() {
    stop_pid "$bench_pid"
    stop_server
    if [[ "$KEEP" == 1 && -n "$work" ]]; then
        # A kept cluster is stopped with its files kept (start it again with
        # pg_ctl to read them); the cleanup chained after this one then
        # finds nothing to delete.
        if [[ -n "${RAPPORT_PG_DIR:-}" && -f "$RAPPORT_PG_DATA/postmaster.pid" ]]; then
            _rapport_pg_run "$(_rapport_pg_bindir)/pg_ctl" -D "$RAPPORT_PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
        fi
        RAPPORT_PG_DIR=
        log "kept: $work"
        return
    fi
    rapport_pg_cleanup
    [[ -z "$work" ]] || rm -rf -- "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

case "$BENCH_PROFILE" in
release) cargo build --release -p rapport-server -p rapport-bench >&2 ;;
debug) cargo build -p rapport-server -p rapport-bench >&2 ;;
*)
    log "BENCH_PROFILE must be release or debug, not $BENCH_PROFILE"
    exit 2
    ;;
esac
bin=${CARGO_TARGET_DIR:-$root/target}/$BENCH_PROFILE
[[ "$BENCH_PROFILE" == release ]] || log "WARNING: $BENCH_PROFILE build: these figures only check the script"

# Every socket is a file in the load generator and another in the server.
hard=$(ulimit -Hn)
[[ "$hard" != unlimited ]] || hard=1048576
(($(ulimit -Sn) >= hard)) || ulimit -Sn "$hard"

work=$(mktemp -d "${TMPDIR:-/tmp}/rapport-automations.XXXXXX")
chmod 755 "$work"

# The automation: a greeting on the pricing page after DELAY seconds there.
draft=$(
    cat <<JSON
{"name": "Pricing greeting", "draft": {
  "trigger": {"type": "page_visited", "url": {"contains": "/pricing"}, "seconds_on_page": $DELAY},
  "frequency": {"type": "every_time"},
  "flow": {"start": "hi", "nodes": [
    {"id": "hi", "type": "send_message", "from": "bot",
     "body": "Hi {{ user.name | default(\"there\") }}, questions about pricing? Ask us here."}
  ]}
}}
JSON
)

# api METHOD PATH [BODY]: the server's API as the bootstrapped owner.
api() {
    curl -fsS -X "$1" "$url/api/v1$2" -H "Authorization: Bearer $token" \
        -H 'content-type: application/json' ${3:+-d "$3"}
}

# Per contact, the messages automations sent them: "contacts|messages|
# contacts with more than one".
greeted_sql="SELECT COUNT(*), COALESCE(SUM(n), 0), COALESCE(SUM(CASE WHEN n > 1 THEN 1 ELSE 0 END), 0)
  FROM (SELECT c.contact_id, COUNT(*) AS n FROM messages m
        JOIN conversations c ON c.id = m.conversation_id
        WHERE m.origin IS NOT NULL GROUP BY c.contact_id) t"

# The tables' columns: a header, then the report's keys shown in the cell
# (joined by " / "). The script adds db_* (asked of the database) and
# log_* (counted in the server's log) to each report.
columns=(
    "page views/s sent (asked: CONTACTS / DURATION)|minute_sent_per_s"
    "reference: page views/s, no automation live|reference_per_s"
    "while the page views came: runs started/s|while_sending_runs_started_per_s"
    "while the page views came: greetings/s|while_sending_greetings_per_s"
    "after: greetings/s / runs ended/s|after_sending_greetings_per_s after_sending_runs_ended_per_s"
    "greetings/s overall|greetings_per_s"
    "greetings/s overall ÷ reference|greetings_per_s_over_reference"
    "excess beyond the delay in the open widgets, p50 / p99 / max ms|widgets_excess_p50_ms widgets_excess_p99_ms widgets_excess_max_ms"
    "excess at the greeting's write, all, p50 / p99 ms|excess_written_p50_ms excess_written_p99_ms"
    "dispatcher behind the page view, p50 / p99 ms|dispatch_lag_p50_ms dispatch_lag_p99_ms"
    "runs: greeted / stopped / failed|stats_done stats_stopped stats_failed"
    "last run ended, s after the last page view|all_done_s_after_last_page_view"
    "database: contacts greeted / greetings / contacts greeted twice|db_contacts db_greetings db_twice"
    "open widgets: greeted / twice (of ONLINE)|widgets_greeted widgets_duplicated"
    "server peak RSS in the stretch, MiB|memory_mib_minute_peak"
    "cores busy: server / load generator / machine|server_cores_busy load_generator_cores_busy machine_cores_busy"
    "server log: warnings / errors|log_warnings log_errors"
)

# cell FILE... KEYS: the cell of these keys, from one report (or the
# medians over several).
cell() {
    local keys=$1 key f out=() value
    shift
    for key in $keys; do
        value=$(for f in "$@"; do json_number "$f" "$key" | tail -n 1; done | grep . | median)
        (($# == 1)) && value=$(json_number "$1" "$key" | tail -n 1)
        out+=("${value:--}")
    done
    local IFS=/
    printf '%s' "${out[*]}" | sed 's|/| / |g'
}

rows=()
# row LABEL RUN FILE...: a table row for one run's report, or the medians.
row() {
    local line="| $1 | $2 |" column
    shift 2
    for column in "${columns[@]}"; do
        line+=" $(cell "${column#*|}" "$@") |"
    done
    rows+=("$line")
}

# one_run LABEL RUN DATABASE-FLAGS...: steps 1 to 4 once; appends to rows.
one_run() {
    local label=$1 run=$2 bootstrap automation id out status=0
    shift 2
    port=$(free_port 18280)
    url=http://127.0.0.1:$port
    bootstrap=$(cd "$work" && "$bin/rapport" "$@" admin bootstrap \
        --workspace Acme --email owner@acme.test --password 'long enough')
    token=$(json_string api_token <<<"$bootstrap")
    app_id=$(json_string app_id <<<"$bootstrap")
    log "$label run $run: starting rapport serve on $url"
    start_server "$label-$run" "$@"
    automation=$(api POST /automations "$draft")
    # The reply's first field is the automation's id (its nodes have ids too).
    id=$(sed -n 's/^{"id":"\([^"]*\)".*/\1/p' <<<"$automation")
    api POST "/automations/$id/publish" '{}' >/dev/null
    api POST "/automations/$id/pause" >/dev/null
    out=$work/$label-$run
    log "$label run $run: rapport-bench greeting, $CONTACTS visitors over $DURATION, $ONLINE open throughout"
    RAPPORT_BENCH_TOKEN=$token "$bin/rapport-bench" greeting --url "$url" --app-id "$app_id" \
        --automation "$id" --contacts "$CONTACTS" --online "$ONLINE" --duration "$DURATION" \
        --clients "$CLIENTS" --wait "$WAIT" --spot-checks "$SPOT_CHECKS" \
        --server-pid "$server_pid" --json >"$out.json" 2> >(tee "$out.bench.log" >&2) &
    bench_pid=$!
    wait "$bench_pid" || status=$?
    bench_pid=
    stop_server
    if ((status != 0)) || [[ ! -s "$out.json" ]]; then
        log "$label run $run: the load generator failed ($status)"
        [[ -s "$out.json" ]] || return 1
    fi
    local greeted contacts messages twice warnings errors
    greeted=$(db_scalar "$greeted_sql" | tr -d ' ')
    IFS='|' read -r contacts messages twice <<<"$greeted"
    warnings=$(grep -c ' WARN ' "$work/$label-$run.log" || true)
    errors=$(grep -c ' ERROR ' "$work/$label-$run.log" || true)
    if ((warnings + errors > 0)); then
        log "$label run $run: the server's log has $warnings warnings and $errors errors; the first:"
        grep -m 5 -E ' (WARN|ERROR) ' "$work/$label-$run.log" >&2 || true
    fi
    log "$label run $run: database: $contacts contacts got $messages automated messages ($twice more than one)"
    printf '{"db_contacts":%s,"db_greetings":%s,"db_twice":%s,"log_warnings":%s,"log_errors":%s}\n' \
        "$contacts" "$messages" "$twice" "$warnings" "$errors" >>"$out.json"
    row "$label" "$run" "$out.json"
}

run_backend() {
    local label=$1 run
    for ((run = 1; run <= RUNS; run++)); do
        if [[ $label == sqlite ]]; then
            db=(sqlite3 -batch "$work/sqlite-$run/rapport.db")
            one_run sqlite "$run" --data-dir "$work/sqlite-$run"
            [[ "$KEEP" == 1 ]] || rm -rf -- "$work/sqlite-$run"
        else
            psql "$RAPPORT_TEST_POSTGRES_URL" -v ON_ERROR_STOP=1 -q -c "CREATE DATABASE rapport_bench_$run"
            db=(psql -Atq -d "${RAPPORT_TEST_POSTGRES_URL%/*}/rapport_bench_$run")
            one_run postgres "$run" --database-url "${RAPPORT_TEST_POSTGRES_URL%/*}/rapport_bench_$run"
            [[ "$KEEP" == 1 ]] || psql "$RAPPORT_TEST_POSTGRES_URL" -q -c "DROP DATABASE rapport_bench_$run"
        fi
    done
    row "$label" "**median**" "$work/$label"-[0-9]*.json
}

for backend in "$@"; do
    case "$backend" in
    sqlite) run_backend sqlite ;;
    postgres)
        ensure_postgres_installed
        TMPDIR=$work start_test_postgres
        run_backend postgres
        [[ "$KEEP" == 1 ]] || rapport_pg_cleanup
        ;;
    esac
done

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
printf '\n`bench/automations.sh %s` (%s build): CONTACTS=%s ONLINE=%s DURATION=%s DELAY=%s CLIENTS=%s RUNS=%s; %s cores (%s), %s GiB, Linux %s, %s.\n\n' \
    "$*" "$BENCH_PROFILE" "$CONTACTS" "$ONLINE" "$DURATION" "$DELAY" "$CLIENTS" "$RUNS" "$(nproc)" "${cpu:-unknown CPU}" \
    "$(awk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)" "$(uname -r)" "$(date -u '+%Y-%m-%d %H:%M UTC')"
header="| backend | run |" rule="|---|---|"
for column in "${columns[@]}"; do
    header+=" ${column%%|*} |"
    rule+="---|"
done
printf '%s\n' "$header" "$rule" "${rows[@]}"
