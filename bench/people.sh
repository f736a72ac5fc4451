#!/usr/bin/env bash
#
# bench/people.sh: the one command that produces the People figures for
# docs/benchmarks.md. For SQLite and for PostgreSQL (a throwaway cluster
# from scripts/lib/postgres.sh) it:
#   1. starts `rapport serve` (release build) on a fresh database and
#      bootstraps a workspace;
#   2. generates CONTACTS contacts straight into the database with SQL (the
#      API would take far longer than the measurement): 20 custom
#      properties each (plan, seats, beta, cohort, p1..p16), system
#      properties (last seen within 30 days, sessions, country), and per
#      contact the summaries of five event names, whose counts add up to
#      about 10 events per contact (10,000,000 for a million). Only the
#      summaries are generated, not the activity-log rows behind them:
#      filters read the summaries, never the log;
#   3. runs, RUNS times each, the issue's filter ("plan is pro, logged in
#      within 7 days, never opened the billing page") through
#      POST /api/v1/contacts/search: count only, and count with the first
#      page of 50; then a single indexed-event condition and a tag-free
#      property condition for comparison. Reports medians (curl's total
#      time, so HTTP and JSON are in);
#   4. opens the widgets of ONLINE of the cohort's contacts (`rapport-bench
#      online`: identified visitors u1..uONLINE, sockets open), sends one
#      bulk message to the BULK contacts of cohort "bulk" (every one has an
#      email address) and times it from the POST to the send's status
#      `done` (logging what the server's process wrote to storage and its
#      CPU time in the send); then counts the open widgets that got their
#      message live,
#      and checks in the database that BULK messages are stored and BULK
#      email fallback jobs are queued (every one of them: the fallback
#      decides at its due time whether the contact was online; the delay
#      is set to 60 minutes so that none falls due during the runs);
#   5. times the searches of step 3 again after the sends, with the
#      widgets' visitors now the most recently seen contacts (a column of
#      its own; the floors are read from step 3's).
# Progress goes to stderr, the markdown table to stdout. Everything started
# is stopped and the scratch directory removed on exit.
#
# Knobs (environment):
#   CONTACTS   contacts generated (default 1000000)
#   BULK       contacts in the bulk send (default 100000, at most CONTACTS)
#   ONLINE     of them, visitors with the widget open (default 200)
#   BULK_RUNS  bulk sends, one after another, for a median (default 3)
#   ONLINE_WAIT  how long the open widgets wait for their message after
#              the send is posted (default 600s)
#   SQLITE_SETUP, PG_SETUP  if set, SQL run on that backend's database
#              once it is filled, before the server starts (to measure an
#              index or a setting without a build of its own)
#   SQLITE_REPORT, PG_REPORT  if set, SQL run on that backend's database
#              after the bulk sends, its output in the log (e.g. the
#              statement statistics of a cluster started with
#              RAPPORT_PG_CONF="shared_preload_libraries = 'pg_stat_statements'")
#   CHECKPOINT  if set, the database is checkpointed once filled and
#              indexed, before the timed runs (so that what the generator
#              wrote is not being flushed while they run)
#   RUNS       timed runs of each query (default 7)
#   BACKENDS   which to run (default "sqlite postgres")
#   TMPDIR     where the scratch directory goes
#   KEEP_WORK  if set, the scratch directory (databases, server logs) is
#              kept
#   BASELINE_BIN  if set, another build's `rapport` binary: after the timed
#              searches, the same searches are timed again with it serving
#              the same database, then once more with this build (a row
#              each: this build, the baseline, this build again); it
#              must know the same migrations as this build
#   server_bin  if set, another build's `rapport` binary makes the
#              database and serves the whole run (for a build whose
#              migrations differ, where BASELINE_BIN cannot serve)
#   WAL_PAGES  if set (SQLite), each bulk send's log is held back by a
#              reader (`rapport-bench wal-pages`) so that every page it
#              writes stays in it, and the pages are then named by table
#              and index in the log: where the send's bytes go (it slows
#              the send a little)
#   PROFILE_DIR  if set, each bulk send is recorded with `perf record`
#              (99 Hz, DWARF call graphs) into this directory, and drawn as
#              a flame graph (LABEL-bulk-RUN.svg) when inferno's
#              inferno-collapse-perf and inferno-flamegraph are on PATH

