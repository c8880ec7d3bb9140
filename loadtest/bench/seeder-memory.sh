#!/usr/bin/env bash
# What a connected peer costs the seeder in memory, over TCP and over uTP (issue 18):
# a fresh seeder per transport, PEERS synthetic leechers (`loadtest seeder`, each from its
# own 127.x address) download SIZE at once; the seeder's peak RSS (VmHWM) less its RSS
# before the load, divided by PEERS, is the peak memory per connected downloading peer.
#
#   bash loadtest/bench/seeder-memory.sh                    # 64 MiB, 200 peers
set -euo pipefail
source "$(dirname "$0")/../../bench/lib.sh"
cd "$ROOT"
bench_defaults SIZE=64M PEERS=200 SEED_CPU=0 LOAD_CPU=1 MAX_SECONDS=1200 \
    OUT="$ROOT/target/bench/seeder-memory"
bench_time_limit "$MAX_SECONDS" "$@"
bench_need jq
bench_build -p seedline-seeder --bin seeder --bin make-torrent -p seedline-loadtest --bin loadtest
bench_dir WORK
mkdir -p "$OUT"
bench_release http://127.0.0.1:9/announce

kib() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }

{
    bench_env_header
    echo "workload: $BYTES bytes, $PEERS leechers at once, seeder on cpu $SEED_CPU, loadtest on cpu $LOAD_CPU"
    echo "| transport | completed | RSS before KiB | peak RSS KiB | peak KiB per peer |"
    echo "|---|---|---|---|---|"
} >"$OUT/summary.md"
for transport in tcp utp; do
    taskset -c "$SEED_CPU" "$ROOT/target/release/seeder" --torrent "$WORK/release.torrent" \
        --data "$WORK/data" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
        --embedded-tracker-listen 127.0.0.1:0 --embedded-tracker-admin-listen 127.0.0.1:0 \
        --log-format json >"$WORK/seed-$transport.log" 2>&1 &
    SEED_PID=$!
    for _ in $(seq 300); do
        grep -q '"message":"seeding"' "$WORK/seed-$transport.log" && break
        sleep 0.1
    done
    PORT=$(grep '"message":"seeding"' "$WORK/seed-$transport.log" | sed -E 's/.*"addr":"127\.0\.0\.1:([0-9]+)".*/\1/')
    [[ -n $PORT ]] || { bench_log "the seeder did not start"; exit 1; }
    before=$(kib "$SEED_PID" VmRSS)
    taskset -c "$LOAD_CPU" timeout 600 "$ROOT/target/release/loadtest" seeder \
        --target "127.0.0.1:$PORT" --torrent "$WORK/release.torrent" --peers "$PEERS" \
        --transport "$transport" --target-pid "$SEED_PID" --json >"$OUT/$transport.json" || true
    peak=$(kib "$SEED_PID" VmHWM)
    echo "| $transport | $(jq .completed "$OUT/$transport.json") | $before | $peak | $(( (peak - before) / PEERS )) |" >>"$OUT/summary.md"
    bench_stop "$SEED_PID"
done
cat "$OUT/summary.md"
