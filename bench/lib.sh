# What the benchmark scripts share. Source it right after `set -euo pipefail`:
#
#   source "$(dirname "$0")/../../bench/lib.sh"
#
# It sets ROOT (the repository) and installs EXIT, INT and TERM traps that stop every
# process started with bench_spawn and remove every directory made with bench_dir, so
# a run that fails, is interrupted or runs out of time leaves nothing behind.
#
#   bench_log MESSAGE...           "bench: MESSAGE" on stderr
#   bench_time_limit SECONDS ARGS  re-runs this script once under `timeout` (exit 124)
#   bench_dir VAR [PARENT]         a new directory (in PARENT, default $TMPDIR or /tmp)
#                                  whose path goes in VAR, removed at exit
#   bench_spawn COMMAND...         runs COMMAND in the background, killed at exit; its
#                                  pid goes in BENCH_PID
#   bench_stop PID                 kills PID and waits for it
#   bench_wait_http URL [TRIES]    until URL answers 2xx, 0.1 s apart (default 100 tries)

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_PIDS=()
BENCH_DIRS=()
BENCH_PID=

bench_log() { echo "bench: $*" >&2; }

bench_cleanup() {
    local p
    for p in "${BENCH_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${BENCH_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    for p in "${BENCH_DIRS[@]}"; do rm -rf "$p"; done
    return 0
}
trap bench_cleanup EXIT
trap 'bench_log "stopped (time limit, or SIGTERM)"; exit 124' TERM
trap 'bench_log "interrupted"; exit 130' INT

bench_time_limit() {
    local seconds=$1
    shift
    if [[ -z ${BENCH_TIME_LIMITED:-} ]]; then
        BENCH_TIME_LIMITED=1 exec timeout -s TERM "$seconds" "$0" "$@"
    fi
}

bench_dir() {
    local dir
    dir=$(mktemp -d -p "${2:-${TMPDIR:-/tmp}}")
    BENCH_DIRS+=("$dir")
    printf -v "$1" '%s' "$dir"
}

bench_spawn() {
    "$@" &
    BENCH_PID=$!
    BENCH_PIDS+=("$BENCH_PID")
}

bench_stop() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

bench_wait_http() {
    local url=$1 tries=${2:-100}
    for _ in $(seq "$tries"); do
        curl -sf -m 1 "$url" >/dev/null && return 0
        sleep 0.1
    done
    return 1
}
