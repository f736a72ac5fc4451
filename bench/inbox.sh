#!/usr/bin/env bash
#
# bench/inbox.sh: the one command that produces the search and reports
# figures for docs/benchmarks.md. For SQLite and for PostgreSQL (a
# throwaway cluster from scripts/lib/postgres.sh) it:
#   1. bootstraps a workspace with `rapport admin bootstrap` (release
#      build), before the server starts;
#   2. generates straight into the database with SQL (the API would take
#      far longer than the measurement): CONTACTS contacts, CONVERSATIONS
#      conversations spread over the last 365 days (half assigned to the
#      owner), one message each
#      (through the real tables, so SQLite's search index is filled by its
#      triggers and PostgreSQL's GIN index by its inserts), and each
#      conversation's report summary (channel, first response, close) and a
#      rating for one in ten. Message words are chosen so each query below
#      matches a known number of messages: `order` all of them, `c<N>` one
#      in 20, `m<N>` one in 2,000, `r<N>` one in 100,000 of them;
#   3. starts `rapport serve` and times, RUNS times each after one warm-up,
#      GET /api/v1/conversations/search for each query (curl's total time,
#      so HTTP and JSON are in) and GET /api/v1/reports for 30 and 365 days
#      by day, by member and by channel;
#   4. beside them, the machine's own limit: the database alone (psql's
#      timer; for SQLite `rapport-bench sql --query`, which links the
#      server's SQLite: the system's sqlite3 may predate the FTS5 options
#      the index uses) answering the same full-text look-up the search runs
#      (the 200 newest matching messages), and counting the 365 days'
#      conversations from the summaries' index.
# Reports medians, in ms, and each figure's ratio to its reference. Progress
# goes to stderr, the markdown tables to stdout.
#
# Knobs (environment):
#   CONVERSATIONS  conversations and messages generated (default 1000000)
#   CONTACTS       contacts they belong to (default 100000)
#   RUNS           timed runs of each request (default 7)
#   BACKENDS       which to run (default "sqlite postgres")
#   TMPDIR         where the scratch directory goes
#   KEEP_WORK      if set, the scratch directory is kept

set -euo pipefail
export LC_ALL=C

CONVERSATIONS=${CONVERSATIONS:-1000000}
CONTACTS=${CONTACTS:-100000}
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

work=
server_pid=
cleanup() {
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
work=$(mktemp -d "${TMPDIR:-/tmp}/rapport-inbox.XXXXXX")
chmod 755 "$work"

# The searches: label, query, messages that match.
searches=(
    "rare word|r4242|$((CONVERSATIONS * 11 / 100000))"
    "uncommon word|m1234|$((CONVERSATIONS / 2000))"
    "common word|c7|$((CONVERSATIONS / 20))"
    "word in every message|order|$CONVERSATIONS"
    "two words|c14 m1234|$((CONVERSATIONS / 2000))"
    "a word's beginning|m123|$((CONVERSATIONS * 11 / 2000))"
    "a contact's name|Person 4242|-"
)

# generate_sql DIALECT WORKSPACE-LITERAL AGENT-LITERAL NOW: step 2.
generate_sql() {
    local dialect=$1 ws=$2 agent=$3 now=$4
    if [[ $dialect == sqlite ]]; then
        cat <<SQL
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $CONTACTS)
INSERT INTO contacts (id, workspace_id, user_id, email, name, props, created_at, updated_at, tags)
SELECT randomblob(16), $ws, 'u' || i, 'p' || i || '@example.test', 'Person ' || i, '{}', $now, $now, '[]' FROM n;
CREATE TEMP TABLE people AS SELECT rowid AS k, id FROM contacts WHERE workspace_id = $ws;
CREATE INDEX people_k ON people (k);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $CONVERSATIONS)
INSERT INTO conversations (id, workspace_id, contact_id, status, assignee_id, created_at, updated_at)
SELECT randomblob(16), $ws, (SELECT id FROM people WHERE k = 1 + i % $CONTACTS),
       CASE WHEN i % 3 = 0 THEN 'open' ELSE 'closed' END, CASE WHEN i % 2 = 0 THEN $agent END,
       $now - (i % 365) * $DAY - (i % 86400) * 1000, $now - (i % 365) * $DAY - (i % 86400) * 1000 + 60000
FROM n;
INSERT INTO messages (id, workspace_id, conversation_id, author_type, author_id, kind, body, created_at)
SELECT randomblob(16), $ws, c.id, 'contact', c.contact_id, 'comment',
       'Hello, my order ' || c.rowid || ' c' || (c.rowid % 20) || ' m' || (c.rowid % 2000)
           || ' r' || (c.rowid % 100000) || ' thanks',
       c.created_at
