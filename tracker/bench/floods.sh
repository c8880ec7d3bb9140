#!/usr/bin/env bash
# Memory under the floods of issue 13, for two tracker builds: one address announcing
# FLOOD distinct ports into one torrent, and one address announcing FLOOD random info
# hashes (with --max-torrents CAP for both builds). Prints the tracker's RSS before and
# after each flood and the peers and torrents it stores.
#
#   OLD=/path/to/tracker-before NEW=target/release/tracker bash tracker/bench/floods.sh
set -euo pipefail
source "$(dirname "$0")/../../bench/lib.sh"
cd "$ROOT"
OLD=${OLD:?path to the tracker built before the caps}
bench_defaults NEW=target/release/tracker FLOOD=200000 CAP=100000 PORT=27969
bench_dir WORK
TPID=

cat >"$WORK/flood.py" <<'PY'
# One keep-alive connection from 127.0.0.9: announces FLOOD times, varying the port
# (mode "ports") or the info hash (mode "hashes").
import http.client, os, sys, urllib.parse
port, mode, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
c = http.client.HTTPConnection("127.0.0.1", port, source_address=("127.0.0.9", 0))
q = lambda b: urllib.parse.quote_from_bytes(b)
for i in range(n):
    ih = (i.to_bytes(4, "big") + b"\xee" * 16) if mode == "hashes" else b"\x01" * 20
    p = 6881 if mode == "hashes" else 1024 + i % 64000
    pid = b"-FL0001-" + i.to_bytes(12, "big")
    c.request("GET", f"/announce?info_hash={q(ih)}&peer_id={q(pid)}&port={p}&uploaded=0"
              f"&downloaded=0&left=1&compact=1&numwant=50&event=started")
    c.getresponse().read()
PY

rss() { awk '/VmRSS/ {print $2}' "/proc/$TPID/status"; }
metric() { curl -s "http://127.0.0.1:$((PORT + 1))/metrics" | awk -v k="$1" 'index($0, k) == 1 {s += $2} END {print s + 0}'; }

run() { # NAME BINARY MODE [flags...]
    local name=$1 bin=$2 mode=$3
    shift 3
    bench_spawn "$bin" --listen "127.0.0.1:$PORT" --admin-listen "127.0.0.1:$((PORT + 1))" \
        --max-torrents "$CAP" --log-level warn "$@" >"$WORK/tracker.log" 2>&1
    TPID=$BENCH_PID
    bench_wait_http "http://127.0.0.1:$PORT/health" 100 "$WORK/tracker.log"
    local before after
    before=$(rss)
    python3 "$WORK/flood.py" "$PORT" "$mode" "$FLOOD"
    after=$(rss)
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$mode" "$before" "$after" \
        "$(metric 'seedline_tracker_peers{')" "$(metric 'seedline_tracker_torrents ')"
    bench_stop "$TPID"
    TPID=
}

printf 'build\tflood\trss_kib_before\trss_kib_after\tpeers\ttorrents\n'
for mode in ports hashes; do
    run old "$OLD" "$mode"
    run new "$NEW" "$mode"
done
