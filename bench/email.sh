#!/usr/bin/env bash
#
# bench/email.sh: the one command that produces the email fallback figures
# for docs/benchmarks.md: how fast `rapport serve` empties a queue of due
# email jobs into a local SMTP sink, whether every email arrives exactly
# once, the memory the queue takes, and what the drain does to live
# delivery's latency.
#
# It builds the server and the load generator, then for SQLite and for
# PostgreSQL (a throwaway cluster from scripts/lib/postgres.sh) on a free
# loopback port:
#   1. starts `rapport serve` (RAPPORT_SMTP_URL names a port where nothing
#      listens yet), bootstraps a workspace and runs `rapport-bench fanout`
#      (RATE messages/s to VISITORS open widgets): the baseline latency;
#   2. runs `rapport-bench seed-emails`: EMAILS contacts with an email
#      address, one message each, so EMAILS email jobs (no widget is open
#      for them: all offline); stops the server and moves those jobs' due
#      time to the year 2100, so that none falls due before the drain;
#   3. starts it again on the same database, lets it settle and reads its
#      VmRSS (the idle figure), stops it;
#   4. meanwhile measures the sink alone: `rapport-bench smtp-sink` on
#      another port and `rapport-bench smtp-blast` sending it EMAILS plain
#      emails with the server's client, pool size and concurrency (the most
#      the server could reach), the same with lettre's pooled transport (the
#      client the server had before), then BLAST_WIDE at once with the
#      server's client (what the sink itself takes);
#   5. starts `rapport-bench smtp-sink --expect EMAILS` on the server's SMTP
#      port and the server again (the drained server), runs the fanout of 1
#      on it and reads its VmRSS RSS_WAIT s later (warm before the drain:
#      the same process, the same database, the same live traffic); starts
#      the fanout again and, DUE_AFTER s into it, makes every seeded job due
#      at once; when the sink has EMAILS distinct Message-IDs (and a few
#      seconds more for late duplicates) it reads the server's peak RSS
#      (VmHWM), waits for the fanout, reads VmRSS again RSS_WAIT s after the
#      last email and stops the server; then asks the database how many
#      messages are settled as emailed and how many seeded jobs are left.
# The fanout's latency during the drain is taken over the messages whose
# POST started between the first and the last email's arrival. It ends by
# printing markdown tables (stdout) to paste into docs/benchmarks.md;
# progress goes to stderr. All traffic stays on 127.0.0.0/8; everything
# started is stopped and every scratch file removed on exit.
#
# Knobs (environment):
#   EMAILS             contacts, jobs and emails (default 10000)
#   EMAIL_CONCURRENCY  the server's RAPPORT_EMAIL_CONCURRENCY, and smtp-blast's
#                      pool and concurrency (default 32)
#   BLAST_WIDE         the second smtp-blast's concurrency (default 128; 0: skip)
#   SINK_THREADS       the sink's threads: one per open SMTP connection
#                      (default 256)
#   SEED_CONCURRENCY   contacts seeded at once (default 32)
#   VISITORS           open widgets in the fanout runs (default 100)
#   RATE               fanout messages/s (default 200)
#   DURATION           measured fanout time (default 20s)
#   WARMUP             unmeasured fanout time before it (default 1s)
#   DUE_AFTER          seconds from the start of the second fanout to the
#                      moment the seeded jobs fall due (default 5: its
#                      widgets connected and its warmup over)
#   SETTLE             seconds idle before the idle RSS reading (default 3)
#   RSS_WAIT           seconds from the last email to the second RSS reading
#                      (default 60)
#   DRAIN_LIMIT        seconds the sink waits for every email (default 900)
#   BACKENDS           which to run (default "sqlite postgres")
#   MAPS               1: also keep the server's /proc smaps and thread count
#                      at the idle and the later reading, and keep the
#                      scratch directory, to see what holds the memory
#   HEAPTRACK          1: record every server's allocations with heaptrack
#                      and stop each with SIGKILL (see start_server in
#                      bench/lib.sh); implies MAPS=1, so the records stay
#   SERVER_FEATURES    cargo's feature arguments for the build, e.g.
#                      "--no-default-features" (the C library's malloc
#                      instead of jemalloc)
#   BENCH_PROFILE      release (default) or debug: debug only checks the
#                      script, its figures mean nothing
#   TMPDIR             where the scratch directory goes

