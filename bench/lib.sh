# What the benchmark scripts share. Source it right after `set -euo pipefail`:
#
#   source "$(dirname "$0")/../../bench/lib.sh"
#
# It sets ROOT (the repository) and installs EXIT, INT and TERM traps that stop every
# background job of the script (`cmd &`, bench_spawn) and remove every directory made
# with bench_dir, so a run that fails, is interrupted or runs out of time leaves nothing
# behind. Only live jobs of this shell are signalled, never a pid that may have been
# reused since.
#
#   bench_log MESSAGE...           "bench: MESSAGE" on stderr
#   bench_defaults NAME=VALUE...   the script's knobs: each NAME keeps the value the
#                                  environment gives it, else gets VALUE
#   bench_need COMMAND...          exits 1, naming it, unless every COMMAND is on PATH
#   bench_libtorrent               checks that $PYTHON (default Debian's python3) has
#                                  python3-libtorrent; sets LT_HELPER, the tests' driver
#   bench_build CARGO_ARGS...      cargo build --release -q of this repository, bounded
#   bench_env_header               date, CPU, kernel and commit lines for env.txt
#   bench_cpu_ticks PID            user + system CPU of PID, in 1/100 s
#   bench_release ANNOUNCE_URL     $WORK/data/release.bin, $SIZE random bytes, and its
#                                  $WORK/release.torrent; sets BYTES (needs WORK, SIZE
#                                  and a built make-torrent)
#   bench_time_limit SECONDS ARGS  re-runs this script once under `timeout` (exit 124)
#   bench_dir VAR [PARENT]         a new directory (in PARENT, default $TMPDIR or /tmp)
#                                  whose path goes in VAR, removed at exit
#   bench_spawn COMMAND...         runs COMMAND in the background (a job, killed at
#                                  exit); its pid goes in BENCH_PID
#   bench_stop PID                 kills PID and waits for it
#   bench_lt_seed TORRENT DATA LOG [PREFIX...]
#                                  a python3-libtorrent seed of TORRENT (needs
#                                  bench_libtorrent), run under PREFIX (taskset, ip netns
#                                  exec, env ...); sets SEED_PID, SEED_IN (its stdin: it
#                                  seeds until bench_lt_seed_stop closes it) and LT_PORT
#                                  (its peer port) once it says READY
#   bench_lt_seed_stop             closes SEED_IN and stops SEED_PID
#   bench_wait_line FILE PATTERN PID
#                                  prints FILE's first line matching the extended regex
#                                  PATTERN once there is one (30 s at most), or says why
#                                  not (PID exited, or the time) and returns 1
#   bench_wait_http URL [TRIES] [LOG]
#                                  until URL answers 2xx, 0.1 s apart (default 100
#                                  tries); else says so, shows LOG's tail, exits 1

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIRS=()
BENCH_PID=

bench_log() { echo "bench: $*" >&2; }

bench_cleanup() {
    local p jobs
    jobs=$(jobs -p)
    # SIGCONT too: a job the script stopped (SIGSTOP) acts on the TERM only once
    # continued, and the wait below would never end.
    for p in $jobs; do kill "$p" 2>/dev/null || true; kill -CONT "$p" 2>/dev/null || true; done
    for p in $jobs; do wait "$p" 2>/dev/null || true; done
    for p in "${BENCH_DIRS[@]}"; do rm -rf "$p"; done
    return 0
}
trap bench_cleanup EXIT
trap 'bench_log "stopped (time limit, or SIGTERM)"; exit 124' TERM
trap 'bench_log "interrupted"; exit 130' INT

bench_defaults() {
    local kv name
    for kv in "$@"; do
        name=${kv%%=*}
        [[ -n ${!name:-} ]] || printf -v "$name" '%s' "${kv#*=}"
    done
}

bench_need() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null || { bench_log "needs $c"; exit 1; }
    done
}

bench_libtorrent() {
    # Debian's python3, which has python3-libtorrent (not a pyenv or venv one).
    bench_defaults PYTHON=/usr/bin/python3
    LT_HELPER=$ROOT/seeder/tests/it/lt_helper.py
    "$PYTHON" -c 'import libtorrent' 2>/dev/null || { bench_log "needs python3-libtorrent for $PYTHON"; exit 1; }
}

bench_build() {
    bench_log "building release binaries"
    timeout 1800 cargo build --manifest-path "$ROOT/Cargo.toml" --release -q "$@"
}

bench_env_header() {
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), nproc $(nproc)"
    echo "kernel: $(uname -r)"
    echo "seedline: $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD || echo '+dirty')"
}

bench_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

bench_release() {
    mkdir "$WORK/data"
    head -c "$SIZE" /dev/urandom >"$WORK/data/release.bin"
    BYTES=$(stat -c %s "$WORK/data/release.bin")
    "$ROOT/target/release/make-torrent" --announce "$1" -o "$WORK/release.torrent" \
        "$WORK/data/release.bin" >/dev/null
}

bench_time_limit() {
    local seconds=$1
    shift
    if [[ -z ${BENCH_TIME_LIMITED:-} ]]; then
        # -k: a child that ignores the TERM (a long foreground command) is killed later.
        BENCH_TIME_LIMITED=1 exec timeout -s TERM -k 60 "$seconds" "$0" "$@"
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
}

bench_stop() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

bench_wait_http() {
    local url=$1 tries=${2:-100} log=${3:-}
    for _ in $(seq "$tries"); do
        curl -sf -m 1 "$url" >/dev/null && return 0
        sleep 0.1
    done
    bench_log "$url did not answer"
    [[ -n $log ]] && tail -20 "$log" >&2
    exit 1
}

bench_wait_line() {
    local file=$1 pattern=$2 pid=$3
    for _ in $(seq 300); do
        grep -m1 -E "$pattern" "$file" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || { bench_log "process $pid exited: $(tail -5 "$file")"; return 1; }
        sleep 0.1
    done
    bench_log "timed out waiting for /$pattern/ in $file"
    return 1
}

bench_lt_seed() {
    local torrent=$1 data=$2 log=$3 line
    shift 3
    rm -f "$log.in"
    mkfifo "$log.in"
    "$@" "$PYTHON" "$LT_HELPER" seed "$torrent" "$data" <"$log.in" >"$log" 2>&1 &
    SEED_PID=$!
    exec {SEED_IN}>"$log.in"
    line=$(bench_wait_line "$log" '^READY ' "$SEED_PID") || exit 1
    LT_PORT=$(awk '{ print $2 }' <<<"$line")
}

bench_lt_seed_stop() {
    if [[ -n ${SEED_IN:-} ]]; then
        exec {SEED_IN}>&-
        SEED_IN=""
    fi
    bench_stop "$SEED_PID"
    SEED_PID=""
}
