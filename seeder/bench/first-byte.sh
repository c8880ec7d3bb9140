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
#   bash seeder/bench/first-byte.sh          # SIZE=1M ROUNDS=3
set -euo pipefail
source "$(dirname "$0")/../../bench/lib.sh"
cd "$ROOT"
bench_defaults SIZE=1M ROUNDS=3 MAX_SECONDS=900 OUT="$ROOT/target/bench/first-byte"
bench_time_limit "$MAX_SECONDS" "$@"
bench_need aria2c
bench_libtorrent
bench_build -p seedline-seeder --bin seeder --bin make-torrent
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
        --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
        --embedded-tracker-listen 127.0.0.1:0 --embedded-tracker-admin-listen 127.0.0.1:0 \
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

# aria2's completion hook: the time it finished.
printf '#!/bin/sh\ndate +%%s%%N >"%s/aria2-done"\n' "$WORK" >"$WORK/aria2-done.sh"
chmod +x "$WORK/aria2-done.sh"

seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }

{
    bench_env_header
    echo "workload: $SIZE, one file; aria2 $(aria2c --version | head -1 | awk '{print $3}'), libtorrent $("$PYTHON" -c 'import libtorrent; print(libtorrent.__version__)'), both on their defaults"
    echo "| round | client | Seedline, encryption and uTP off s | Seedline defaults (prefer, uTP on) s | libtorrent seed s |"
    echo "|---|---|---|---|---|"
} >"$OUT/summary.md"
for r in $(seq "$ROUNDS"); do
    declare -A took=()
    for enc in off defaults libtorrent; do
        SEED_IN=""
        if [[ $enc == libtorrent ]]; then start_libtorrent_seed; else start_seeder "$enc"; fi
        for client in aria2 libtorrent; do
            out=$WORK/out-$enc-$client-$r
            mkdir -p "$out"
            t0=$(date +%s%N)
            if [[ $client == aria2 ]]; then
                rm -f "$WORK/aria2-done"
                timeout 120 aria2c --dir="$out" --enable-dht=false --bt-enable-lpd=false \
                    --enable-peer-exchange=false --disable-ipv6=true --seed-time=0 \
                    --summary-interval=0 --console-log-level=warn \
                    --on-download-complete="$WORK/aria2-done.sh" "$WORK/release-$enc.torrent" >/dev/null
                took[$client-$enc]=$(seconds "$t0" "$(cat "$WORK/aria2-done")")
            else
                timeout 120 "$PYTHON" "$LT_HELPER" leech "$WORK/release-$enc.torrent" "$out" 100 1 >/dev/null
                took[$client-$enc]=$(seconds "$t0" "$(date +%s%N)")
            fi
        done
        [[ -n $SEED_IN ]] && exec {SEED_IN}>&-
        bench_stop "$SEED_PID"
    done
    for client in aria2 libtorrent; do
        echo "| $r | $client | ${took[$client-off]} | ${took[$client-defaults]} | ${took[$client-libtorrent]} |" >>"$OUT/summary.md"
    done
done
cat "$OUT/summary.md"
