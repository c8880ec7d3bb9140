#!/usr/bin/env bash
# The announce script alone (issue 17): Redis's time per EVALSHA (INFO commandstats) and
# its whole CPU per announce, with calls pipelined by redis-cli --pipe, so that network
# round trips and the tracker play no part. Each size: an empty Redis, every peer
# announced twice, then CALLS re-announces of random peers.
#
#   bash tracker/bench/redis-script.sh
#   TORRENTS_PEERS="1000x10 100x200" NUMWANT=50 CALLS=100000 bash tracker/bench/redis-script.sh
set -euo pipefail
source "$(dirname "$0")/../../bench/lib.sh"
cd "$ROOT"
bench_defaults TORRENTS_PEERS="1000x10 100x200" NUMWANT=50 CALLS=100000 \
    REDIS_CPU=1 RPORT=29989 MAX_SECONDS=600
bench_time_limit "$MAX_SECONDS" "$@"
bench_need redis-server redis-cli python3 bc
bench_dir WORK
GEN="$ROOT/tracker/bench/redis_script_load.py"
taskset -c "$REDIS_CPU" redis-server --port "$RPORT" --bind 127.0.0.1 --save '' \
    --appendonly no >"$WORK/redis.log" 2>&1 &

for _ in $(seq 100); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
cpu() { redis-cli -p "$RPORT" info cpu | awk -F: '/used_cpu_(sys|user):/ { s += $2 } END { printf "%.6f", s }'; }
echo -e "torrents\tpeers_each\tnumwant\tevalsha_us\tredis_cpu_us_per_call"
for tp in $TORRENTS_PEERS; do
    t=${tp%x*}; p=${tp#*x}
    redis-cli -p "$RPORT" flushall >/dev/null
    sha=$(redis-cli -p "$RPORT" script load "$(cat tracker/src/redis_store/announce.lua)")
    python3 "$GEN" "$sha" $((t * p * 2)) "$t" "$p" "$NUMWANT" | redis-cli -p "$RPORT" --pipe >/dev/null
    python3 "$GEN" "$sha" "$CALLS" "$t" "$p" "$NUMWANT" >"$WORK/load.resp"
    redis-cli -p "$RPORT" config resetstat >/dev/null
    before=$(cpu)
    redis-cli -p "$RPORT" --pipe <"$WORK/load.resp" >/dev/null
    after=$(cpu)
    per=$(redis-cli -p "$RPORT" info commandstats | sed -n 's/^cmdstat_evalsha:.*usec_per_call=\([0-9.]*\).*/\1/p')
    echo -e "$t\t$p\t$NUMWANT\t$per\t$(echo "($after - $before) * 1000000 / $CALLS" | bc -l | xargs printf '%.2f')"
done