set -euo pipefail
# Decimal points in printf and in the JSON we parse, whatever the locale.
export LC_ALL=C

EMAILS=${EMAILS:-10000}
EMAIL_CONCURRENCY=${EMAIL_CONCURRENCY:-32}
BLAST_WIDE=${BLAST_WIDE:-128}
SINK_THREADS=${SINK_THREADS:-256}
SEED_CONCURRENCY=${SEED_CONCURRENCY:-32}
VISITORS=${VISITORS:-100}
RATE=${RATE:-200}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-1s}
DUE_AFTER=${DUE_AFTER:-5}
SETTLE=${SETTLE:-3}
RSS_WAIT=${RSS_WAIT:-60}
if [[ ${HEAPTRACK:-0} == 1 ]]; then
    MAPS=1
fi
DRAIN_LIMIT=${DRAIN_LIMIT:-900}
BACKENDS=${BACKENDS:-sqlite postgres}
read -ra features <<<"${SERVER_FEATURES:-}"
BENCH_PROFILE=${BENCH_PROFILE:-release}
# The cap on a fanout or blast run (seconds).
RUN_LIMIT=300
# Seconds the sink keeps counting after the last expected email.
LINGER=3
# Where the seeded jobs wait until the drain (Unix ms, 1 January 2100).
PARKED_MS=4102444800000

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib/postgres.sh
source scripts/lib/postgres.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh

# The script chooses the database itself; a caller's setting must not leak in.
unset DATABASE_URL RAPPORT_DATA_DIR RAPPORT_CONFIG

# --- cleanup ----------------------------------------------------------------

work=
server_pid=
sink_pid=
fanout_pid=

