#!/usr/bin/env bash
#
# bench/import.sh: imports ROWS contacts from a CSV that is generated as it
# is uploaded (awk into curl's chunked upload: neither side ever holds the
# file), and samples the server's resident memory every second. For SQLite
# and for PostgreSQL (a throwaway cluster from scripts/lib/postgres.sh),
# RUNS times each on a fresh database, it prints the rows per second, the
# import's totals and the memory before, at its peak and after.
#
# The reference, measured in the same run on the same database: the
# database copying the rows the import wrote (the contacts and their
# `contact_created` log entries) into empty tables of the same definition
# and indexes, in one statement each, through its own client (sqlite3 or
# psql). That is what the database alone takes to write those rows; the
# import's rate is given as a ratio to it.
#
# Progress goes to stderr, the markdown table to stdout.
#
# Knobs (environment):
#   ROWS      rows to import (default 1000000)
#   RUNS      imports per backend, each on a fresh database (default 3)
#   BACKENDS  which to run (default "sqlite postgres")
#   TMPDIR    where the scratch directory goes

set -euo pipefail
export LC_ALL=C

ROWS=${ROWS:-1000000}
RUNS=${RUNS:-3}
BACKENDS=${BACKENDS:-sqlite postgres}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib/postgres.sh
source scripts/lib/postgres.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh
unset DATABASE_URL RAPPORT_DATA_DIR RAPPORT_CONFIG
# A million generated rows are about 77 MB, above the default 64 MiB cap
# on an import's body.
export RAPPORT_IMPORT_BODY_LIMIT=$((512 * 1024 * 1024))

work=
server_pid=
sampler_pid=
cleanup() {
    stop_pid "$sampler_pid"
    stop_server
    rapport_pg_cleanup
    [[ -z "$work" ]] || rm -rf -- "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cargo build --release -p rapport-server >&2
bin=${CARGO_TARGET_DIR:-$root/target}/release
work=$(mktemp -d "${TMPDIR:-/tmp}/rapport-import.XXXXXX")
chmod 755 "$work"

rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$server_pid/status"; }

# The CSV: user_id, email, name, five custom properties of four types, and
# tags on a quarter of the rows.
csv() {
    awk -v rows="$ROWS" 'BEGIN {
        print "user_id,email,name,plan,seats,beta,signed_up_at,tags"
        for (i = 1; i <= rows; i++)
            printf "u%d,u%d@example.test,Person %d,%s,%d,%s,2026-0%d-1%dT10:00:00Z,%s\n",
                i, i, i, (i % 3 ? "free" : "pro"), i % 50, (i % 2 ? "true" : "false"),
                1 + i % 9, i % 10, (i % 4 ? "" : "vip;beta")
    }'
}

# Seconds the database takes to copy the imported contacts and log entries
# into empty tables of the same definition and indexes.
reference_secs() {
    local started finished
    if [[ ${db[0]} == sqlite3 ]]; then
        local ddl
        # The tables' and their indexes' own statements, renamed (not the
        # property index's triggers, which copy nothing while no property
        # is indexed, as here).
        ddl=$("${db[@]}" "SELECT sql || ';' FROM sqlite_master
            WHERE tbl_name IN ('contacts', 'activity') AND type IN ('table', 'index')
              AND sql IS NOT NULL
            ORDER BY type DESC" |
            sed -e 's/\b\(contacts\|activity\)\b/\1_ref/g' \
                -e 's/^CREATE \(UNIQUE \)\{0,1\}INDEX \([a-z_]*\)/CREATE \1INDEX \2_ref/')
        "${db[@]}" "$ddl"
        started=$(date +%s%3N)
        "${db[@]}" "BEGIN; INSERT INTO contacts_ref SELECT * FROM contacts;
            INSERT INTO activity_ref SELECT * FROM activity; COMMIT;"
        finished=$(date +%s%3N)
    else
        "${db[@]}" -c "CREATE TABLE contacts_ref (LIKE contacts INCLUDING ALL);
            CREATE TABLE activity_ref (LIKE activity INCLUDING ALL)" >/dev/null
        started=$(date +%s%3N)
        "${db[@]}" -c "BEGIN; INSERT INTO contacts_ref SELECT * FROM contacts;
            INSERT INTO activity_ref OVERRIDING SYSTEM VALUE SELECT * FROM activity; COMMIT;" >/dev/null
        finished=$(date +%s%3N)
    fi
    awk -v ms=$((finished - started)) 'BEGIN { printf "%.1f", ms / 1000 }'
}

rows=()
# import_once LABEL RUN ARGS...: one import on a fresh database.
import_once() {
    local label=$1 run=$2 bootstrap token before after peak started finished secs done_line ref
    shift 2
    port=$(free_port 18280)
    url=http://127.0.0.1:$port
    bootstrap=$(cd "$work" && "$bin/rapport" "$@" admin bootstrap \
        --workspace Acme --email owner@acme.test --password 'long enough')
    token=$(json_string api_token <<<"$bootstrap")
    start_server "$label" "$@"
    before=$(rss)
    (while kill -0 "$server_pid" 2>/dev/null; do rss; sleep 1; done) >"$work/rss" &
    sampler_pid=$!

    log "$label: run $run: importing $ROWS generated rows"
    started=$(date +%s%3N)
    csv | curl -fsS -X POST "$url/api/v1/contacts/import" -H "Authorization: Bearer $token" \
        -H 'content-type: text/csv' -H 'transfer-encoding: chunked' -T - >"$work/lines"
    finished=$(date +%s%3N)
    # The memory a minute later is what the import left behind.
    sleep 60
    after=$(rss)
    stop_pid "$sampler_pid"
    sampler_pid=
    stop_server
    peak=$(sort -n "$work/rss" | tail -1)
    done_line=$(tail -1 "$work/lines")
    secs=$(awk -v ms=$((finished - started)) 'BEGIN { printf "%.1f", ms / 1000 }')
    log "$label: run $run: done in $secs s: $done_line"
    ref=$(reference_secs)
    log "$label: run $run: the database copies the same rows in $ref s"
    rows+=("$(printf '| %s | %s | %s | %s | %s | %.0f | %.0f | %.2f | %.1f | %.1f | %.1f |' \
        "$label" "$run" "$(json_field_number created <<<"$done_line")" \
        "$(json_field_number failed <<<"$done_line")" "$secs" \
        "$(awk -v n="$ROWS" -v s="$secs" 'BEGIN { print n / s }')" \
        "$(awk -v n="$ROWS" -v s="$ref" 'BEGIN { print n / s }')" \
        "$(awk -v a="$ref" -v b="$secs" 'BEGIN { print a / b }')" \
        "$(awk -v k="$before" 'BEGIN { print k / 1024 }')" "$(awk -v k="$peak" 'BEGIN { print k / 1024 }')" \
        "$(awk -v k="$after" 'BEGIN { print k / 1024 }')")")
}

for backend in $BACKENDS; do
    for ((run = 1; run <= RUNS; run++)); do
        on_backend "$backend" import_once "$run"
    done
done

echo "| backend | run | created | failed | time (s) | rows/s | the database's copy, rows/s | import ÷ copy | RSS before (MiB) | peak (MiB) | a minute after (MiB) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
