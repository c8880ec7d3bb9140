#!/usr/bin/env bash
# The queue a uTP upload builds in front of a leecher's link (issue 18, LEDBAT): the
# seed and a python3-libtorrent leecher (uTP only) in two network namespaces joined by a
# veth pair whose seed-to-leecher direction is a home link: RATE, with a buffer that
# holds up to QUEUE of traffic, as a cable modem's does (tc tbf; this kernel has no
# netem, so there is no propagation delay: the idle round trip is a fraction of a ms). While SIZE downloads, the leecher pings
# the seed every 50 ms; the replies wait in the same buffer as the upload, so their
# round trip minus the idle one is the queue the upload built: what a household's web
# browsing or video call feels while the origin serves it.
#
# Seeds, in turn, ROUNDS times: Seedline with utp_congestion = ledbat (the default) and
# = cubic, and a libtorrent seed (libtorrent's own LEDBAT).
#
#   sudo bash seeder/bench/utp-queue.sh                   # 8 MiB over 4 Mbit/s, 2 rounds
#   SIZE=2M ROUNDS=1 sudo bash seeder/bench/utp-queue.sh  # smoke test
#
# Needs root (namespaces, tc), iproute2, ping and python3-libtorrent. Everything runs in
# the two namespaces this script creates and deletes; nothing leaves the machine.
set -euo pipefail
source "$(dirname "$0")/../../bench/lib.sh"

bench_defaults SIZE=8M ROUNDS=2 RATE=4mbit QUEUE=1s MAX_SECONDS=1200 \
    DOWNLOAD_TIMEOUT=300 OUT="$ROOT/target/bench/utp-queue"
bench_time_limit "$MAX_SECONDS" "$@"
[[ $(id -u) == 0 ]] || { bench_log "needs root (network namespaces, tc)"; exit 1; }
bench_need ip tc ping bc
bench_libtorrent
export LT_UTP=only

NS_SEED=slq-seed-$$
NS_LEECH=slq-leech-$$
SEED_IP=10.77.0.1
LEECH_IP=10.77.0.2
cleanup() {
    bench_cleanup
    ip netns del "$NS_SEED" 2>/dev/null || true
    ip netns del "$NS_LEECH" 2>/dev/null || true
}
trap cleanup EXIT

network() {
    ip netns add "$NS_SEED"
    ip netns add "$NS_LEECH"
    ip link add slq-s type veth peer name slq-l
    ip link set slq-s netns "$NS_SEED"
    ip link set slq-l netns "$NS_LEECH"
    ip -n "$NS_SEED" addr add "$SEED_IP/24" dev slq-s
    ip -n "$NS_LEECH" addr add "$LEECH_IP/24" dev slq-l
    local ns
    for ns in "$NS_SEED" "$NS_LEECH"; do
        ip -n "$ns" link set lo up
    done
    ip -n "$NS_SEED" link set slq-s up
    ip -n "$NS_LEECH" link set slq-l up
    # The seed-to-leecher direction is the leecher's downlink.
    tc -n "$NS_SEED" qdisc add dev slq-s root tbf rate "$RATE" burst 32kbit latency "$QUEUE"
}

SEED_PID=""
PEER=""
SEED_IN=""

start_seedline() {
    ip netns exec "$NS_SEED" "$ROOT/target/release/seeder" --torrent "$WORK/release.torrent" \
        --data "$WORK/data" --listen "$SEED_IP:0" --admin-listen 127.0.0.1:0 \
        --embedded-tracker-listen 127.0.0.1:0 --embedded-tracker-admin-listen 127.0.0.1:0 \
        --utp-congestion "$1" --log-format json >"$WORK/seed.log" 2>&1 &
    SEED_PID=$!
    local line
    line=$(bench_wait_line "$WORK/seed.log" '"message":"seeding"' "$SEED_PID") || exit 1
    PEER=$(sed -E 's/.*"addr":"([0-9.]+:[0-9]+)".*/\1/' <<<"$line")
}

