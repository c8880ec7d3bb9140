#!/usr/bin/env bash
# Two tracker binaries, A and B, one after the other in PAIRS pairs (ABBA order, so a
# drift of this machine's speed weighs on both alike): each run starts a fresh tracker
# pinned to TRACKER_CPUS, preloads the population (Zipf 1.0), then measures MODE for
# DURATION s with the generator on LOAD_CPUS. Prints each pair's B / A and their median.
# For a change whose gain is smaller than the difference between two runs of the same
# binary (+-15% on the 2-vCPU VM of BENCHMARKS). Loopback only; every step is bounded
# and everything started here stops at exit.
#
#   cargo build --release -p seedline-tracker && git worktree add /tmp/before HEAD~1 &&
#       cargo build --release -p seedline-tracker --manifest-path /tmp/before/Cargo.toml \
#       --target-dir /tmp/before-target
#   A=/tmp/before-target/release/tracker B=target/release/tracker \
#       bash loadtest/bench/tracker-ab.sh
#   A=... B=... TORRENTS=1000 PEERS=10000 DURATION=2 PAIRS=1 bash ...   # smoke
#   A=target/release/tracker A_ARGS="--defer-accept 0" B=target/release/tracker \
#       MODE=new-connection bash loadtest/bench/tracker-ab.sh   # one binary, two settings
#
# Output: $OUT/{a,b}-N.json (`loadtest tracker --json` per run) and $OUT/summary.md.
set -euo pipefail
source "$(dirname "$0")/../../bench/lib.sh"

# A_ARGS, B_ARGS: flags added to A's and B's command lines (split on spaces).
bench_defaults TORRENTS=100000 PEERS=1000000 DURATION=10 CONNECTIONS=64 PAIRS=4 MODE=keep-alive \
    TRACKER_CPUS=0 LOAD_CPUS=1 PORT=27969 MAX_SECONDS=3600 OUT="$ROOT/target/bench/tracker-ab" A_ARGS= B_ARGS=
LOADTEST=$ROOT/target/release/loadtest
bench_time_limit "$MAX_SECONDS" "$@"
bench_need curl jq taskset
for bin in "${A:?A=path of the first tracker binary}" "${B:?B=path of the second}"; do
    [[ -x $bin ]] || { bench_log "not an executable: $bin"; exit 1; }
done
[[ $MODE == keep-alive || $MODE == new-connection ]] || { bench_log "MODE is keep-alive or new-connection"; exit 1; }
bench_build -p seedline-loadtest --bins
mkdir -p "$OUT"
rm -f "$OUT"/a-*.json "$OUT"/b-*.json

# run WHICH N: one fresh tracker, preloaded, measured.
run() {
    local which=$1 n=$2 bin args=() flag=()
    if [[ $which == a ]]; then bin=$A; read -ra args <<<"$A_ARGS"; else bin=$B; read -ra args <<<"$B_ARGS"; fi
    [[ $MODE == new-connection ]] && flag=(--new-connection)
    bench_spawn taskset -c "$TRACKER_CPUS" "$bin" --listen "127.0.0.1:$PORT" \
        --admin-listen "127.0.0.1:$((PORT + 1))" --log-level warn \
        --max-peers-per-address 65536 --max-peers-per-address-total $((PEERS * 2)) "${args[@]}"
    local tpid=$BENCH_PID
    bench_wait_http "http://127.0.0.1:$PORT/health"
    bench_log "$which-$n: preloading"
    timeout 900 taskset -c "$LOAD_CPUS" "$LOADTEST" tracker --target "http://127.0.0.1:$PORT/announce" \
        --torrents "$TORRENTS" --peers "$PEERS" --connections "$CONNECTIONS" --preload --requests 1 \
        --json >/dev/null
    bench_log "$which-$n: $MODE"
    timeout 300 taskset -c "$LOAD_CPUS" "$LOADTEST" tracker --target "http://127.0.0.1:$PORT/announce" \
        --torrents "$TORRENTS" --peers "$PEERS" --connections "$CONNECTIONS" --duration "$DURATION" \
        --target-pid "$tpid" "${flag[@]}" --json >"$OUT/$which-$n.json"
    bench_stop "$tpid"
    # Let the kernel retire the run's TIME_WAIT sockets for a moment.
    sleep 2
}

for n in $(seq "$PAIRS"); do
    if ((n % 2)); then run a "$n"; run b "$n"; else run b "$n"; run a "$n"; fi
done

{
    bench_env_header
    echo "A: $A $A_ARGS"
    echo "B: $B $B_ARGS"
    echo "workload: $TORRENTS torrents, $PEERS peers, zipf 1.0, $CONNECTIONS connections, $MODE, ${DURATION}s, tracker on cpu $TRACKER_CPUS, load on cpu $LOAD_CPUS"
    echo
    echo "| pair | A req/s | A tracker CPU us/req | B req/s | B tracker CPU us/req | B / A |"
    echo "|---|---|---|---|---|---|"
    for n in $(seq "$PAIRS"); do
        jq -rs --arg n "$n" '(.[0].tracker_process.cpu_us_per_request) as $a
            | (.[1].tracker_process.cpu_us_per_request) as $b
            | "| \($n) | \(.[0].measured.requests_per_sec | floor) | \($a * 100 | round / 100) | \(.[1].measured.requests_per_sec | floor) | \($b * 100 | round / 100) | \($b / $a * 100 | round / 100) |"' \
            "$OUT/a-$n.json" "$OUT/b-$n.json"
    done
    echo
    # The median of the pairs' ratios: within a pair the machine's drift cancels.
    for n in $(seq "$PAIRS"); do
        jq -s '.[1].tracker_process.cpu_us_per_request / .[0].tracker_process.cpu_us_per_request' \
            "$OUT/a-$n.json" "$OUT/b-$n.json"
    done | jq -rs 'sort | (if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end)
        | "median of the pairs: B / A \(. * 100 | round / 100)"'
} >"$OUT/summary.md"
cat "$OUT/summary.md"
