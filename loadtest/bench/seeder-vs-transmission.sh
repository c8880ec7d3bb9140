#!/usr/bin/env bash
# Seedline's seeder against transmission-daemon seeding the same torrent, measured with
# `loadtest seeder`. Transmission refuses peers on 127.0.0.0/8, so everything runs in a
# private network namespace (`unshare -rn`) with the seeds on 10.200.0.1 (Seedline) and
# 10.200.0.2 (Transmission), both on the namespace's own loopback interface.
#
#   bash loadtest/bench/seeder-vs-transmission.sh               # 1 GiB, 3 rounds
#   SIZE=64M ROUNDS=1 bash loadtest/bench/seeder-vs-transmission.sh   # smoke test
#
# One leecher per run: Transmission accepts one connection per peer address, and every
# synthetic leecher comes from the same address. Seeds on SEED_CPU, the generator on
# LOAD_CPU. Bounded by MAX_SECONDS; everything started is stopped on exit (leaving the
# namespace ends it). Output: $OUT/*.json and $OUT/summary.md.
set -euo pipefail
source "$(dirname "$0")/../../bench/lib.sh"

bench_defaults SIZE=1G ROUNDS=3 SEED_CPU=0 LOAD_CPU=1 MAX_SECONDS=1800 \
    OUT="$ROOT/target/bench/seeder-vs-transmission"
BIN=$ROOT/target/release

if [[ -z ${BENCH_IN_NETNS:-} ]]; then
    # transmission-remote comes with transmission-cli.
    bench_need transmission-daemon transmission-remote jq
    bench_build -p seedline-seeder --bin seeder --bin make-torrent -p seedline-loadtest --bin loadtest
    mkdir -p "$OUT"
    rm -f "$OUT"/*.json
    BENCH_IN_NETNS=1 exec timeout -s TERM "$MAX_SECONDS" unshare -rn bash "$0" "$@"
fi

ip link set lo up
ip addr add 10.200.0.1/32 dev lo
ip addr add 10.200.0.2/32 dev lo

bench_dir WORK

bench_release http://10.200.0.1:6969/announce

taskset -c "$SEED_CPU" "$BIN/seeder" --torrent "$WORK/release.torrent" --data "$WORK/data" \
    --listen 10.200.0.1:6881 --admin-listen 127.0.0.1:6971 \
    --embedded-tracker-listen 10.200.0.1:6969 --embedded-tracker-admin-listen 127.0.0.1:6970 \
    --log-level warn >"$WORK/seeder.log" 2>&1 &
SEEDLINE=$!

mkdir "$WORK/tr"
printf '{"utp-enabled": false, "dht-enabled": false, "lpd-enabled": false, "pex-enabled": false}\n' \
    >"$WORK/tr/settings.json"
taskset -c "$SEED_CPU" transmission-daemon -f -g "$WORK/tr" -T -r 127.0.0.1 -p 9091 -M \
    -i 10.200.0.2 -P 51413 -w "$WORK/data" >"$WORK/transmission.log" 2>&1 &
TRANSMISSION=$!
for _ in $(seq 100); do
    transmission-remote 127.0.0.1:9091 -l >/dev/null 2>&1 && break
    sleep 0.1
done
transmission-remote 127.0.0.1:9091 -a "$WORK/release.torrent" -w "$WORK/data" >/dev/null
bench_log "transmission-daemon is checking the data"
for _ in $(seq 600); do
    # A complete torrent with no peers shows as "Idle", so go by what is verified.
    if transmission-remote 127.0.0.1:9091 -t 1 -i 2>/dev/null | grep -q "Percent Done: 100%"; then
        break
    fi
    sleep 0.5
done
transmission-remote 127.0.0.1:9091 -t 1 -i | grep -q "Percent Done: 100%" \
    || { bench_log "transmission-daemon never started seeding: $(tail -5 "$WORK/transmission.log")"; exit 1; }

{
    bench_env_header
    echo "transmission: $(transmission-daemon -V 2>&1 | head -1)"
    echo "workload: $(stat -c %s "$WORK/data/release.bin") bytes, 1 leecher per run, seeds on cpu $SEED_CPU, loadtest on cpu $LOAD_CPU"
} >"$OUT/env.txt"

run() {
    local name=$1 target=$2 pid=$3
    bench_log "$name"
    taskset -c "$LOAD_CPU" "$BIN/loadtest" seeder --allow-remote --target "$target" \
        --torrent "$WORK/release.torrent" --peers 1 --target-pid "$pid" --timeout 600 --json \
        >"$OUT/$name.json" || bench_log "$name: some leechers failed (see $OUT/$name.json)"
}

# The first Seedline download also hashes each piece before it is first served;
# Transmission hashed everything above. Warm Seedline up so the rounds compare like
# with like.
run seedline-warmup 10.200.0.1:6881 "$SEEDLINE"
for r in $(seq "$ROUNDS"); do
    run "seedline-r$r" 10.200.0.1:6881 "$SEEDLINE"
    run "transmission-r$r" 10.200.0.2:51413 "$TRANSMISSION"
done

{
    echo "| run | MB/s | seed CPU s/GiB | seed RSS KiB | completed | errors |"
    echo "|---|---|---|---|---|---|"
    for f in "$OUT"/*.json; do
        jq -r --arg n "$(basename "$f" .json)" \
            '"| \($n) | \(.mb_per_sec * 10 | round / 10) | \(.target_process.cpu_secs_per_gib * 100 | round / 100) | \(.target_process.rss_kib) | \(.completed) | \(.errors | to_entries | map("\(.key) \(.value)") | join(", ")) |"' "$f"
    done
} >"$OUT/summary.md"
cat "$OUT/env.txt" "$OUT/summary.md"
