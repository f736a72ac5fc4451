# shellcheck shell=bash
#
# A throwaway S3-compatible server for the tests of attachments kept in a
# bucket: moto's server, from PyPI, pinned, in a virtualenv of its own.
# Needs scripts/lib/postgres.sh sourced first (rapport_apt_install,
# rapport_chain_exit_trap).
#
#   source scripts/lib/s3.sh
#   start_test_s3     # starts it, exports RAPPORT_TEST_S3_ENDPOINT
#   ...               # it is stopped on EXIT (chained after the EXIT trap
#                     # already set, as scripts/lib/postgres.sh does)
#
# Knobs (environment):
#   RAPPORT_CACHE_DIR  where the virtualenv lives (default
#                      ${XDG_CACHE_HOME:-~/.cache}/rapport)

RAPPORT_MOTO_VERSION=5.2.5
rapport_s3_pid=

_rapport_s3_log() {
    printf '[s3] %s\n' "$*" >&2
}

rapport_s3_cleanup() {
    if [[ -n "$rapport_s3_pid" ]]; then
        kill "$rapport_s3_pid" 2>/dev/null || true
        wait "$rapport_s3_pid" 2>/dev/null || true
        rapport_s3_pid=
    fi
}

start_test_s3() {
    local cache_dir=${RAPPORT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rapport}
    local venv=$cache_dir/moto-$RAPPORT_MOTO_VERSION
    if [[ ! -x "$venv/bin/moto_server" ]]; then
        if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
            rapport_apt_install python3 python3-venv
        fi
        _rapport_s3_log "installing moto $RAPPORT_MOTO_VERSION in $venv"
        rm -rf -- "$venv"
        mkdir -p "$cache_dir"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$RAPPORT_MOTO_VERSION"
    fi
    local port log
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    log=$(mktemp "${TMPDIR:-/tmp}/rapport-moto.XXXXXX")
    "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
    rapport_s3_pid=$!
    rapport_chain_exit_trap rapport_s3_cleanup
    local i
    for ((i = 0; i < 100; i++)); do
        if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
            "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1; then
            export RAPPORT_TEST_S3_ENDPOINT=http://127.0.0.1:$port
            _rapport_s3_log "moto $RAPPORT_MOTO_VERSION on $RAPPORT_TEST_S3_ENDPOINT"
            return 0
        fi
        if ! kill -0 "$rapport_s3_pid" 2>/dev/null; then
            _rapport_s3_log "moto stopped; its log:"
            cat "$log" >&2
            return 1
        fi
        sleep 0.2
    done
    _rapport_s3_log "moto did not answer on port $port"
    return 1
}