cleanup() {
    stop_pid "$fanout_pid"
    stop_pid "$sink_pid"
    stop_server
    # The PostgreSQL cluster lives under $work: stop it before deleting.
    rapport_pg_cleanup
    if [[ -n "$work" && ${MAPS:-0} != 1 ]]; then
        rm -rf -- "$work"
    elif [[ -n "$work" ]]; then
        log "kept $work (MAPS=1)"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- helpers ----------------------------------------------------------------

now_ms() {
    date +%s%3N
}

# Prints field NAME (VmRSS, VmHWM) of the server's /proc status, in KiB.
server_kib() {
    sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$server_pid/status"
}

# With MAPS=1, copies the server's memory map and status to $work/NAME.*.
keep_maps() {
    [[ ${MAPS:-0} == 1 ]] || return 0
    cp "/proc/$server_pid/smaps" "$work/$1.smaps"
    cp "/proc/$server_pid/status" "$work/$1.status"
}

# Waits until something listens on loopback port $1 (process $2 still running).
wait_listening() {
    local i
    for ((i = 0; i < 100; i++)); do
        [[ -n "$(ss -Hltn "sport = :$1")" ]] && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# start_server LOG DATABASE-FLAGS...: `rapport serve` on $port with the email
# fallback sending to $sink_port; appends its output to $work/LOG.log.
start_server() {
    local name=$1
    shift
    server_preload "$name"
    # From $work, so that no ./rapport.toml of the caller's is picked up. The
    # widgets all come from 127.0.0.0/8: the per-IP rate limits are off.
    (cd "$work" && RUST_LOG=warn RAPPORT_SMTP_URL="smtp://127.0.0.1:$sink_port" \
        RAPPORT_EMAIL_FROM=support@acme.test RAPPORT_EMAIL_CONCURRENCY="$EMAIL_CONCURRENCY" \
        RAPPORT_WIDGET_REQUESTS_PER_SECOND_PER_IP=0 \
        exec "${preload[@]}" "$bin/rapport" "$@" serve --listen "127.0.0.1:$port") >>"$work/$name.log" 2>&1 &
    server_pid=$!
    if ! wait_healthy "$url"; then
        log "the server did not become healthy; its log:"
        cat "$work/$name.log" >&2
        return 1
    fi
}

# fanout OUT: `rapport-bench fanout` against the server, in the background
# (sets fanout_pid); JSON to $work/OUT.json, samples to $work/OUT.samples.
fanout() {
    RAPPORT_BENCH_TOKEN=$token timeout "$RUN_LIMIT" "$bin/rapport-bench" fanout \
        --url "$url" --app-id "$app_id" --visitors "$VISITORS" --rate "$RATE" \
        --duration "$DURATION" --warmup "$WARMUP" --clients 64 --json \
        --samples "$work/$1.samples" >"$work/$1.json" 2>"$work/$1.log" &
    fanout_pid=$!
}

# Waits for the background fanout; fails with its log if it failed.
wait_fanout() {
    local status=0 pid=$fanout_pid
    wait "$pid" || status=$?
    fanout_pid=
    if ((status != 0)); then
        log "fanout failed ($status); its log:"
        cat "$work/$1.log" >&2
        return 1
    fi
}

# smtp_sink PORT OUT: the sink on PORT in the background (sets sink_pid),
# expecting $EMAILS; JSON to $work/OUT.json.
smtp_sink() {
    "$bin/rapport-bench" smtp-sink --listen "127.0.0.1:$1" --expect "$EMAILS" \
        --timeout "${DRAIN_LIMIT}s" --linger "${LINGER}s" --threads "$SINK_THREADS" --json \
        >"$work/$2.json" 2>"$work/$2.log" &
    sink_pid=$!
    if ! wait_listening "$1" "$sink_pid"; then
        log "the sink did not start; its log:"
        cat "$work/$2.log" >&2
        return 1
    fi
}

# Waits for the sink to exit; fails if the server (when one runs) stops first.
wait_sink() {
    local pid=$sink_pid
    while kill -0 "$pid" 2>/dev/null; do
        if [[ -n "$server_pid" ]] && ! kill -0 "$server_pid" 2>/dev/null; then
            log "the server stopped before the sink had every email"
            return 1
        fi
        sleep 0.2
    done
    wait "$pid"
    sink_pid=
}

# latency_in FILE FROM TO: "count p50 p99 max lost" of the fanout samples in
# FILE whose POST started between Unix ms FROM and TO (nearest rank).
latency_in() {
    local lost
    lost=$(awk -v from="$2" -v to="$3" \
        '$1 >= from && $1 <= to && ($2 == "lost" || $2 == "error") { n++ } END { print n + 0 }' "$1")
    awk -v from="$2" -v to="$3" '$1 >= from && $1 <= to && $2 != "lost" && $2 != "error" { print $2 }' "$1" |
        sort -g | awk -v lost="$lost" '
            function rank(q,   r) { r = int(q * NR); if (r < q * NR) r++; return r < 1 ? 1 : r }
            { v[NR] = $1 }
            END {
                if (NR == 0) { printf "0 0 0 0 %d\n", lost; exit }
                printf "%d %.1f %.1f %.1f %d\n", NR, v[rank(0.5)], v[rank(0.99)], v[NR], lost
            }'
}

# run_backend LABEL DATABASE-FLAGS...: the five steps above; results in
# $work/LABEL-*.json and $work/LABEL.vars.
run_backend() {
    local label=$1 bootstrap seed_from wait_ms rss_fresh rss_idle rss_warm rss_before start_ms
    local parked hwm rss_end rss_later drained_ms blast_port warnings emailed jobs_left client
    shift
    port=$(free_port 18080)
    sink_port=$(free_port 12525)
    url=http://127.0.0.1:$port

    log "$label: starting rapport serve on $url, emails to 127.0.0.1:$sink_port (nothing listens there yet)"
    start_server "$label-server" "$@"
    bootstrap=$(cd "$work" && "$bin/rapport" "$@" admin bootstrap \
        --workspace Acme --email owner@acme.test --password 'long enough')
    app_id=$(json_string app_id <<<"$bootstrap")
    token=$(json_string api_token <<<"$bootstrap")
    if [[ -z "$app_id" || -z "$token" ]]; then
        log "$label: no app_id or api_token in the bootstrap output: $bootstrap"
        return 1
    fi
    rss_fresh=$(server_kib VmRSS)

    log "$label: baseline fanout, $RATE messages/s to $VISITORS widgets, no email queue"
    fanout "$label-fanout-idle"
    wait_fanout "$label-fanout-idle"
    # The first warm reading: this server RSS_WAIT s after the fanout alone,
    # on an empty database (the drained server's own warm reading, on the
    # seeded database, is taken before its drain below).
    log "$label: waiting ${RSS_WAIT}s after the fanout alone for the first warm reading"
    sleep "$RSS_WAIT"
    rss_warm=$(server_kib VmRSS)
    keep_maps "$label-warm"

    log "$label: seeding $EMAILS contacts and messages"
    seed_from=$(now_ms)
    RAPPORT_BENCH_TOKEN=$token "$bin/rapport-bench" seed-emails --url "$url" --count "$EMAILS" \
        --concurrency "$SEED_CONCURRENCY" --json >"$work/$label-seed.json"
    stop_server
    # The seeded jobs wait, whatever the workspace's delay, until the drain
    # makes them due all at once (the fanouts' own jobs keep their delay).
    "${db_query[@]}" "UPDATE jobs SET due_at = $PARKED_MS
        WHERE kind = 'email_fallback' AND created_at >= $seed_from"
    parked=$("${db_query[@]}" "SELECT count(*) FROM jobs WHERE due_at = $PARKED_MS")
    if ((parked != EMAILS)); then
        log "$label: $parked seeded email jobs, not $EMAILS"
        return 1
    fi

    # The idle reading: a server just started on the seeded database.
    log "$label: idle restart: VmRSS after ${SETTLE}s"
    start_server "$label-server" "$@"
    sleep "$SETTLE"
    rss_idle=$(server_kib VmRSS)
    keep_maps "$label-idle"
    stop_server

    blast_port=$(free_port $((sink_port + 1)))
    for blast in "rapport $EMAIL_CONCURRENCY" "lettre $EMAIL_CONCURRENCY" "rapport $BLAST_WIDE"; do
        read -r client blast <<<"$blast"
        ((blast > 0)) || continue
        log "$label: the sink alone: smtp-blast $EMAILS emails, $blast at once, $client's client"
        smtp_sink "$blast_port" "$label-blast-$client-$blast-sink"
        timeout "$RUN_LIMIT" "$bin/rapport-bench" smtp-blast --url "smtp://127.0.0.1:$blast_port" \
            --client "$client" --count "$EMAILS" --concurrency "$blast" --json \
            >"$work/$label-blast-$client-$blast.json"
        wait_sink
    done

    log "$label: the drained server: sink on 127.0.0.1:$sink_port, server restarted, the fanout alone"
    smtp_sink "$sink_port" "$label-sink"
    start_server "$label-drain" "$@"
    fanout "$label-fanout-warm"
    wait_fanout "$label-fanout-warm"
    log "$label: waiting ${RSS_WAIT}s after the fanout alone for the warm reading before the drain"
    sleep "$RSS_WAIT"
    rss_before=$(server_kib VmRSS)
    keep_maps "$label-before"

    log "$label: the drain: fanout again, the seeded jobs due ${DUE_AFTER}s into it"
    fanout "$label-fanout-drain"
    sleep "$DUE_AFTER"
    start_ms=$(now_ms)
    "${db_query[@]}" "UPDATE jobs SET due_at = $start_ms WHERE due_at = $PARKED_MS"
    wait_sink
    hwm=$(server_kib VmHWM)
    rss_end=$(server_kib VmRSS)
    log "$label: $(tail -n 1 "$work/$label-sink.log")"
    drained_ms=$(now_ms)
    wait_fanout "$label-fanout-drain"
    wait_ms=$((drained_ms + RSS_WAIT * 1000 - $(now_ms)))
    if ((wait_ms > 0)); then
        log "$label: waiting $((wait_ms / 1000))s to read the memory ${RSS_WAIT}s after the drain"
        sleep "$((wait_ms / 1000)).$(printf '%03d' $((wait_ms % 1000)))"
    fi
    rss_later=$(server_kib VmRSS)
    keep_maps "$label-later"
    stop_server
    warnings=$(grep -cE ' (WARN|ERROR) ' "$work/$label-drain.log" || true)
    if ((warnings > 0)); then
        log "$label: the server logged $warnings warnings or errors during the drain; the first:"
        grep -E ' (WARN|ERROR) ' "$work/$label-drain.log" | head -n 5 >&2
    fi
    # What the database says, the server stopped: messages settled as
    # emailed, and seeded jobs still there (the fanouts' own jobs keep the
    # workspace's delay, 10 minutes: none came due).
    emailed=$("${db_query[@]}" "SELECT count(*) FROM messages WHERE email_status = 'emailed'")
    jobs_left=$("${db_query[@]}" \
        "SELECT count(*) FROM jobs WHERE kind = 'email_fallback' AND created_at >= $seed_from
           AND created_at <= $start_ms AND due_at <= $start_ms")

    {
        printf 'rss_fresh=%s rss_idle=%s rss_warm=%s rss_before=%s hwm=%s rss_end=%s rss_later=%s\n' \
            "$rss_fresh" "$rss_idle" "$rss_warm" "$rss_before" "$hwm" "$rss_end" "$rss_later"
        printf 'start_ms=%s warnings=%s emailed=%s jobs_left=%s\n' "$start_ms" "$warnings" \
            "$emailed" "$jobs_left"
    } >"$work/$label.vars"
}

# Prints the sink's emails/s for LABEL's blast with client $2 at
# concurrency $3, or n/a.
blast_rate() {
    local file=$work/$1-blast-$2-$3-sink.json
    if [[ -s "$file" ]]; then
        printf '%.0f' "$(json_number "$file" emails_per_s)"
    else
        printf 'n/a'
    fi
}

mib() {
    awk "BEGIN { printf \"%.1f\", $1 / 1024 }"
}

# Prints the delivery table's row for LABEL.
delivery_row() {
    local name=$1 label=$2 sink=$work/$2-sink.json warnings emailed jobs_left
    # shellcheck disable=SC1090 # written by run_backend
    source "$work/$label.vars"
    printf '| %s | %s | %s | %s | **%s** | **%s** | %s | %s | %s | %s |\n' "$name" \
        "$(json_number "$sink" expect)" "$(json_number "$sink" received)" \
        "$(json_number "$sink" unique)" "$(json_number "$sink" duplicates)" \
        "$(json_number "$sink" missing)" "$(json_number "$sink" recipients)" \
        "$emailed" "$jobs_left" "$warnings"
}

# Prints the speed and memory table's row for LABEL.
speed_row() {
    local name=$1 label=$2 sink=$work/$2-sink.json rss_idle rss_warm rss_before hwm rss_end rss_later
    local start_ms last
    # shellcheck disable=SC1090 # written by run_backend
    source "$work/$label.vars"
    last=$(json_number "$sink" last_unix_ms)
    printf '| %s | **%.0f** | %.0f | %.1f | %.1f | %s | %s |%s %s | %s | %s | %s / %s / **%s** | %s | **%s** | %s |\n' "$name" \
        "$(json_number "$sink" emails_per_s)" "$(json_number "$sink" median_per_s)" \
        "$(json_number "$sink" span_s)" "$(awk "BEGIN { print ($last - $start_ms) / 1000 }")" \
        "$(blast_rate "$label" rapport "$EMAIL_CONCURRENCY")" \
        "$(blast_rate "$label" lettre "$EMAIL_CONCURRENCY")" \
        "$( ((BLAST_WIDE > 0)) && printf ' %s |' "$(blast_rate "$label" rapport "$BLAST_WIDE")")" \
        "$(mib "$rss_idle")" "$(mib "$rss_warm")" "$(mib "$rss_before")" "$(mib "$hwm")" \
        "$(mib "$rss_end")" "$(mib "$rss_later")" "$(mib "$((hwm - rss_idle))")" \
        "$(awk "BEGIN { printf \"%.2f\", $rss_later / $rss_before }")" \
        "$(awk "BEGIN { printf \"%.2f\", $rss_later / $rss_warm }")"
}

# Prints the latency table's row for LABEL.
latency_row() {
    local name=$1 label=$2 sink=$work/$2-sink.json idle=$work/$2-fanout-idle.json first last
    local warm=$work/$2-fanout-warm.json n p50 p99 max lost
    first=$(json_number "$sink" first_unix_ms)
    last=$(json_number "$sink" last_unix_ms)
    read -r n p50 p99 max lost < <(latency_in "$work/$label-fanout-drain.samples" "$first" "$last")
    printf '| %s | %.0f | %.1f / **%.1f** / %.1f | %s | %.1f / %.1f / %.1f | %.1f / **%.1f** / %.1f | %s | %s |\n' "$name" \
        "$(json_number "$idle" achieved_per_s)" \
        "$(json_number "$idle" p50_ms)" "$(json_number "$idle" p99_ms)" "$(json_number "$idle" max_ms)" \
        "$(($(json_number "$idle" lost) + $(json_number "$idle" errors)))" \
        "$(json_number "$warm" p50_ms)" "$(json_number "$warm" p99_ms)" "$(json_number "$warm" max_ms)" \
        "$p50" "$p99" "$max" "$lost" "$n"
}

# --- build ------------------------------------------------------------------

case "$BENCH_PROFILE" in
release) cargo build --release -p rapport-server -p rapport-bench "${features[@]}" ;;
debug) cargo build -p rapport-server -p rapport-bench "${features[@]}" ;;
*)
    log "BENCH_PROFILE must be release or debug, not $BENCH_PROFILE"
    exit 2
    ;;
