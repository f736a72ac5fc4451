#!/usr/bin/env bash
#
# bench/soak.sh: the soak test of live delivery for docs/benchmarks.md. For
# each backend (SQLite by default; a throwaway PostgreSQL cluster from
# scripts/lib/postgres.sh with BACKENDS=postgres) it:
#   1. starts an SMTP sink (`rapport-bench smtp-sink`) and `rapport serve`
#      (release build) sending the email fallback to it, on a fresh
#      database, and sets the workspace's fallback delay to one minute;
#   2. runs `rapport-bench soak` for DURATION: CONTACTS contacts with email
#      addresses, VISITORS of them with their widget open and INBOXES Inbox
#      sockets, every socket dropped at random (mean RECONNECT_MEAN) and
#      reconnected from the last position it saw; team messages to open
#      widgets (RATE/s) and to contacts without one (OFFLINE_RATE/s, each
#      emailed a minute later), visitor messages (VISITOR_RATE/s) and a bulk
#      send to every contact each BULK_EVERY. It then checks each socket
#      against a replay of what it was owed: none missed, none twice, none
#      out of order, and every sent message seen live;
#   3. waits for the email fallback to drain (no email job left), and
#      reports what the sink received (duplicates must be none) beside the
#      messages the database marked as emailed.
# The soak's summary goes to stderr, the markdown table to stdout. The
# script fails if a socket missed or doubled an entry or an email arrived
# twice. Everything started is stopped and the scratch directory removed
# on exit.
#
# Knobs (environment): DURATION (default 30m), CONTACTS (5000), VISITORS
# (200), INBOXES (2), RATE (20), OFFLINE_RATE (5), VISITOR_RATE (5),
# BULK_EVERY (5m), RECONNECT_MEAN (60s), BACKENDS ("sqlite"), TMPDIR,
# KEEP_WORK (keep the scratch directory: databases, logs).

set -euo pipefail
export LC_ALL=C

DURATION=${DURATION:-30m}
CONTACTS=${CONTACTS:-5000}
VISITORS=${VISITORS:-200}
INBOXES=${INBOXES:-2}
RATE=${RATE:-20}
OFFLINE_RATE=${OFFLINE_RATE:-5}
VISITOR_RATE=${VISITOR_RATE:-5}
BULK_EVERY=${BULK_EVERY:-5m}
RECONNECT_MEAN=${RECONNECT_MEAN:-60s}
BACKENDS=${BACKENDS:-sqlite}
# How long the email fallback may take to drain after the load.
DRAIN_LIMIT=600

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib/postgres.sh
source scripts/lib/postgres.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh
unset DATABASE_URL RAPPORT_DATA_DIR RAPPORT_CONFIG
# Every visitor comes from 127.0.0.0/8: the per-IP widget limits are off.
export RAPPORT_WIDGET_REQUESTS_PER_SECOND_PER_IP=0
export RAPPORT_EMAIL_FROM=support@acme.test

