#!/usr/bin/env bash
#
# bench/import.sh: imports ROWS contacts from a CSV that is generated as it
# is uploaded (awk into curl's chunked upload: neither side ever holds the
# file), and samples the server's resident memory every second. Prints the
# rows per second, the import's totals and the memory before, at its peak
# and after, as a markdown table; progress goes to stderr. SQLite only
# (the import path is the upsert's, which the other benchmarks cover on
# both backends).
#
# Knobs (environment):
#   ROWS     rows to import (default 1000000)
#   TMPDIR   where the scratch directory goes

set -euo pipefail
export LC_ALL=C

ROWS=${ROWS:-1000000}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=bench/lib.sh
source bench/lib.sh
unset DATABASE_URL RAPPORT_DATA_DIR RAPPORT_CONFIG

work=
server_pid=
sampler_pid=
cleanup() {
    stop_pid "$sampler_pid"
    stop_server
    [[ -z "$work" ]] || rm -rf -- "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cargo build --release -p rapport-server >&2
bin=${CARGO_TARGET_DIR:-$root/target}/release
work=$(mktemp -d "${TMPDIR:-/tmp}/rapport-import.XXXXXX")
port=$(free_port 18280)
url=http://127.0.0.1:$port

bootstrap=$(cd "$work" && "$bin/rapport" --data-dir "$work/data" admin bootstrap \
    --workspace Acme --email owner@acme.test --password 'long enough')
token=$(json_string api_token <<<"$bootstrap")
start_server server --data-dir "$work/data"
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$server_pid/status"; }
before=$(rss)
(while kill -0 "$server_pid" 2>/dev/null; do rss; sleep 1; done) >"$work/rss" &
sampler_pid=$!

log "importing $ROWS generated rows"
started=$(date +%s%3N)
awk -v rows="$ROWS" 'BEGIN {
    print "user_id,email,name,plan,seats,beta,signed_up_at,tags"
    for (i = 1; i <= rows; i++)
        printf "u%d,u%d@example.test,Person %d,%s,%d,%s,2026-0%d-1%dT10:00:00Z,%s\n",
            i, i, i, (i % 3 ? "free" : "pro"), i % 50, (i % 2 ? "true" : "false"),
            1 + i % 9, i % 10, (i % 4 ? "" : "vip;beta")
}' | curl -fsS -X POST "$url/api/v1/contacts/import" -H "Authorization: Bearer $token" \
    -H 'content-type: text/csv' -H 'transfer-encoding: chunked' -T - >"$work/lines"
finished=$(date +%s%3N)
after=$(rss)
stop_pid "$sampler_pid"
sampler_pid=
peak=$(sort -n "$work/rss" | tail -1)
done_line=$(tail -1 "$work/lines")
secs=$(awk -v ms=$((finished - started)) 'BEGIN { printf "%.1f", ms / 1000 }')
log "done in $secs s: $done_line"

echo "| rows | created | failed | time (s) | rows/s | RSS before (MiB) | peak (MiB) | after (MiB) |"
echo "|---|---|---|---|---|---|---|---|"
printf '| %s | %s | %s | %s | %.0f | %.1f | %.1f | %.1f |\n' "$ROWS" \
    "$(json_field_number created <<<"$done_line")" "$(json_field_number failed <<<"$done_line")" \
    "$secs" "$(awk -v n="$ROWS" -v s="$secs" 'BEGIN { print n / s }')" \
    "$(awk -v k="$before" 'BEGIN { print k / 1024 }')" "$(awk -v k="$peak" 'BEGIN { print k / 1024 }')" \
    "$(awk -v k="$after" 'BEGIN { print k / 1024 }')"
