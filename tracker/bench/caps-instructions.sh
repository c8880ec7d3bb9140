#!/usr/bin/env bash
# Instructions per announce of tracker builds, counted by callgrind: repeatable where
# CPU time on a shared VM is not (issue 13's "no more than 3% worse" at a precision the
# machine's drift hides). Each build serves the same seeded population (PEERS peers of
# TORRENTS torrents, preloaded) and then REQUESTS re-announces on CONNECTIONS keep-alive
# connections; the figure is the tracker's total instructions divided by all requests.
#
#   bash tracker/bench/caps-instructions.sh OLD_TRACKER NEW_TRACKER [MORE...]
set -euo pipefail
source "$(dirname "$0")/../../bench/lib.sh"
cd "$ROOT"
bench_defaults LOADTEST=target/release/loadtest TORRENTS=1000 PEERS=20000 REQUESTS=20000 \
    CONNECTIONS=4 PORT=28969
bench_dir WORK
bench_need valgrind

printf 'build\tinstructions\trequests\tinstructions_per_request\n'
for bin in "$@"; do
    extra=()
    # Builds with the per-address cap: lifted, since the generator puts many peers of
    # a swarm on one loopback address (both builds then store the same peers).
    "$bin" --help | grep -q -- --max-peers-per-address && extra=(--max-peers-per-address 65536)
    # Likewise the total per address: counted (its cost is measured) but never reached.
    "$bin" --help | grep -q -- --max-peers-per-address-total &&
        extra+=(--max-peers-per-address-total 10000000)
    bench_spawn valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" \
        "$bin" --listen "127.0.0.1:$PORT" --admin-listen "127.0.0.1:$((PORT + 1))" \
        --log-level warn "${extra[@]}" >"$WORK/tracker.log" 2>&1
    pid=$BENCH_PID
    bench_wait_http "http://127.0.0.1:$PORT/health" 600 "$WORK/tracker.log"
    "$LOADTEST" tracker --target "http://127.0.0.1:$PORT/announce" --torrents "$TORRENTS" \
        --peers "$PEERS" --connections "$CONNECTIONS" --preload --requests "$REQUESTS" \
        --timeout 60 --json >"$WORK/lt.json"
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
    ir=$(awk '/^summary:/ {print $2}' "$WORK/cg.out")
    total=$(( PEERS + REQUESTS + 1 ))
    printf '%s\t%s\t%s\t%.0f\n' "$bin" "$ir" "$total" "$(echo "$ir / $total" | bc -l)"
done
