#!/usr/bin/env bash
# What the hostile-input caps cost on the tracker's hot path: CPU per announce of two
# tracker builds on one workload, alternating round by round on the same machine
# (issue 13 allows 3%). The tracker runs on one core, the load generator on the other.
#
#   OLD=/path/to/tracker-before NEW=target/release/tracker ROUNDS=5 bash tracker/bench/caps-cost.sh
#
# Build OLD from the commit before the caps (e.g. `git worktree add /tmp/old 5ef44b5 &&
# (cd /tmp/old && cargo build --release -p seedline-tracker)`). The generator lays many
# peers of a swarm on one loopback address, so NEW runs with the per-address cap lifted:
# both builds store the same peers, and NEW still performs every check.
set -euo pipefail
source "$(dirname "$0")/../../bench/lib.sh"
cd "$ROOT"
OLD=${OLD:?path to the tracker built before the caps}
bench_defaults NEW=target/release/tracker LOADTEST=target/release/loadtest ROUNDS=5 \
    TORRENTS=10000 PEERS=200000 CONNECTIONS=16 DURATION=10 PORT=26969
bench_dir WORK
TPID=

start() { # BINARY [flags...]
    local bin=$1
    shift
    bench_spawn taskset -c 0 "$bin" --listen "127.0.0.1:$PORT" --admin-listen "127.0.0.1:$((PORT + 1))" \
        --log-level warn "$@" >"$WORK/tracker.log" 2>&1
    TPID=$BENCH_PID
    bench_wait_http "http://127.0.0.1:$PORT/health" 100 "$WORK/tracker.log"
}

measure() { # NAME
    taskset -c 1 "$LOADTEST" tracker --target "http://127.0.0.1:$PORT/announce" \
        --torrents "$TORRENTS" --peers "$PEERS" --connections "$CONNECTIONS" \
        --duration "$DURATION" --preload --target-pid "$TPID" --json >"$WORK/$1.json"
    bench_stop "$TPID"
    TPID=
    sleep 2
    python3 - "$WORK/$1.json" "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t, m = r["tracker_process"], r["measured"]
print("{}\t{:.2f}\t{:.0f}\t{}".format(sys.argv[2], t["cpu_us_per_request"], m["requests_per_sec"], t["rss_kib_after"]))
PY
}

printf 'run\tcpu_us_per_request\treq_per_s\trss_kib\n'
for r in $(seq "$ROUNDS"); do
    start "$OLD"
    measure "old-$r"
    start "$NEW" --max-peers-per-address 65536 --max-peers-per-address-total 10000000
    measure "new-$r"
done