start_libtorrent() {
    bench_lt_seed "$WORK/release.torrent" "$WORK/data" "$WORK/seed.log" \
        env LT_LISTEN="$SEED_IP" ip netns exec "$NS_SEED"
    PEER=$SEED_IP:$LT_PORT
}

stop_seed() {
    bench_lt_seed_stop
}

# Round trips (ms) in ping log $1 stamped between $2 and $3 (unix seconds): "median p90 max".
rtts() {
    awk -v t0="$2" -v t1="$3" -F'[][ =]+' '/time=/ {
        t = $2; for (i = 1; i <= NF; i++) if ($i == "time") v = $(i + 1)
        if (t >= t0 && t <= t1) print v
    }' "$1" | sort -n | awk '{ a[NR] = $1 } END {
        if (NR == 0) { print "- - -"; exit }
        printf "%.1f %.1f %.1f\n", a[int((NR + 1) / 2)], a[int(NR * 0.9 + 0.5)], a[NR]
    }'
}

measure() {
    local name=$1 impl=$2 arg=${3:-} t0 t1 secs ping_pid idle busy
    "start_$impl" $arg
    rm -rf "$DL"
    mkdir "$DL"
    ip netns exec "$NS_LEECH" ping -D -n -i 0.05 "$SEED_IP" >"$WORK/ping.log" 2>&1 &
    ping_pid=$!
    sleep 2
    t0=$(date +%s.%N)
    LT_LISTEN=$LEECH_IP ip netns exec "$NS_LEECH" timeout "$DOWNLOAD_TIMEOUT" "$PYTHON" \
        "$LT_HELPER" download "$WORK/release.torrent" "$DL" "$PEER" "$DOWNLOAD_TIMEOUT" plaintext \
        >"$WORK/dl.log" 2>&1 \
        || { bench_log "$name: download failed: $(tail -3 "$WORK/dl.log")"; exit 1; }
    t1=$(date +%s.%N)
    bench_stop "$ping_pid"
    stop_seed
    cmp -s "$WORK/data/release.bin" "$DL/release.bin" \
        || { bench_log "$name: downloaded data differs"; exit 1; }
    secs=$(echo "$t1 - $t0" | bc -l)
    idle=$(rtts "$WORK/ping.log" 0 "$t0" | cut -d' ' -f1)
    # The first second is the download starting (torrent added, connection made).
    busy=$(rtts "$WORK/ping.log" "$(echo "$t0 + 1" | bc -l)" "$t1")
    printf '%s\t%.2f\t%.2f\t%s\t%s\n' "$name" "$secs" \
        "$(echo "$BYTES * 8 / $secs / 1000000" | bc -l)" "$idle" "${busy// /$'\t'}" | tee -a "$OUT/runs.tsv"
}

main() {
    mkdir -p "$OUT"
    bench_dir WORK
    bench_dir DL "${DL_PARENT:-/dev/shm}"
    bench_build -p seedline-seeder --bin seeder --bin make-torrent
    bench_release http://127.0.0.1:9/announce
    network
    {
        bench_env_header
        echo "libtorrent: $("$PYTHON" -c 'import libtorrent; print(libtorrent.__version__)')"
        echo "link seed -> leecher: tbf rate $RATE, buffer $QUEUE; $BYTES bytes over uTP"
    } >"$OUT/env.txt"
    printf 'run\tseconds\tMbit/s\tidle RTT ms\tRTT median ms\tRTT p90 ms\tRTT max ms\n' >"$OUT/runs.tsv"
    local r
    for r in $(seq "$ROUNDS"); do
        measure "seedline-ledbat-r$r" seedline ledbat
        measure "seedline-cubic-r$r" seedline cubic
        measure "libtorrent-r$r" libtorrent
    done
    {
        echo "| run | seconds | Mbit/s | idle RTT ms | RTT during, median | p90 | max |"
        echo "|---|---|---|---|---|---|---|"
        awk -F'\t' 'NR > 1 { printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7 }' "$OUT/runs.tsv"
    } >"$OUT/summary.md"
    cat "$OUT/env.txt" "$OUT/summary.md"
}

main
