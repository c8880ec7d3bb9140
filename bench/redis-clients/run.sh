#!/usr/bin/env bash
# Redis client crates side by side (issue 17's choice): redis-server alone on cpu 1, the
# client on cpu 0, one connection each, the same requests; pairs alternate.
#   bash bench/redis-clients/run.sh
set -euo pipefail
cd "$(dirname "$0")"
source ../lib.sh
bench_defaults REQUESTS=200000 IN_FLIGHT="1 64" ROUNDS=3 RPORT=29991
bench_need redis-server redis-cli
cargo build --release --quiet
bench_dir WORK
taskset -c 1 redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no >"$WORK/redis.log" 2>&1 &

for _ in $(seq 100); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
for f in $IN_FLIGHT; do
    for _ in $(seq "$ROUNDS"); do
        for c in redis-rs fred; do
            taskset -c 0 target/release/redis-clients "redis://127.0.0.1:$RPORT" "$c" "$REQUESTS" "$f"
        done
    done
done
