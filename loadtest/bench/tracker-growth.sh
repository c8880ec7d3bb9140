#!/usr/bin/env bash
# Seedline's tracker as its population grows: RSS (bytes per peer) and tracker CPU per
# announce at each SIZES step (torrents:peers, Zipf 1.0), keep-alive and a new connection
# per announce. Each step starts a fresh tracker pinned to TRACKER_CPUS, preloads every
# peer (the RSS read after it is the figure), then measures each mode for DURATION s
# with the generator on LOAD_CPUS, its peers re-announcing. Caps are lifted so every
# peer is stored (at 10 M peers over 1 M torrents the largest swarm holds 695 000).
# Loopback only; every step is bounded and everything started here stops at exit.
#
#   bash loadtest/bench/tracker-growth.sh                               # 100 k, 1 M, 10 M
#   SIZES=1000:10000 DURATION=2 bash loadtest/bench/tracker-growth.sh   # smoke
#
# Output: $OUT/*.json (`loadtest tracker --json` per step and mode) and $OUT/summary.md.
set -euo pipefail
source "$(dirname "$0")/../../bench/lib.sh"

bench_defaults SIZES=10000:100000,100000:1000000,1000000:10000000 DURATION=10 CONNECTIONS=64 \
    TRACKER_CPUS=0 LOAD_CPUS=1 PORT=26969 MAX_SECONDS=3600 BUILD=1 \
    OUT="$ROOT/target/bench/tracker-growth"
TRACKER=$ROOT/target/release/tracker
LOADTEST=$ROOT/target/release/loadtest
bench_time_limit "$MAX_SECONDS" "$@"
bench_need curl jq taskset
[[ $BUILD == 1 ]] && bench_build -p seedline-tracker -p seedline-loadtest --bins
mkdir -p "$OUT"
bench_env_header >"$OUT/env.txt"

rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

{
    echo "| torrents | peers | RSS empty KiB | RSS after preload KiB | bytes/peer | keep-alive req/s | keep-alive tracker CPU us/req | new-connection req/s | new-connection tracker CPU us/req | errors |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
} >"$OUT/summary.md"

for size in ${SIZES//,/ }; do
    torrents=${size%%:*} peers=${size##*:}
    bench_spawn taskset -c "$TRACKER_CPUS" "$TRACKER" --listen "127.0.0.1:$PORT" \
        --admin-listen "127.0.0.1:$((PORT + 1))" --log-level warn \
        --max-torrents $((torrents * 2)) --max-peers $((peers * 2)) --max-peers-per-torrent "$peers" \
        --max-peers-per-address 65536 --max-peers-per-address-total $((peers * 2))
    tpid=$BENCH_PID
    bench_wait_http "http://127.0.0.1:$PORT/health"
    empty=$(rss_kib "$tpid")
    bench_log "$torrents torrents, $peers peers: preloading"
    timeout 1800 taskset -c "$LOAD_CPUS" "$LOADTEST" tracker --target "http://127.0.0.1:$PORT/announce" \
        --torrents "$torrents" --peers "$peers" --connections "$CONNECTIONS" --preload --preload-timeout 1500 --requests 1 \
        --json >"$OUT/preload-$peers.json"
    full=$(rss_kib "$tpid")
    stored=$(jq -r '(.preload.errors_total // 0) + .measured.errors_total' "$OUT/preload-$peers.json")
    row="| $torrents | $peers | $empty | $full | $(awk -v a="$empty" -v b="$full" -v p="$peers" 'BEGIN { printf "%.1f", (b - a) * 1024 / p }')"
    errors=$stored
    for mode in keep-alive new-connection; do
        flag=()
        [[ $mode == new-connection ]] && flag=(--new-connection)
        bench_log "$peers peers: $mode"
        timeout 900 taskset -c "$LOAD_CPUS" "$LOADTEST" tracker --target "http://127.0.0.1:$PORT/announce" \
            --torrents "$torrents" --peers "$peers" --connections "$CONNECTIONS" --duration "$DURATION" \
            --target-pid "$tpid" "${flag[@]}" --json >"$OUT/$mode-$peers.json"
        row+=" | $(jq -r '.measured.requests_per_sec | floor' "$OUT/$mode-$peers.json") | $(jq -r '.tracker_process.cpu_us_per_request * 100 | round / 100' "$OUT/$mode-$peers.json")"
        errors=$((errors + $(jq -r '.measured.errors_total' "$OUT/$mode-$peers.json")))
    done
    echo "$row | $errors |" >>"$OUT/summary.md"
    bench_stop "$tpid"
done
cat "$OUT/summary.md"