esac
bin=${CARGO_TARGET_DIR:-$root/target}/$BENCH_PROFILE
if [[ "$BENCH_PROFILE" != release ]]; then
    log "WARNING: $BENCH_PROFILE build: these figures only check the script"
fi

# --- the runs ---------------------------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/rapport-email.XXXXXX")
# As root, the PostgreSQL cluster under it runs as the postgres user.
chmod 755 "$work"

names=()
labels=()
for backend in $BACKENDS; do
    case "$backend" in
    sqlite)
        # A second writer beside the running server: wait for its lock.
        db_query=(sqlite3 -batch -cmd '.timeout 10000' "$work/sqlite/rapport.db")
        run_backend sqlite --data-dir "$work/sqlite"
        names+=(SQLite)
        labels+=(sqlite)
        ;;
    postgres)
        ensure_postgres_installed
        TMPDIR=$work start_test_postgres
        psql "$RAPPORT_TEST_POSTGRES_URL" -v ON_ERROR_STOP=1 -q -c 'CREATE DATABASE rapport_bench'
        pg_version=$(psql "$RAPPORT_TEST_POSTGRES_URL" -Atc 'SHOW server_version')
        db_query=(psql -Atq -d "${RAPPORT_TEST_POSTGRES_URL%/*}/rapport_bench" -c)
        run_backend postgres --database-url "${RAPPORT_TEST_POSTGRES_URL%/*}/rapport_bench"
        names+=("PostgreSQL ${pg_version%% *}")
        labels+=(postgres)
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
printf 'Email fallback: `bench/email.sh` (%s build); %s due jobs, email_concurrency %s, sink threads %s.\n\n' \
    "$BENCH_PROFILE" "$EMAILS" "$EMAIL_CONCURRENCY" "$SINK_THREADS"
