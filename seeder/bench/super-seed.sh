#!/usr/bin/env bash
# What BEP 16 super-seeding saves the origin: LEECHERS python3-libtorrent leechers
# download SIZE of random data at once from our seeder through its embedded tracker,
# once from a normal seed and once from a super-seed (--super-seed), alternating, ROUNDS
# times. Reports the bytes the origin uploaded per copy of the release (1.00 would be
# "each piece left the origin once") and the time until every leecher had it all.
#
#   bash seeder/bench/super-seed.sh                        # 256 MiB, 4 leechers, 3 rounds
#   SIZE=32M ROUNDS=1 bash seeder/bench/super-seed.sh      # smoke test
#
# The leechers trade among themselves over loopback (they find each other through the
# tracker), write into tmpfs (DL_PARENT, default /dev/shm), and run on LEECH_CPU; the
# seeder on SEED_CPU. Every step has a timeout, the whole script stops after
# MAX_SECONDS, only 127.0.0.1 is used, and everything started here is killed on exit.
# Output: $OUT/runs.tsv and $OUT/summary.md.
set -euo pipefail
source "$(dirname "$0")/../../bench/lib.sh"

bench_defaults SIZE=256M LEECHERS=4 ROUNDS=3 SEED_CPU=0 LEECH_CPU=1 MAX_SECONDS=1800 \
    DOWNLOAD_TIMEOUT=600 TRACKER_PORT=26969 ADMIN_PORT=26971 OUT="$ROOT/target/bench/super-seed"
SEEDER=$ROOT/target/release/seeder

bench_time_limit "$MAX_SECONDS" "$@"

WORK=""
DL=""
SEED_PID=""

metric() {
    curl -sf -m 2 "http://127.0.0.1:$ADMIN_PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}

measure() {
    local name=$1 mode=$2 flag=() i t0 t1 up
    [[ $mode == super-seed ]] && flag=(--super-seed)
    "$SEEDER" --torrent "$WORK/release.torrent" --data "$WORK/data" "${flag[@]}" \
        --listen 127.0.0.1:0 --admin-listen "127.0.0.1:$ADMIN_PORT" \
        --embedded-tracker-listen "127.0.0.1:$TRACKER_PORT" \
        --embedded-tracker-admin-listen 127.0.0.1:0 --log-level warn >"$WORK/seed.log" 2>&1 &
    SEED_PID=$!
    taskset -pc "$SEED_CPU" "$SEED_PID" >/dev/null
    for i in $(seq 100); do
        [[ $(metric 'seedline_seeder_torrents{state="seeding"}') == 1 ]] && break
        sleep 0.1
    done
    rm -rf "$DL" && mkdir -p "$DL"
    sync
    t0=$(date +%s.%N)
    taskset -c "$LEECH_CPU" timeout "$DOWNLOAD_TIMEOUT" "$PYTHON" "$LT_HELPER" leech \
        "$WORK/release.torrent" "$DL" "$DOWNLOAD_TIMEOUT" "$LEECHERS" >"$WORK/leech.log" 2>&1 \
        || { bench_log "$name: leechers failed: $(tail -3 "$WORK/leech.log")"; exit 1; }
    t1=$(date +%s.%N)
    up=$(metric seedline_seeder_uploaded_bytes_total)
    for i in $(seq 0 $((LEECHERS - 1))); do
        cmp -s "$WORK/data/release.bin" "$DL/$i/release.bin" \
            || { bench_log "$name: leecher $i has different data"; exit 1; }
    done
    kill "$SEED_PID"
    wait "$SEED_PID" 2>/dev/null || true
    SEED_PID=""
    printf '%s\t%s\t%.2f\t%s\t%.2f\n' "$name" "$mode" "$(echo "$t1 - $t0" | bc -l)" "$up" \
        "$(echo "$up / $BYTES" | bc -l)" | tee -a "$OUT/runs.tsv"
}

main() {
    bench_libtorrent
    bench_need bc curl
    mkdir -p "$OUT"
    bench_dir WORK
    bench_dir DL "${DL_PARENT:-/dev/shm}"
    bench_build -p seedline-seeder --bin seeder --bin make-torrent
    bench_release "http://127.0.0.1:$TRACKER_PORT/announce"
    {
        bench_env_header
        echo "libtorrent: $("$PYTHON" -c 'import libtorrent; print(libtorrent.__version__)')"
        echo "workload: $BYTES bytes, $LEECHERS python3-libtorrent leechers at once on cpu $LEECH_CPU, seed on cpu $SEED_CPU"
    } >"$OUT/env.txt"
    printf 'run\tmode\tseconds until all done\torigin bytes up\tcopies from the origin\n' >"$OUT/runs.tsv"
    local r
    for r in $(seq "$ROUNDS"); do
        measure "normal-r$r" normal
        measure "super-seed-r$r" super-seed
    done
    {
        echo "| run | seconds until all done | origin bytes up | copies from the origin |"
        echo "|---|---|---|---|"
        awk -F'\t' 'NR > 1 { printf "| %s | %s | %s | %s |\n", $1, $3, $4, $5 }' "$OUT/runs.tsv"
    } >"$OUT/summary.md"
    cat "$OUT/env.txt" "$OUT/summary.md"
}

main
