#!/usr/bin/env bash
# What encryption costs the seeder (issue 18): `loadtest seeder` downloads SIZE of random
# data from Seedline's seeder with PEERS leechers at once, in turn with plain handshakes
# (none), encrypted handshakes asking for a plain-text stream (plain) and RC4 streams
# (rc4), ROUNDS times. Reports throughput and the seeder's CPU seconds per GiB
# uploaded (loadtest reads them from /proc with --target-pid).
#
#   bash loadtest/bench/seeder-encryption.sh                 # 256 MiB, 4 peers, 3 rounds
#   SIZE=64M ROUNDS=1 bash loadtest/bench/seeder-encryption.sh   # smoke test
#   LOADTEST_SEEDER_TRANSPORT=utp bash loadtest/bench/seeder-encryption.sh   # over uTP
set -euo pipefail
source "$(dirname "$0")/../../bench/lib.sh"
cd "$ROOT"
bench_defaults SIZE=256M PEERS=4 ROUNDS=3 SEED_CPU=0 LOAD_CPU=1 MAX_SECONDS=1200 \
    OUT="$ROOT/target/bench/seeder-encryption"
bench_time_limit "$MAX_SECONDS" "$@"
bench_need jq
bench_build -p seedline-seeder --bin seeder --bin make-torrent -p seedline-loadtest --bin loadtest
bench_dir WORK
mkdir -p "$OUT"
bench_release http://127.0.0.1:9/announce

taskset -c "$SEED_CPU" "$ROOT/target/release/seeder" --torrent "$WORK/release.torrent" \
    --data "$WORK/data" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
    --embedded-tracker-listen 127.0.0.1:0 --embedded-tracker-admin-listen 127.0.0.1:0 \
    --log-format json >"$WORK/seed.log" 2>&1 &
SEED_PID=$!
for _ in $(seq 300); do
    grep -q '"message":"seeding"' "$WORK/seed.log" && break
    sleep 0.1
done
PORT=$(grep '"message":"seeding"' "$WORK/seed.log" | sed -E 's/.*"addr":"127\.0\.0\.1:([0-9]+)".*/\1/')
[[ -n $PORT ]] || { bench_log "the seeder did not start"; cat "$WORK/seed.log" >&2; exit 1; }

{
    bench_env_header
    echo "workload: $BYTES bytes, $PEERS leechers at once, seeder on cpu $SEED_CPU, loadtest on cpu $LOAD_CPU"
    echo "| round | encryption | MB/s | seeder CPU s/GiB |"
    echo "|---|---|---|---|"
} >"$OUT/summary.md"
for r in $(seq "$ROUNDS"); do
    for enc in none plain rc4; do
        taskset -c "$LOAD_CPU" timeout 600 "$ROOT/target/release/loadtest" seeder \
            --target "127.0.0.1:$PORT" --torrent "$WORK/release.torrent" --peers "$PEERS" \
            --encryption "$enc" --target-pid "$SEED_PID" --json >"$OUT/$enc-$r.json"
        jq -r --arg r "$r" --arg enc "$enc" \
            '"| \($r) | \($enc) | \(.mb_per_sec * 10 | round / 10) | \(.target_process.cpu_secs_per_gib * 100 | round / 100) |"' \
            "$OUT/$enc-$r.json" >>"$OUT/summary.md"
    done
done
cat "$OUT/summary.md"