printf 'Delivery: what the sink received (distinct by Message-ID; recipients: distinct envelope addresses) and, the server stopped, what its database says: messages settled as emailed, seeded email jobs still left.\n\n'
printf '| backend | expected | received | unique | duplicates | missing | recipients | emailed (database) | jobs left | server warnings |\n'
printf '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n'
for i in "${!labels[@]}"; do
    delivery_row "${names[$i]}" "${labels[$i]}"
done
printf '\n'
# shellcheck disable=SC2016 # the backticks are markdown
printf 'Speed and memory: emails/s between the first and the last distinct email at the sink, and its median over whole seconds; sink alone: the sink'"'"'s emails/s for %s plain emails of about the same size from `rapport-bench smtp-blast` (the server'"'"'s own pool, then lettre'"'"'s pooled transport), as many at once as the server, then more; the drain s: from the moment the jobs fell due to the last email; RSS in MiB, idle: a server just started on the seeded database, after %ss; first warm: the first server, on an empty database, %ss after the fanout alone; before the drain: the drained server, on the seeded database, %ss after the same fanout alone; peak: VmHWM of the drained server (its fanouts included); after: VmRSS once the sink had every email, and again %ss later.\n\n' \
    "$EMAILS" "$SETTLE" "$RSS_WAIT" "$RSS_WAIT" "$RSS_WAIT"