FROM conversations c WHERE c.workspace_id = $ws ORDER BY c.created_at, c.rowid;
INSERT INTO conversation_stats (conversation_id, workspace_id, channel, started_at, first_response_at, first_responder_id, closed_at)
SELECT c.id, $ws,
       CASE c.rowid % 10 WHEN 0 THEN 'team' WHEN 1 THEN 'bulk' WHEN 2 THEN 'automation' WHEN 3 THEN 'bot' ELSE 'widget' END,
       c.created_at,
       CASE WHEN c.rowid % 10 >= 4 THEN c.created_at + (c.rowid % 3600) * 1000 END,
       CASE WHEN c.rowid % 10 >= 4 THEN $agent END,
       CASE WHEN c.rowid % 3 != 0 THEN c.created_at + (c.rowid % 86400) * 1000 END
FROM conversations c WHERE c.workspace_id = $ws;
INSERT INTO conversation_ratings (conversation_id, workspace_id, contact_id, score, created_at)
SELECT id, $ws, contact_id, 1 + rowid % 3, updated_at FROM conversations
WHERE workspace_id = $ws AND rowid % 10 = 5;
COMMIT;
ANALYZE;
SQL
    else
        cat <<SQL
BEGIN;
INSERT INTO contacts (id, workspace_id, user_id, email, name, props, created_at, updated_at, tags)
SELECT gen_random_uuid(), $ws, 'u' || i, 'p' || i || '@example.test', 'Person ' || i, '{}', $now, $now, '[]'
FROM generate_series(1, $CONTACTS) AS i;
CREATE TEMP TABLE people AS
    SELECT substr(user_id, 2)::bigint AS k, id FROM contacts WHERE workspace_id = $ws;
CREATE INDEX people_k ON people (k);
CREATE TEMP TABLE made AS
    SELECT i, gen_random_uuid() AS id, (SELECT id FROM people WHERE k = 1 + i % $CONTACTS) AS contact_id,
           $now - (i % 365) * $DAY::bigint - (i % 86400) * 1000 AS at
    FROM generate_series(1, $CONVERSATIONS) AS i;
INSERT INTO conversations (id, workspace_id, contact_id, status, assignee_id, created_at, updated_at)
SELECT id, $ws, contact_id, CASE WHEN i % 3 = 0 THEN 'open' ELSE 'closed' END,
       CASE WHEN i % 2 = 0 THEN $agent END, at, at + 60000 FROM made;
INSERT INTO messages (id, workspace_id, conversation_id, author_type, author_id, kind, body, created_at)
SELECT gen_random_uuid(), $ws, id, 'contact', contact_id, 'comment',
       'Hello, my order ' || i || ' c' || (i % 20) || ' m' || (i % 2000) || ' r' || (i % 100000) || ' thanks', at
FROM made ORDER BY at, i;
INSERT INTO conversation_stats (conversation_id, workspace_id, channel, started_at, first_response_at, first_responder_id, closed_at)
SELECT id, $ws,
       CASE i % 10 WHEN 0 THEN 'team' WHEN 1 THEN 'bulk' WHEN 2 THEN 'automation' WHEN 3 THEN 'bot' ELSE 'widget' END,
       at,
       CASE WHEN i % 10 >= 4 THEN at + (i % 3600) * 1000 END,
       CASE WHEN i % 10 >= 4 THEN $agent END,
       CASE WHEN i % 3 != 0 THEN at + (i % 86400) * 1000 END
FROM made;
INSERT INTO conversation_ratings (conversation_id, workspace_id, contact_id, score, created_at)
SELECT id, $ws, contact_id, 1 + i % 3, at + 60000 FROM made WHERE i % 10 = 5;
COMMIT;
VACUUM ANALYZE;
SQL
    fi
}

# median_ms PATH: the median of RUNS GETs of PATH, in ms (after a warm-up).
median_ms() {
    local i
    curl -fsS -o /dev/null "$url$1" -H "Authorization: Bearer $token"
    for ((i = 0; i < RUNS; i++)); do
        curl -fsS -o /dev/null -w '%{time_total}\n' "$url$1" -H "Authorization: Bearer $token"
    done | median | awk '{ printf "%.1f", $1 * 1000 }'
}

# db_median_ms SQL: the median of RUNS runs of SQL by the database's own
# client, in ms, by its timer.
db_median_ms() {
    local i
    for ((i = 0; i <= RUNS; i++)); do
        if [[ ${db[0]} == sqlite3 ]]; then
            printf '%s\n' "$1" | "$bin/rapport-bench" sql --query --database "$work/sqlite/rapport.db"
        else
            printf '\\timing on\n%s\n' "$1" | "${db[@]}" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
        fi
    done | tail -n "$RUNS" | median | awk '{ printf "%.1f", $1 }'
}