work=
server_pid=
sink_pid=
cleanup() {
    stop_pid "$sink_pid"
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
work=$(mktemp -d "${TMPDIR:-/tmp}/rapport-soak.XXXXXX")
chmod 755 "$work"
# The widgets, the Inboxes and the senders' connections.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

rows=()
failed=0
run_backend() {
    local label=$1 bootstrap token app_id sink_port soak_status=0 jobs i emailed warnings soak sink
    shift
    port=$(free_port 18380)
    sink_port=$(free_port 12625)
    url=http://127.0.0.1:$port
    bootstrap=$(cd "$work" && "$bin/rapport" "$@" admin bootstrap \
        --workspace Acme --email owner@acme.test --password 'long enough')
    token=$(json_string api_token <<<"$bootstrap")
    app_id=$(json_string app_id <<<"$bootstrap")
    rm -f "$work/stop-sink"
    "$bin/rapport-bench" smtp-sink --listen "127.0.0.1:$sink_port" --timeout 1440m \
        --stop-file "$work/stop-sink" --json >"$work/$label-sink.json" 2>"$work/$label-sink.log" &
    sink_pid=$!
    log "$label: starting rapport serve on $url, emails to 127.0.0.1:$sink_port"
    RAPPORT_SMTP_URL="smtp://127.0.0.1:$sink_port" start_server "$label" "$@"
    curl -fsS -o /dev/null -X PATCH "$url/api/v1/workspace" -H "Authorization: Bearer $token" \
        -H 'content-type: application/json' \
        -d '{"email":{"fallback_delay_minutes":1},"identity_verification":false}'

    log "$label: soaking for $DURATION"
    RAPPORT_BENCH_TOKEN=$token "$bin/rapport-bench" soak --url "$url" --app-id "$app_id" \
        --contacts "$CONTACTS" --visitors "$VISITORS" --inboxes "$INBOXES" \
        --duration "$DURATION" --rate "$RATE" --offline-rate "$OFFLINE_RATE" \
        --visitor-rate "$VISITOR_RATE" --bulk-every "$BULK_EVERY" \
        --reconnect-mean "$RECONNECT_MEAN" --json \
        >"$work/$label-soak.json" 2>"$work/$label-soak.log" || soak_status=$?
    tail -n 3 "$work/$label-soak.log" >&2
    ((soak_status == 0)) || failed=1

    log "$label: waiting for the email fallback to drain"
    for ((i = 0; i < DRAIN_LIMIT; i += 2)); do
        jobs=$(db_scalar "SELECT count(*) FROM jobs WHERE kind = 'email_fallback'")
        ((jobs == 0)) && break
        sleep 2
    done
    # The last emails' settles are written after the sink has them.
    sleep 3
    touch "$work/stop-sink"
    wait "$sink_pid" || true
    sink_pid=
    emailed=$(db_scalar "SELECT count(*) FROM messages WHERE email_status = 'emailed'")
    stop_server
    warnings=$(grep -cE ' (WARN|ERROR) |panicked' "$work/$label.log" || true)
    if ((warnings > 0)); then
        log "$label: the server logged $warnings warnings, errors or panics; the first:"
        grep -E ' (WARN|ERROR) |panicked' "$work/$label.log" | head -n 5 >&2
    fi
    soak=$work/$label-soak.json
    sink=$work/$label-sink.json
    if [[ ! -s "$soak" || ! -s "$sink" ]]; then
        log "$label: no report from the soak or the sink"
        failed=1
        return 0
    fi
    # One email can carry several unread messages of a conversation, so
    # the sink's count and the database's are reported, not compared.
    if [[ "$(json_number "$sink" duplicates)" != 0 || "$jobs" != 0 ]]; then
        log "$label: an email arrived twice, or email jobs were left"
        failed=1
    fi
    rows+=("| $label | $(json_number "$soak" seconds) | $((VISITORS + INBOXES)) | $(json_number "$soak" connections) | $(json_number "$soak" owed) | **$(json_number "$soak" missed)** | **$(json_number "$soak" doubled)** | $(json_number "$soak" backwards) | $(json_number "$soak" sent_messages_unseen) | $(json_number "$soak" team_to_online) / $(json_number "$soak" team_to_offline) / $(json_number "$soak" from_visitors) | $(sed -n 's/.*"bulk_sends":\[\([^]]*\)\].*/\1/p' "$soak") | $(json_number "$sink" unique) / **$(json_number "$sink" duplicates)** / $emailed | $jobs | $(json_number "$soak" errors) | $warnings |")
}

for backend in $BACKENDS; do
    on_backend "$backend" run_backend
done

echo "| backend | seconds | sockets | connections | entries owed | missed | doubled | out of order | sent messages not seen live | team to open widgets / to offline contacts / visitor messages | bulk sends (recipients) | emails: sink unique / duplicates / database emailed | email jobs left | request errors | server warnings |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
exit "$failed"
