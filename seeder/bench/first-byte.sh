#!/usr/bin/env bash
# How long a client on its default settings waits for the origin (issue 18): aria2 and
# python3-libtorrent, each on its defaults (both open with an encrypted handshake;
# libtorrent tries uTP first), download a small release from Seedline's seeder found
# through its embedded tracker, set up as before issue 18 (`encryption = off`, `utp =
# false`: the seeder closes the encrypted opener and the client retries in plain text;
# libtorrent's uTP attempt gets no answer) and on its defaults (`prefer`, uTP on:
# answered at once); and from a libtorrent seed (python3-libtorrent on its defaults, uTP
# on, with a one-peer tracker of its own) for the same release. The figure is the time
# from the client's start to its download being complete (aria2: its completion hook,
# not its exit, which waits for its own 1-second ticks and a last announce; libtorrent:
# the helper process's exit); the release is small, so it is mostly the time to the
# first byte. ROUNDS alternating runs.
#
# CLIENTS=transmission measures transmission-cli (3.00) on its defaults (uTP on,
# encryption preferred; DHT and LPD off, there being no one else to find) instead. It
# refuses peers on 127.0.0.0/8, so the script then runs itself in a private network
# namespace (`unshare -rn`, as the real-client tests do) with the seeds on 10.200.0.1.
#
#   bash seeder/bench/first-byte.sh                          # SIZE=1M ROUNDS=3
#   CLIENTS=transmission bash seeder/bench/first-byte.sh     # needs root or user namespaces
#   CLIENTS=transmission TRANSMISSION_UTP=false bash seeder/bench/first-byte.sh   # its TCP
set -euo pipefail
source "$(dirname "$0")/../../bench/lib.sh"
cd "$ROOT"
bench_defaults SIZE=1M ROUNDS=3 MAX_SECONDS=900 CLIENTS="aria2 libtorrent" HOST=127.0.0.1 CLIENT_TIMEOUT=60 \
    TRANSMISSION_UTP=true \
    OUT="$ROOT/target/bench/first-byte"
bench_time_limit "$MAX_SECONDS" "$@"
for client in $CLIENTS; do
    case $client in
        aria2) bench_need aria2c ;;
        transmission) bench_need transmission-cli unshare ip ;;
        libtorrent) ;;
        *) bench_log "CLIENTS: aria2, libtorrent, transmission"; exit 2 ;;
    esac
done
bench_libtorrent
if [[ " $CLIENTS " == *" transmission "* && -z ${FIRST_BYTE_NETNS:-} ]]; then
    bench_build -p seedline-seeder --bin seeder --bin make-torrent
    exec unshare -rn env FIRST_BYTE_NETNS=1 HOST=10.200.0.1 bash "$0" "$@"
fi
if [[ -n ${FIRST_BYTE_NETNS:-} ]]; then
    # On the namespace's own loopback: the seeds on 10.200.0.1, the client beside them.
    ip link set lo up
    ip addr add 10.200.0.1/32 dev lo
    ip addr add 10.200.0.2/32 dev lo
    export LT_LISTEN=$HOST
else
    bench_build -p seedline-seeder --bin seeder --bin make-torrent
fi
bench_dir WORK
mkdir -p "$OUT"

# libtorrent on its own defaults: uTP on (see lt_helper.py).
export LT_UTP=default

# start_seeder SETUP: the seeder with its embedded tracker, `off` (no encryption, no
# uTP) or `defaults`; sets SEED_PID, TRACKER.
start_seeder() {
    local dir=$WORK/lib-$1 setup=(--encryption off --utp false)
    [[ $1 == defaults ]] && setup=()
    rm -rf "$dir" && mkdir -p "$dir"
    "$ROOT/target/release/seeder" --library "$dir" "${setup[@]}" \
        --listen "$HOST:0" --admin-listen 127.0.0.1:0 \
        --embedded-tracker-listen "$HOST:0" --embedded-tracker-admin-listen 127.0.0.1:0 \
        --log-format json >"$WORK/seed-$1.log" 2>&1 &
    SEED_PID=$!
    local line=""
    for _ in $(seq 300); do
        line=$(grep -m1 '"message":"embedded tracker listening"' "$WORK/seed-$1.log" || true)
        [[ -n $line ]] && break
        sleep 0.1
    done
    TRACKER=$(sed -E 's/.*"addr":"([0-9.:]+)".*/\1/' <<<"$line")
    [[ -n $TRACKER ]] || { bench_log "no tracker address"; cat "$WORK/seed-$1.log" >&2; exit 1; }
    head -c "$SIZE" /dev/urandom >"$dir/release.bin"
    "$ROOT/target/release/make-torrent" "$dir/release.bin" -a "http://$TRACKER/announce" \
        -o "$WORK/release-$1.torrent" --force --publish "$dir" >/dev/null 2>&1
    # The library is read every second; a published torrent is served once added.
    for _ in $(seq 300); do
        grep -q '"message":"torrent added"' "$WORK/seed-$1.log" && sleep 0.5 && return 0
        sleep 0.1
    done
    bench_log "the seeder did not add the torrent"; exit 1
}