set -euo pipefail
export LC_ALL=C

CONTACTS=${CONTACTS:-1000000}
BULK=${BULK:-100000}
ONLINE=${ONLINE:-200}
BULK_RUNS=${BULK_RUNS:-3}
RUNS=${RUNS:-7}
BACKENDS=${BACKENDS:-sqlite postgres}
DAY=86400000

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib/postgres.sh
source scripts/lib/postgres.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh
unset DATABASE_URL RAPPORT_DATA_DIR RAPPORT_CONFIG
# Every visitor comes from 127.0.0.0/8: the per-IP widget limits are off.
export RAPPORT_WIDGET_REQUESTS_PER_SECOND_PER_IP=0

work=
server_pid=
online_pid=
wal_pid=
cleanup() {
    stop_pid "$online_pid"
    stop_pid "$wal_pid"
    stop_server
    rapport_pg_cleanup
    if [[ -n "${KEEP_WORK:-}" ]]; then
        log "kept $work"
    elif [[ -n "$work" ]]; then
        rm -rf -- "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cargo build --release -p rapport-server -p rapport-bench >&2
bin=${CARGO_TARGET_DIR:-$root/target}/release
work=$(mktemp -d "${TMPDIR:-/tmp}/rapport-people.XXXXXX")
chmod 755 "$work"

# The issue's filter, and two single conditions.
issue_filter='{"and":[{"prop":"plan","op":"eq","value":"pro"},{"event":"logged_in","op":"last_within_days","value":7},{"event":"opened_billing_page","op":"not_performed"}]}'
event_filter='{"event":"invited_teammate","op":"count_at_least","value":5}'
prop_filter='{"prop":"p7","op":"eq","value":"value 3"}'

# generate_sql DIALECT WORKSPACE-LITERAL NOW: the statements of step 2.
generate_sql() {
    local dialect=$1 ws=$2 now=$3 series props events
    if [[ $dialect == sqlite ]]; then
        series="WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $CONTACTS)"
        props="json_object('plan', CASE i % 3 WHEN 0 THEN 'pro' WHEN 1 THEN 'free' ELSE 'team' END,
            'seats', i % 50, 'beta', json(CASE i % 2 WHEN 0 THEN 'true' ELSE 'false' END),
            'cohort', CASE WHEN i <= $BULK THEN 'bulk' ELSE 'rest' END"
        for p in $(seq 1 16); do props+=", 'p$p', 'value ' || ((i * $p) % 11)"; done
        props+=")"
        cat <<SQL
BEGIN;
$series
INSERT INTO contacts (id, workspace_id, user_id, email, name, props, created_at, updated_at,
                      first_seen_at, last_seen_at, sessions, country, tags)
SELECT randomblob(16), $ws, 'u' || i, 'u' || i || '@example.test', 'Person ' || i, $props,
       $now, $now, $now - 90 * $DAY, $now - (i % 30) * $DAY - (i % 86400) * 1000, 1 + i % 20,
       CASE i % 4 WHEN 0 THEN 'France' WHEN 1 THEN 'Germany' WHEN 2 THEN 'Brazil' ELSE NULL END, '[]'
FROM n;
SQL
        events="SELECT c.workspace_id, c.id, e.name, 1 + ((c.rowid + e.k) % 6),
                   $now - 60 * $DAY, $now - ((c.rowid * 7 + e.k) % 30) * $DAY - 3600000
                FROM contacts c JOIN ev e ON (c.rowid * 31 + e.k * 17) % 10 < e.pct
                WHERE c.workspace_id = $ws;"
    else
        series="WITH n AS (SELECT generate_series(1, $CONTACTS) AS i)"
        props="jsonb_build_object('plan', CASE i % 3 WHEN 0 THEN 'pro' WHEN 1 THEN 'free' ELSE 'team' END,
            'seats', i % 50, 'beta', i % 2 = 0,
            'cohort', CASE WHEN i <= $BULK THEN 'bulk' ELSE 'rest' END"
        for p in $(seq 1 16); do props+=", 'p$p', 'value ' || ((i * $p) % 11)"; done
        props+=")"
        cat <<SQL
BEGIN;
$series
INSERT INTO contacts (id, workspace_id, user_id, email, name, props, created_at, updated_at,
                      first_seen_at, last_seen_at, sessions, country, tags)
SELECT gen_random_uuid(), $ws, 'u' || i, 'u' || i || '@example.test', 'Person ' || i, $props,
       $now, $now, $now - 90 * $DAY::bigint, $now - (i % 30) * $DAY::bigint - (i % 86400) * 1000, 1 + i % 20,
       CASE i % 4 WHEN 0 THEN 'France' WHEN 1 THEN 'Germany' WHEN 2 THEN 'Brazil' ELSE NULL END, '[]'
FROM n;
SQL
        events="SELECT c.workspace_id, c.id, e.name, 1 + ((c.i + e.k) % 6),
                   $now - 60 * $DAY::bigint, $now - ((c.i * 7 + e.k) % 30) * $DAY::bigint - 3600000
                FROM (SELECT workspace_id, id, substr(user_id, 2)::bigint AS i FROM contacts WHERE workspace_id = $ws) c
                JOIN ev e ON (c.i * 31 + e.k * 17) % 10 < e.pct;"
    fi
    cat <<SQL
CREATE TEMP TABLE ev (name TEXT, k INTEGER, pct INTEGER);
INSERT INTO ev VALUES ('logged_in', 1, 9), ('opened_billing_page', 2, 3), ('viewed_pricing', 3, 6),
                      ('invited_teammate', 4, 4), ('exported_report', 5, 7);
INSERT INTO contact_events (workspace_id, contact_id, name, count, first_at, last_at) $events
INSERT INTO property_types (workspace_id, name, type, created_at) VALUES
    ($ws, 'plan', 'string', $now), ($ws, 'seats', 'number', $now), ($ws, 'beta', 'boolean', $now),
$(for p in $(seq 1 16); do printf "    (%s, 'p%s', 'string', %s),\n" "$ws" "$p" "$now"; done)
    ($ws, 'cohort', 'string', $now);
COMMIT;
$(if [[ $dialect == sqlite ]]; then echo "ANALYZE;"; else echo "VACUUM ANALYZE;"; fi)
SQL
}

# time_search BODY: curl's total seconds for one search.
time_search() {
    curl -fsS -o /dev/null -w '%{time_total}\n' -X POST "$url/api/v1/contacts/search" \
        -H "Authorization: Bearer $token" -H 'content-type: application/json' -d "$1"
}

# median_ms BODY: the median of RUNS searches, in ms (after one warm-up).
median_ms() {
    local i
    time_search "$1" >/dev/null
    for ((i = 0; i < RUNS; i++)); do time_search "$1"; done | median | awk '{ printf "%.0f", $1 * 1000 }'
}

# reference_ms LABEL WORKSPACE-LITERAL: the median of RUNS timings, in ms,
# of the database counting the rows of plan = pro in the property index.
reference_ms() {
    local label=$1 ws=$2 i
    for ((i = 0; i < RUNS; i++)); do
        if [[ $label == sqlite ]]; then
            printf '.timer on\nSELECT COUNT(*) FROM contact_props WHERE workspace_id = %s AND name = %s AND value = %s;\n' \
                "$ws" "'plan'" "'pro'" | "${db[@]}" |
                sed -n 's/^Run Time: real \([0-9.]*\).*/\1/p' | awk '{ printf "%.1f\n", $1 * 1000 }'
        else
            printf '\\timing on\nSELECT COUNT(*) FROM contact_props WHERE workspace_id = %s AND name = %s AND value = %s;\n' \
                "$ws" "'plan'" "'\"pro\"'::jsonb" | "${db[@]}" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
        fi
    done | median
}

# time_searches: the medians of the four searches, into q_count, q_page,
# q_event and q_prop.
time_searches() {
    q_count=$(median_ms "{\"filter\":$issue_filter,\"limit\":0}")
    q_page=$(median_ms "{\"filter\":$issue_filter,\"limit\":50}")
    q_event=$(median_ms "{\"filter\":$event_filter,\"limit\":50}")
    q_prop=$(median_ms "{\"filter\":$prop_filter,\"limit\":50}")
}

rows=()
run_backend() {
    local label=$1 bootstrap ws now count events started stored jobs
    shift
    port=$(free_port 18180)
    url=http://127.0.0.1:$port
    # The database is made (migrated, bootstrapped, filled) before the
    # server starts, so the server never meets another writer.
    bootstrap=$(cd "$work" && "${server_bin:-$bin/rapport}" "$@" admin bootstrap \
        --workspace Acme --email owner@acme.test --password 'long enough')
    token=$(json_string api_token <<<"$bootstrap")
    app_id=$(json_string app_id <<<"$bootstrap")
    now=$(date +%s%3N)
    log "$label: generating $CONTACTS contacts and their event summaries"
    started=$(date +%s)
    if [[ $label == sqlite ]]; then
        ws="X'$("${db[@]}" "SELECT hex(id) FROM workspaces")'"
        generate_sql sqlite "$ws" "$now" | "${db[@]}"
        [[ -z "${SQLITE_SETUP:-}" ]] || "$bin/rapport-bench" sql --database "$work/sqlite/rapport.db" <<<"$SQLITE_SETUP"
    else
        ws="'$("${db[@]}" -c "SELECT id FROM workspaces")'::uuid"
        generate_sql postgres "$ws" "$now" | "${db[@]}" -v ON_ERROR_STOP=1 -q
        [[ -z "${PG_SETUP:-}" ]] || "${db[@]}" -c "$PG_SETUP"
    fi
    log "$label: starting rapport serve on $url"
    start_server "$label" "$@"
    # The fallback's jobs stay queued through the runs (due in an hour), so
    # the email worker does not run beside the sends being measured. The
    # online visitors name their user_id without an identity hash, so this
    # throwaway workspace does not ask for one.
    curl -fsS -o /dev/null -X PATCH "$url/api/v1/workspace" -H "Authorization: Bearer $token" \
        -H 'content-type: application/json' \
        -d '{"email":{"fallback_delay_minutes":60},"identity_verification":false}'
    events=$(db_scalar "SELECT SUM(count) FROM contact_events")
    log "$label: generated in $(($(date +%s) - started)) s: $events events"
    # The first search naming a custom property asks for its index; a job
    # builds it while the server runs. The timed runs start once it is
    # ready (and, on PostgreSQL, once vacuumed, as autovacuum does after
    # so many inserts, so that its index-only scans need not visit rows).
    local indexed_ms building
    started=$(date +%s%3N)
    for f in "$issue_filter" "$prop_filter"; do
        curl -fsS -o /dev/null -X POST "$url/api/v1/contacts/search" -H "Authorization: Bearer $token" \
            -H 'content-type: application/json' -d "{\"filter\":$f,\"limit\":0}"
    done
    while building=$(db_scalar "SELECT COUNT(*) FROM property_types WHERE index_state = 'building'") &&
        [[ $building != 0 ]]; do
        sleep 0.5
    done
    indexed_ms=$(($(date +%s%3N) - started))
    log "$label: the filtered properties' index built in $indexed_ms ms: $(db_scalar "SELECT COUNT(*) FROM contact_props") rows"
    [[ $label == sqlite ]] || db_scalar "VACUUM ANALYZE contact_props" >/dev/null
    if [[ -n "${CHECKPOINT:-}" ]]; then
        # The generator's gigabytes of writes flushed before the timings,
        # rather than while they run.
        if [[ $label == sqlite ]]; then
            db_scalar "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
        else
            db_scalar "CHECKPOINT" >/dev/null
        fi
        log "$label: checkpointed"
    fi
    count=$(curl -fsS -X POST "$url/api/v1/contacts/search" -H "Authorization: Bearer $token" \
        -H 'content-type: application/json' -d "{\"filter\":$issue_filter,\"limit\":0}" | json_field_number count)
    log "$label: the issue's filter matches $count contacts; timing $RUNS runs of each query"
    local q_count q_page q_event q_prop
    time_searches
    # The machine's own limit beside them: the database alone (its client's
    # timer) counting the index range of the issue filter's largest
    # condition, plan = pro (333,333 of the property index's rows), which
    # any answer reading that index pays.
    local q_ref
    q_ref=$(reference_ms "$label" "$ws")
    log "$label: the database's own count of plan = pro: $q_ref ms"
    if [[ -n "${BASELINE_BIN:-}" ]]; then
        local again=("$q_count" "$q_page" "$q_event" "$q_prop")
        stop_server
        log "$label: timing the searches with $BASELINE_BIN"
        server_bin=$BASELINE_BIN start_server "$label-baseline" "$@"
        time_searches
        stop_server
        rows+=("| $label, baseline (timed second) | $CONTACTS | $events | | $count | $q_count | $q_page | $q_event | $q_prop | $(reference_ms "$label" "$ws") | | | | | | | | |")
        start_server "$label" "$@"
        time_searches
        rows+=("| $label, this build again (timed third) | $CONTACTS | $events | | $count | $q_count | $q_page | $q_event | $q_prop | $(reference_ms "$label" "$ws") | | | | | | | | |")
        q_count=${again[0]} q_page=${again[1]} q_event=${again[2]} q_prop=${again[3]}
    fi

    local run secs all_secs=() live_all=() sent_all=() written_all=() cpu_all=() live live_last
    for ((run = 1; run <= BULK_RUNS; run++)); do
        bulk_send "$label" "$run"
    done
    if [[ $label == sqlite && -n "${SQLITE_REPORT:-}" ]]; then
        "$bin/rapport-bench" sql --database "$work/sqlite/rapport.db" <<<"$SQLITE_REPORT" >&2
    elif [[ $label != sqlite && -n "${PG_REPORT:-}" ]]; then
        "${db[@]}" -c "$PG_REPORT" >&2
    fi
    # The same searches once more: the visitors who opened their widget are
    # now at the top of the order of last seen, a few of them in each set,
    # as a live workspace's most recent contacts are (the walk down the
    # order meets members early, then none for a long way).
    local before=("$q_count" "$q_page" "$q_event" "$q_prop") after
    time_searches
    after="$q_count / $q_page / $q_event / $q_prop"
    log "$label: the searches after the sends: $after ms"
    q_count=${before[0]} q_page=${before[1]} q_event=${before[2]} q_prop=${before[3]}
    stored=$(db_scalar "SELECT COUNT(*) FROM messages")
    jobs=$(db_scalar "SELECT COUNT(*) FROM jobs WHERE kind = 'email_fallback'")
    stop_server
    secs=$(printf '%s\n' "${all_secs[@]}" | median)
    log "$label: bulk sends took ${all_secs[*]} s (median $secs); sent ${sent_all[*]}; live ${live_all[*]} of $ONLINE each; $stored messages stored, $jobs email jobs"
    log "$label: the server wrote ${written_all[*]} MB to storage and used ${cpu_all[*]} s of CPU in the sends"
    rows+=("| $label | $CONTACTS | $events | $indexed_ms | $count | $q_count | $q_page | $q_event | $q_prop | $q_ref | $BULK | ${all_secs[*]} | **$secs** | $(awk -v n="$BULK" -v s="$secs" 'BEGIN { printf "%.0f", n / s }') | $stored | $jobs | ${live_all[*]} (of $ONLINE) | $after |")
}

# server_io: the server's bytes written to storage and its CPU time in
# clock ticks (user and system), "BYTES TICKS" ("0 0" where /proc cannot
# say).
server_io() {
    local bytes ticks
    bytes=$(awk '/^write_bytes/ { print $2 }' "/proc/$server_pid/io" 2>/dev/null) || bytes=
    ticks=$(awk '{ print $14 + $15 }' "/proc/$server_pid/stat" 2>/dev/null) || ticks=
    echo "${bytes:-0} ${ticks:-0}"
}

# wal_pages_start LABEL RUN: with WAL_PAGES on SQLite, starts holding the
# log back for this send (sets wal_pid; empty otherwise).
wal_pages_start() {
    wal_pid=
    [[ -n "${WAL_PAGES:-}" && $1 == sqlite ]] || return 0
    local out=$work/$1-wal-pages-$2.md
    "$bin/rapport-bench" wal-pages --database "$work/sqlite/rapport.db" \
        --until "$work/$1-sent-$2" >"$out" 2>&1 &
    wal_pid=$!
    until grep -qs '^holding$' "$out"; do
        kill -0 "$wal_pid" 2>/dev/null || { cat "$out" >&2; return 1; }
        sleep 0.1
    done
}

# wal_pages_report LABEL RUN: ends wal_pages_start's hold and logs where
# the send's pages went.
wal_pages_report() {
    [[ -n "${wal_pid:-}" ]] || return 0
    touch "$work/$1-sent-$2"
    wait "$wal_pid"
    log "$1: run $2: the pages the send wrote to the log, by table and index:"
    grep -v '^holding$' "$work/$1-wal-pages-$2.md" >&2
}

# bulk_send LABEL RUN: one timed bulk send to the cohort while ONLINE of its
# contacts have their widget open; appends to all_secs, sent_all, live_all,
# and what the server's process wrote to storage and its CPU time in the
# send to written_all and cpu_all (from /proc: the database's own writes on
# SQLite; on PostgreSQL they are the database's processes', not counted).
bulk_send() {
    local label=$1 run=$2 started finished status id sent
    # Each run's files are new: with one file for every run, the wait below
    # could read the previous run's `ready` before the shell had started (and
    # truncated the file for) this run's client, and post the send before
    # the widgets were open.
    local online_out=$work/$label-online-$run.json online_log=$work/$label-online-$run.log
    log "$label: run $run: opening $ONLINE identified visitors' widgets"
    "$bin/rapport-bench" online --url "$url" --app-id "$app_id" --visitors "$ONLINE" \
        --timeout "${ONLINE_WAIT:-600s}" >"$online_out" 2>"$online_log" &
    online_pid=$!
    until grep -qs '^ready$' "$online_log"; do
        if ! kill -0 "$online_pid" 2>/dev/null; then
            log "$label: rapport-bench online stopped:"
            cat "$online_log" >&2
            return 1
        fi
        sleep 0.2
    done
    log "$label: run $run: bulk send to $BULK contacts"
    wal_pages_start "$label" "$run"
    profile_start "$label-bulk-$run"
    [[ -z "$profile_pid" ]] || sleep 1
    local io_before io_after
    io_before=$(server_io)
    started=$(date +%s%3N)
    id=$(curl -fsS -X POST "$url/api/v1/bulk-sends" -H "Authorization: Bearer $token" \
        -H 'content-type: application/json' \
        -d '{"audience":{"filter":{"prop":"cohort","op":"eq","value":"bulk"}},"body":"Hi {{ user.name | default(\"there\") }}, the new billing page is live."}' |
        json_string id)
    status=sending
    while [[ $status == sending ]]; do
        sleep 0.2
        status=$(curl -fsS "$url/api/v1/bulk-sends/$id" -H "Authorization: Bearer $token" | json_string status)
    done
    finished=$(date +%s%3N)
    io_after=$(server_io)
    profile_stop
    wal_pages_report "$label" "$run"
    profile_draw "$label-bulk-$run" "Bulk send $run to $BULK, $label"
    sent=$(curl -fsS "$url/api/v1/bulk-sends/$id" -H "Authorization: Bearer $token" | json_field_number sent)
    wait "$online_pid" || true
    online_pid=
    live=$(json_field_number received <"$online_out")
    live_last=$(json_field_number last_unix_ms <"$online_out")
    all_secs+=("$(awk -v ms=$((finished - started)) 'BEGIN { printf "%.1f", ms / 1000 }')")
    sent_all+=("$sent")
    written_all+=("$(awk -v a="${io_before% *}" -v b="${io_after% *}" 'BEGIN { printf "%.0f", (b - a) / 1e6 }')")
    cpu_all+=("$(awk -v a="${io_before#* }" -v b="${io_after#* }" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", (b - a) / hz }')")
    live_all+=("$live")
    log "$label: run $run: $status in ${all_secs[-1]} s, $sent sent, $live of $ONLINE open widgets got theirs live (the last $((live_last - started)) ms after the POST)"
}

for backend in $BACKENDS; do
    on_backend "$backend" run_backend
done

echo "| backend | contacts | events | property index built (ms) | issue filter matches | count only (ms) | count + first 50 (ms) | event condition + 50 (ms) | property condition + 50 (ms) | the database's own count of plan = pro (ms) | bulk recipients | bulk sends (s) | median (s) | messages/s | messages stored | email jobs | open widgets that got it live | after the sends: count / + page / event / property (ms) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
