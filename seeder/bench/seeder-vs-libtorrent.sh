#!/usr/bin/env bash
# Seedline's seeder against a libtorrent seed (python3-libtorrent) of the same torrent:
# python3-libtorrent downloads SIZE of random data on loopback from one, then the other,
# alternating, ROUNDS times, twice from each seed process (first and second download).
# Reports the download time and the seed's CPU seconds per GiB uploaded (user + system
# from /proc/PID/stat over the download).
#
#   bash seeder/bench/seeder-vs-libtorrent.sh                 # 1 GiB, 3 rounds
#   SIZE=64M ROUNDS=1 bash seeder/bench/seeder-vs-libtorrent.sh   # smoke test
#   CLIENT_MSE=1 bash seeder/bench/seeder-vs-libtorrent.sh        # client tries MSE first
#   TRANSPORT=utp bash seeder/bench/seeder-vs-libtorrent.sh       # over uTP (BEP 29) only
#
# The downloader writes into tmpfs (DL_PARENT, default /dev/shm): written to disk, its own
# writeback dominated the run time and carried over from one run into the next.
# By default the downloader connects in plain text. libtorrent's default is to open with
# an MSE (encrypted) handshake, which CLIENT_MSE=1 keeps. TRANSPORT=utp turns TCP off in
# the downloader and the libtorrent seed (LT_UTP=only, see lt_helper.py): both seeds are
# then measured over uTP.
#
# The seed runs on SEED_CPU, the downloader on LEECH_CPU. Every step has a timeout, the
# whole script stops after MAX_SECONDS, only 127.0.0.1 is used, and everything started
# here is killed on exit. Output: $OUT/runs.tsv and $OUT/summary.md.
set -euo pipefail
source "$(dirname "$0")/../../bench/lib.sh"

bench_defaults SIZE=1G ROUNDS=3 SEED_CPU=0 LEECH_CPU=1 MAX_SECONDS=1800 DOWNLOAD_TIMEOUT=600 \
    CLIENT_MSE=0 TRANSPORT=tcp OUT="$ROOT/target/bench/seeder-vs-libtorrent"
SEEDER=$ROOT/target/release/seeder

bench_time_limit "$MAX_SECONDS" "$@"
case $TRANSPORT in
    tcp) ;;
    utp) export LT_UTP=only ;;
    *) echo "TRANSPORT is tcp or utp" >&2; exit 2 ;;
esac

WORK=""
DL=""      # where the downloader writes: tmpfs, so its disk is not what is measured
SEED_PID=""
PORT=""     # the seed's peer port
SEED_IN=""   # fd feeding the libtorrent seed's stdin (it runs until stdin closes)


start_seedline() {
    "$SEEDER" --torrent "$WORK/release.torrent" --data "$WORK/data" \
        --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
        --embedded-tracker-listen 127.0.0.1:0 --embedded-tracker-admin-listen 127.0.0.1:0 \
        --log-format json >"$WORK/seed.log" 2>&1 &
    SEED_PID=$!
    taskset -pc "$SEED_CPU" "$SEED_PID" >/dev/null
    local line
    line=$(bench_wait_line "$WORK/seed.log" '"message":"seeding"' "$SEED_PID") || exit 1
    PORT=$(sed -E 's/.*"addr":"127\.0\.0\.1:([0-9]+)".*/\1/' <<<"$line")
}

start_libtorrent() {
    # stdin stays open (a FIFO held by this shell) until stop_seed.
    bench_lt_seed "$WORK/release.torrent" "$WORK/data" "$WORK/seed.log" taskset -c "$SEED_CPU"
    PORT=$LT_PORT
}

stop_seed() {
    bench_lt_seed_stop
}

# One seed process, two downloads: the first includes whatever the seed does on first
# use (Seedline hashes each piece of a trusted torrent just before its first upload; the
# libtorrent seed hashed everything before it said READY), the second does not.
measure() {
    local name=$1 impl=$2 pass before after t0 t1 secs cpu leech_cpu
    PORT=""
    "start_$impl"
    [[ $PORT =~ ^[0-9]+$ ]] || { bench_log "$name: no port ($PORT)"; exit 1; }
    for pass in first second; do
        rm -rf "$DL"
        mkdir "$DL"
        # Start from clean page cache state: no writeback of the last download running.
        sync
        before=$(bench_cpu_ticks "$SEED_PID")
        t0=$(date +%s.%N)
        taskset -c "$LEECH_CPU" timeout "$DOWNLOAD_TIMEOUT" "$PYTHON" "$LT_HELPER" download \
            "$WORK/release.torrent" "$DL" "$PORT" "$DOWNLOAD_TIMEOUT" \
            "$([[ $CLIENT_MSE == 1 ]] && echo default || echo plaintext)" >"$WORK/dl.log" 2>&1 \
            || { bench_log "$name: download failed: $(tail -3 "$WORK/dl.log")"; stop_seed; exit 1; }
        t1=$(date +%s.%N)
        after=$(bench_cpu_ticks "$SEED_PID")
        cmp -s "$WORK/data/release.bin" "$DL/release.bin" \
            || { bench_log "$name: downloaded data differs"; stop_seed; exit 1; }
        secs=$(echo "$t1 - $t0" | bc -l)
        cpu=$(echo "($after - $before) / 100" | bc -l)
        leech_cpu=$(awk '/^DONE/ { print $2 }' "$WORK/dl.log")
        printf '%s\t%s\t%s\t%.2f\t%.1f\t%.2f\t%.2f\t%.2f\n' "$name" "$impl" "$pass" "$secs" \
            "$(echo "$BYTES / $secs / 1000000" | bc -l)" "$cpu" \
            "$(echo "$cpu / ($BYTES / 1073741824)" | bc -l)" \
            "$(echo "${leech_cpu:-0} / ($BYTES / 1073741824)" | bc -l)" | tee -a "$OUT/runs.tsv"
    done
    stop_seed
}

main() {
    bench_libtorrent
    bench_need bc
    mkdir -p "$OUT"
    bench_dir WORK
    bench_dir DL "${DL_PARENT:-/dev/shm}"
    bench_build -p seedline-seeder --bin seeder --bin make-torrent
    bench_release http://127.0.0.1:9/announce
    {
        bench_env_header
        echo "libtorrent: $("$PYTHON" -c 'import libtorrent; print(libtorrent.__version__)')"
        echo "workload: $BYTES bytes, one file, python3-libtorrent downloads on cpu $LEECH_CPU, seed on cpu $SEED_CPU"
        echo "client opens with MSE: $CLIENT_MSE; transport: $TRANSPORT"
    } >"$OUT/env.txt"
    printf 'run\timpl\tdownload\tseconds\tMB/s\tseed CPU s\tseed CPU s/GiB\tdownloader CPU s/GiB\n' >"$OUT/runs.tsv"
    local r
    for r in $(seq "$ROUNDS"); do
        measure "seedline-r$r" seedline
        measure "libtorrent-r$r" libtorrent
    done
    {
        echo "| run | download | seconds | MB/s | seed CPU s | seed CPU s/GiB | downloader CPU s/GiB |"
        echo "|---|---|---|---|---|---|---|"
        awk -F'\t' 'NR > 1 { printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $3, $4, $5, $6, $7, $8 }' "$OUT/runs.tsv"
    } >"$OUT/summary.md"
    cat "$OUT/env.txt" "$OUT/summary.md"
}

main
