#!/usr/bin/env bash
# The shared store (issue 17): announces per second through one Redis core, Redis CPU
# per announce, latency at a fixed rate, and Redis memory per peer, with one and with
# two tracker instances on the same Redis.
#
# redis-server runs alone on REDIS_CPU (its single core is what is measured); trackers
# and load generators share TRACKER_CPUS. Each run starts an empty Redis, preloads the
# population, then measures; Redis's CPU comes from /proc, like the tracker's.
#
#   bash tracker/bench/redis-store.sh
#   TORRENTS=1000 PEERS=10000 DURATION=2 bash tracker/bench/redis-store.sh   # smoke
#   RUNS=rate RATE=10000 bash tracker/bench/redis-store.sh    # latency below capacity
set -euo pipefail
source "$(dirname "$0")/../../bench/lib.sh"
cd "$ROOT"
bench_defaults TORRENTS=100000 PEERS=1000000 DURATION=10 CONNECTIONS=64 RATE=20000 \
    REDIS_CPU=1 TRACKER_CPUS=0 PORT=29969 RPORT=29979 MAX_SECONDS=1800 RUNS=one,two,rate \
    OUT="$ROOT/target/bench/redis-store"
bench_time_limit "$MAX_SECONDS" "$@"
bench_need redis-server redis-cli jq
bench_dir WORK
mkdir -p "$OUT"
rm -f "$OUT"/*.json
TRACKER=$ROOT/target/release/tracker
LOADTEST=$ROOT/target/release/loadtest
bench_build -p seedline-tracker -p seedline-loadtest

RPID=""
start_redis() {
    taskset -c "$REDIS_CPU" redis-server --port "$RPORT" --bind 127.0.0.1 --save '' \
        --appendonly no >"$WORK/redis.log" 2>&1 &
    RPID=$!
    for _ in $(seq 100); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
    bench_log "redis-server did not start"; cat "$WORK/redis.log" >&2; exit 1
}

# start_tracker N: instance N on PORT+2N (admin PORT+2N+1); sets TPIDS.
TPIDS=()
start_tracker() {
    local p=$((PORT + 2 * $1))
    taskset -c "$TRACKER_CPUS" "$TRACKER" --listen "127.0.0.1:$p" --admin-listen "127.0.0.1:$((p + 1))" \
        --store "redis://127.0.0.1:$RPORT/0" --max-peers-per-address 65536 \
        --log-level warn >"$WORK/tracker$1.log" 2>&1 &
    TPIDS+=($!)
    bench_wait_http "http://127.0.0.1:$p/health" 100 "$WORK/tracker$1.log"
}

stop_all() {
    local p
    for p in "${TPIDS[@]}" "$RPID"; do bench_stop "$p"; done
    TPIDS=()
    RPID=""
}

# load NAME N FLAGS...: one generator per instance (N of them), each with its own half
# of the peers (seed N) over the same torrents; waits for all.
load() {
    local name=$1 n=$2 i pids=()
    shift 2
    for i in $(seq 0 $((n - 1))); do
        taskset -c "$TRACKER_CPUS" timeout 900 "$LOADTEST" tracker \
            --target "http://127.0.0.1:$((PORT + 2 * i))/announce" --seed "$((i + 1))" \
            --torrents "$TORRENTS" --peers "$((PEERS / n))" --connections "$((CONNECTIONS / n))" \
            --target-pid "${TPIDS[$i]}" --json "$@" >"$OUT/$name-$i.json" 2>"$WORK/$name-$i.err" &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i" || true; done
}

redis_ticks() { bench_cpu_ticks "$RPID"; }

# run NAME INSTANCES [FLAGS...]: fresh Redis and trackers, preload, measure.
run() {
    local name=$1 n=$2 i before after mem keys
    shift 2
    start_redis
    for i in $(seq 0 $((n - 1))); do start_tracker "$i"; done
    bench_log "$name: preloading $PEERS peers over $n instance(s)"
    load "$name-preload" "$n" --preload --requests 1
    mem=$(redis-cli -p "$RPORT" info memory | awk -F: '/^used_memory:/ { print $2 + 0 }')
    keys=$(redis-cli -p "$RPORT" dbsize)
    bench_log "$name: measuring"
    before=$(redis_ticks)
    load "$name" "$n" --duration "$DURATION" "$@"
    after=$(redis_ticks)
    jq -s --arg name "$name" --argjson n "$n" --argjson ticks $((after - before)) \
        --argjson mem "$mem" --argjson keys "$keys" --argjson peers "$PEERS" '{
        name: $name, instances: $n,
        announces_per_sec: (map(.measured.requests_per_sec) | add),
        errors: (map(.measured.errors_total) | add),
        p50_us: (map(.measured.latency_us.p50) | max), p99_us: (map(.measured.latency_us.p99) | max),
        tracker_cpu_us: (map(.tracker_process.cpu_us_per_request) | add / length),
        redis_cpu_us: ($ticks * 10000 / (map(.measured.requests + .measured.errors_total) | add)),
        redis_bytes_per_peer: ($mem / $peers), redis_keys: $keys }' \
        "$OUT/$name"-[0-9].json >"$OUT/$name.summary.json"
    cat "$OUT/$name.summary.json"
    stop_all
}

{
    bench_env_header
    echo "redis: $(redis-server --version)"
    echo "workload: $TORRENTS torrents, $PEERS peers, $CONNECTIONS connections in all, ${DURATION}s; redis on cpu $REDIS_CPU, trackers and generators on cpu $TRACKER_CPUS"
} >"$OUT/env.txt"
# RUNS: which of one (instance, closed loop), two (instances), rate (open loop at RATE).
[[ ,$RUNS, == *,one,* ]] && run one-instance 1
[[ ,$RUNS, == *,two,* ]] && run two-instances 2
[[ ,$RUNS, == *,rate,* ]] && run rate-$RATE 1 --rate "$RATE"
cat "$OUT/env.txt"
jq -r '[.name, .instances, (.announces_per_sec | floor), .errors, (.p50_us | floor), (.p99_us | floor),
        (.tracker_cpu_us * 100 | round / 100), (.redis_cpu_us * 100 | round / 100),
        (.redis_bytes_per_peer | floor), .redis_keys] | @tsv' "$OUT"/*.summary.json |
    (echo -e "run\tinstances\tannounces/s\terrors\tp50_us\tp99_us\ttracker_cpu_us\tredis_cpu_us\tredis_bytes_per_peer\tredis_keys"; cat) |
    tee "$OUT/summary.tsv"
