#!/usr/bin/env bash
# A libtorrent download from the Seedline seeder with and without SQUATTERS connections
# held open from one other address (each completes its handshake, asks for nothing and
# never reads), alternating, ROUNDS times (issue 13: attacked at least 80% of unattacked
# speed). The per-address cap keeps all but max_peers_per_address of them out. Each run
# also prints the peak of seedline_seeder_peer_memory_bytes (sampled every 50 ms): what
# the connected peers held, against max_peer_memory.
#
#   bash seeder/bench/squatters.sh                       # 256 MiB, 600 squatters, 3 rounds
#   SIZE=64M ROUNDS=1 bash seeder/bench/squatters.sh     # smoke test
set -euo pipefail
source "$(dirname "$0")/../../bench/lib.sh"
bench_defaults SIZE=256M ROUNDS=3 SQUATTERS=600
bench_libtorrent
bench_need curl
bench_dir WORK
bench_dir DL "${DL_PARENT:-/dev/shm}"

bench_build -p seedline-seeder
bench_release http://127.0.0.1:9/announce
IH=$("$ROOT/target/release/make-torrent" show "$WORK/release.torrent" --json | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["info_hash"])')

taskset -c 0 "$ROOT/target/release/seeder" --torrent "$WORK/release.torrent" --data "$WORK/data" \
    --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
    --embedded-tracker-listen 127.0.0.1:0 --embedded-tracker-admin-listen 127.0.0.1:0 \
    --log-format json >"$WORK/seed.log" 2>&1 &
for _ in $(seq 100); do grep -q '"message":"seeding"' "$WORK/seed.log" && break; sleep 0.1; done
PORT=$(grep -m1 '"message":"seeding"' "$WORK/seed.log" | sed -E 's/.*"addr":"127\.0\.0\.1:([0-9]+)".*/\1/')
ADMIN=$(grep '"admin listening' "$WORK/seed.log" | grep -m1 seedline_seeder | sed -E 's/.*"addr":"([^"]+)".*/\1/')

# Holds SQUATTERS connections from 127.0.0.50 until killed.
cat >"$WORK/squat.py" <<'PY'
import socket, sys, time
port, ih, n = int(sys.argv[1]), bytes.fromhex(sys.argv[2]), int(sys.argv[3])
hs = b"\x13BitTorrent protocol" + b"\0" * 8 + ih + b"-SQ0001-" + b"x" * 12
held = []
for _ in range(n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind(("127.0.0.50", 0))
    s.connect(("127.0.0.1", port))
    s.sendall(hs)
    held.append(s)
print("holding", len(held), flush=True)
time.sleep(3600)
PY

# Samples the peer memory gauge until killed; the peak is the file's last line.
sample_memory() {
    local peak=0 v
    while true; do
        v=$(curl -s -m 1 "http://$ADMIN/metrics" | awk '/^seedline_seeder_peer_memory_bytes / {print $2}')
        [[ -n $v ]] && ((v > peak)) && { peak=$v; echo "$peak" >>"$WORK/peak"; }
        sleep 0.05
    done
}

download() { # NAME
    rm -rf "$DL"/*
    local t0 t1 sampler
    : >"$WORK/peak"
    sample_memory &
    sampler=$!
    t0=$(date +%s.%N)
    taskset -c 1 timeout 600 "$PYTHON" "$LT_HELPER" download "$WORK/release.torrent" "$DL" "$PORT" 600 plaintext \
        >"$WORK/dl.log" 2>&1 || { echo "download failed: $(tail -3 "$WORK/dl.log")" >&2; exit 1; }
    t1=$(date +%s.%N)
    kill "$sampler"
    wait "$sampler" 2>/dev/null || true
    cmp -s "$WORK/data/release.bin" "$DL/release.bin" || { echo "data differs" >&2; exit 1; }
    printf '%s\t%.2f\t%.1f\t%s\n' "$1" "$(echo "$t1 - $t0" | bc -l)" "$(echo "$BYTES / ($t1 - $t0) / 1000000" | bc -l)" \
        "$(tail -1 "$WORK/peak")"
}

printf 'run\tseconds\tMB/s\tpeak_peer_memory_bytes\n'
for r in $(seq "$ROUNDS"); do
    download "quiet-$r"
    "$PYTHON" "$WORK/squat.py" "$PORT" "$IH" "$SQUATTERS" >"$WORK/squat.log" 2>&1 &
    SQ=$!
    for _ in $(seq 100); do grep -q holding "$WORK/squat.log" && break; sleep 0.1; done
    download "squatted-$r"
    kill "$SQ"
    wait "$SQ" 2>/dev/null || true
    sleep 1
done
curl -s "http://$ADMIN/metrics" \
    | grep -E 'disconnects_total\{reason="address_limit"\}' || true