wide_head=''
wide_rule=''
if ((BLAST_WIDE > 0)); then
    wide_head=" sink alone, $BLAST_WIDE at once |"
    wide_rule=' --- |'
fi
printf '| backend | emails/s | median emails/s (per second) | drain s (first to last email) | s from due to last email | sink alone, %s at once | the same from lettre'"'"'s own pool |%s RSS idle | RSS first warm | RSS before the drain | RSS peak / after / %ss after | queue memory (peak - idle) | %ss after / before the drain | %ss after / first warm |\n' \
    "$EMAIL_CONCURRENCY" "$wide_head" "$RSS_WAIT" "$RSS_WAIT" "$RSS_WAIT"
printf '| --- | --- | --- | --- | --- | --- | --- |%s --- | --- | --- | --- | --- | --- | --- |\n' "$wide_rule"
for i in "${!labels[@]}"; do
    speed_row "${names[$i]}" "${labels[$i]}"
done
printf '\n'
# shellcheck disable=SC2016 # the backticks are markdown
printf 'Live delivery beside it: `rapport-bench fanout`, %s messages/s to %s open widgets, %s measured after %s warmup; idle: the first server, before seeding; before the drain: the drained server'"'"'s first fanout; during the drain: the messages of its second whose POST started between the first and the last email (ms).\n\n' \
    "$RATE" "$VISITORS" "$DURATION" "$WARMUP"
printf '| backend | sent/s | idle p50 / p99 / max | idle lost | before the drain p50 / p99 / max | drain p50 / p99 / max | drain lost | drain samples |\n'
printf '| --- | --- | --- | --- | --- | --- | --- | --- |\n'
for i in "${!labels[@]}"; do
    latency_row "${names[$i]}" "${labels[$i]}"
done
printf '\n'
printf 'Machine: %s cores (%s), %s GiB, Linux %s, %s. The sink, the load generators and the server share the cores.\n' \
    "$(nproc)" "${cpu:-unknown CPU}" "$(awk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)" \
    "$(uname -r)" "$(date -u '+%Y-%m-%d %H:%M UTC')"