search_rows=()
report_rows=()
run_backend() {
    local label=$1 bootstrap ws ws_hex agent now started
    shift
    port=$(free_port 18280)
    url=http://127.0.0.1:$port
    bootstrap=$(cd "$work" && "$bin/rapport" "$@" admin bootstrap \
        --workspace Acme --email owner@acme.test --password 'long enough')
    token=$(json_string api_token <<<"$bootstrap")
    now=$(date +%s%3N)
    log "$label: generating $CONTACTS contacts, $CONVERSATIONS conversations and messages"
    started=$(date +%s)
    if [[ $label == sqlite ]]; then
        sq=("$bin/rapport-bench" sql --query --rows --database "$work/sqlite/rapport.db")
        ws_hex=$("${sq[@]}" <<<"SELECT lower(hex(id)) FROM workspaces")
        ws="X'$ws_hex'"
        agent="X'$("${sq[@]}" <<<"SELECT hex(id) FROM agents")'"
        generate_sql sqlite "$ws" "$agent" "$now" | "$bin/rapport-bench" sql --database "$work/sqlite/rapport.db"
    else
        ws_hex=$("${db[@]}" -c "SELECT id FROM workspaces")
        ws="'$ws_hex'::uuid"
        agent="'$("${db[@]}" -c "SELECT id FROM agents")'::uuid"
        generate_sql postgres "$ws" "$agent" "$now" | "${db[@]}" -v ON_ERROR_STOP=1 -q
    fi
    log "$label: generated in $(($(date +%s) - started)) s"
    start_server "$label" "$@"

    local entry name q matches api ref ratio words fts tsq
    for entry in "${searches[@]}"; do
        IFS='|' read -r name q matches <<<"$entry"
        api=$(median_ms "/api/v1/conversations/search?q=${q// /%20}&limit=20")
        words=($q)
        if [[ $matches == - ]]; then
            # A contact's name: the contacts' scan the search runs.
            ref=$(db_median_ms "SELECT COUNT(*) FROM contacts WHERE workspace_id = $ws AND (lower(name) LIKE '%$(tr 'A-Z' 'a-z' <<<"$q")%' OR lower(email) LIKE '%$(tr 'A-Z' 'a-z' <<<"$q")%');")
        elif [[ $label == sqlite ]]; then
            fts=$(printf '"%s" AND ' "${words[@]:0:${#words[@]}-1}")
            fts="body : (${fts}\"${words[-1]}\"*)"
            [[ ${#words[@]} -gt 1 ]] || fts="body : (\"${words[0]}\"*)"
            ref=$(db_median_ms "SELECT COUNT(*) FROM (SELECT rowid FROM message_search WHERE message_search MATCH 'ws : \"$ws_hex\" AND $fts' ORDER BY rowid DESC LIMIT 200);")
        else
            tsq=$(printf "'%s' & " "${words[@]:0:${#words[@]}-1}")
            tsq="${tsq}'${words[-1]}':*"
            [[ ${#words[@]} -gt 1 ]] || tsq="'${words[0]}':*"
            ref=$(db_median_ms "SELECT COUNT(*) FROM (SELECT id FROM messages WHERE workspace_id = $ws AND to_tsvector('simple', translate(body, '@./:_-+=#?&%~', '             ')) @@ to_tsquery('simple', \$\$$tsq\$\$) ORDER BY created_at DESC, id DESC LIMIT 200) AS t;")
        fi
        ratio=$(awk -v a="$api" -v r="$ref" 'BEGIN { if (r > 0) printf "%.1f", a / r; else print "-" }')
        log "$label: search $name ($q): $api ms (the database alone: $ref ms)"
        search_rows+=("| $label | $CONVERSATIONS | $name | \`$q\` | $matches | **$api** | $ref | $ratio |")
    done

    local today from30 from365 path
    today=$(date -u +%F)
    from30=$(date -u -d '29 days ago' +%F)
    from365=$(date -u -d '364 days ago' +%F)
    ref=$(db_median_ms "SELECT COUNT(*) FROM conversation_stats WHERE workspace_id = $ws AND started_at >= $((now - 365 * DAY));")
    for path in "30 days by day|from=$from30&to=$today&by=day" "365 days by day|from=$from365&to=$today&by=day" \
        "365 days by member|from=$from365&to=$today&by=member" "365 days by channel|from=$from365&to=$today&by=channel"; do
        name=${path%%|*}
        api=$(median_ms "/api/v1/reports?${path#*|}")
        ratio=$(awk -v a="$api" -v r="$ref" 'BEGIN { if (r > 0) printf "%.1f", a / r; else print "-" }')
        log "$label: report $name: $api ms (the database counting 365 days of summaries: $ref ms)"
        report_rows+=("| $label | $CONVERSATIONS | $name | **$api** | $ref | $ratio |")
    done
    stop_server
}

for backend in $BACKENDS; do
    on_backend "$backend" run_backend
done

echo "| backend | messages | search | q | matching messages | median (ms) | the database's own look-up of the 200 newest (ms) | ratio |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${search_rows[@]}"
echo
echo "| backend | conversations | report | median (ms) | the database counting 365 days of summaries (ms) | ratio |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${report_rows[@]}"