# start_libtorrent_seed: the same kind of release seeded by python3-libtorrent; sets
# SEED_PID and SEED_IN (its stdin: it runs until that closes) and writes
# release-libtorrent.torrent, announcing to the seed's own tracker (the info hash does
# not depend on the announce URL, so the seed can load the torrent first).
start_libtorrent_seed() {
    local dir=$WORK/lib-libtorrent line
    rm -rf "$dir" && mkdir -p "$dir"
    head -c "$SIZE" /dev/urandom >"$dir/release.bin"
    "$ROOT/target/release/make-torrent" "$dir/release.bin" -a http://127.0.0.1:9/announce \
        -o "$WORK/seed-libtorrent.torrent" --force >/dev/null 2>&1
    rm -f "$WORK/lt.in" && mkfifo "$WORK/lt.in"
    "$PYTHON" "$LT_HELPER" seed "$WORK/seed-libtorrent.torrent" "$dir" <"$WORK/lt.in" \
        >"$WORK/seed-libtorrent.log" 2>&1 &
    SEED_PID=$!
    exec {SEED_IN}>"$WORK/lt.in"
    for _ in $(seq 300); do
        line=$(grep -m1 '^READY ' "$WORK/seed-libtorrent.log" || true)
        [[ -n $line ]] && break
        sleep 0.1
    done
    [[ -n $line ]] || { bench_log "libtorrent seed not ready"; cat "$WORK/seed-libtorrent.log" >&2; exit 1; }
    "$ROOT/target/release/make-torrent" "$dir/release.bin" \
        -a "http://127.0.0.1:$(awk '{ print $3 }' <<<"$line")/announce" \
        -o "$WORK/release-libtorrent.torrent" --force >/dev/null 2>&1
}

# aria2's and Transmission's completion hook: the time it finished.
printf '#!/bin/sh\ndate +%%s%%N >"%s/client-done"\n' "$WORK" >"$WORK/client-done.sh"
chmod +x "$WORK/client-done.sh"

# download CLIENT TORRENT OUT: the client on its defaults, until its download is complete.
download() {
    local client=$1 torrent=$2 out=$3
    rm -f "$WORK/client-done"
    case $client in
        aria2)
            timeout 120 aria2c --dir="$out" --enable-dht=false --bt-enable-lpd=false \
                --enable-peer-exchange=false --disable-ipv6=true --seed-time=0 \
                --summary-interval=0 --console-log-level=warn \
                --on-download-complete="$WORK/client-done.sh" "$torrent" >/dev/null
            ;;
        transmission)
            rm -rf "$WORK/transmission" && mkdir -p "$WORK/transmission"
            printf '{"dht-enabled": false, "lpd-enabled": false, "utp-enabled": %s}\n' \
                "$TRANSMISSION_UTP" >"$WORK/transmission/settings.json"
            transmission-cli -g "$WORK/transmission" -w "$out" -p 51413 \
                -f "$WORK/client-done.sh" "$torrent" >"$WORK/transmission.log" 2>&1 &
            local pid=$! i
            for i in $(seq $((CLIENT_TIMEOUT * 10))); do
                [[ -e $WORK/client-done ]] && break
                sleep 0.1
            done
            bench_stop "$pid"
            # Transmission 3.00 never retries a peer in plain text after its encrypted
            # handshake was closed: against a seeder with encryption off it never starts.
            [[ -e $WORK/client-done ]] || return 1
            ;;
        libtorrent)
            timeout 120 "$PYTHON" "$LT_HELPER" leech "$torrent" "$out" 100 1 >/dev/null
            date +%s%N >"$WORK/client-done"
            ;;
    esac
}

seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }

{
    bench_env_header
    echo "workload: $SIZE, one file; clients on their defaults: $CLIENTS (aria2 $(aria2c --version 2>/dev/null | head -1 | awk '{print $3}'), libtorrent $("$PYTHON" -c 'import libtorrent; print(libtorrent.__version__)'), $(transmission-cli --version 2>&1 | head -1))"
    echo "| round | client | Seedline, encryption and uTP off s | Seedline defaults (prefer, uTP on) s | libtorrent seed s |"
    echo "|---|---|---|---|---|"
} >"$OUT/summary.md"
for r in $(seq "$ROUNDS"); do
    declare -A took=()
    for enc in off defaults libtorrent; do
        SEED_IN=""
        if [[ $enc == libtorrent ]]; then start_libtorrent_seed; else start_seeder "$enc"; fi
        for client in $CLIENTS; do
            out=$WORK/out-$enc-$client-$r
            mkdir -p "$out"
            t0=$(date +%s%N)
            if ! download "$client" "$WORK/release-$enc.torrent" "$out"; then
                took[$client-$enc]="none in ${CLIENT_TIMEOUT}"
                continue
            fi
            took[$client-$enc]=$(seconds "$t0" "$(cat "$WORK/client-done")")
            got=$out/release.bin
            # The libtorrent helper saves each of its sessions in a numbered directory.
            [[ $client == libtorrent ]] && got=$out/0/release.bin
            cmp -s "$got" "$WORK/lib-$enc/release.bin" \
                || { bench_log "$client from $enc: the download differs"; exit 1; }
        done
        [[ -n $SEED_IN ]] && exec {SEED_IN}>&-
        bench_stop "$SEED_PID"
    done
    for client in $CLIENTS; do
        echo "| $r | $client | ${took[$client-off]} | ${took[$client-defaults]} | ${took[$client-libtorrent]} |" >>"$OUT/summary.md"
    done
done
cat "$OUT/summary.md"
