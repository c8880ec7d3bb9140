#!/usr/bin/env bash
# Runs inside a private network namespace (`unshare -rn`), made by the transmission test:
# the seeder and its embedded tracker on 10.200.0.1, transmission-cli downloading each
# torrent given, because Transmission refuses peers on 127.0.0.0/8. Exits 0 once every
# download finished, 1 on a timeout; kills what it started either way.
#
#   transmission_netns.sh WORK SEEDER TIMEOUT TORRENT DATA [TORRENT DATA ...]
# Downloads go to WORK/out<N>; logs to WORK/*.log.
set -euo pipefail
work=$1 seeder=$2 timeout=$3
shift 3

# On the namespace's own loopback interface: no kernel module needed (a dummy or veth
# device may not exist), and the addresses are not 127.0.0.0/8.
ip link set lo up
ip addr add 10.200.0.1/32 dev lo
ip addr add 10.200.0.2/32 dev lo

pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

args=()
torrents=()
while (($#)); do
    args+=(--torrent "$1" --data "$2")
    torrents+=("$1")
    shift 2
done
"$seeder" "${args[@]}" --listen 10.200.0.1:6881 --admin-listen 127.0.0.1:6971 \
    --embedded-tracker-listen 10.200.0.1:6969 --embedded-tracker-admin-listen 127.0.0.1:6970 \
    >"$work/seeder.log" 2>&1 &
pids+=($!)

n=0
for t in "${torrents[@]}"; do
    n=$((n + 1))
    mkdir -p "$work/out$n" "$work/cfg$n"
    printf '#!/bin/sh\ntouch "%s/done%s"\n' "$work" "$n" >"$work/done$n.sh"
    # The seeder speaks TCP only (no uTP, BEP 29); Transmission tries uTP first and,
    # against a TCP-only peer, did not fall back within minutes. DHT and LPD would only
    # look for peers that do not exist here.
    printf '{"utp-enabled": false, "dht-enabled": false, "lpd-enabled": false}\n' \
        >"$work/cfg$n/settings.json"
    chmod +x "$work/done$n.sh"
    # Default encryption setting (preferred): the seeder refuses the encrypted opener and
    # Transmission must fall back to a plain handshake.
    transmission-cli -g "$work/cfg$n" -w "$work/out$n" -p $((51412 + n)) -M \
        -f "$work/done$n.sh" "$t" >"$work/transmission$n.log" 2>&1 &
    pids+=($!)
done

for _ in $(seq $((timeout * 10))); do
    all=1
    for i in $(seq "$n"); do
        [[ -e $work/done$i ]] || all=0
    done
    if ((all)); then
        exit 0
    fi
    sleep 0.1
done
echo "timed out after ${timeout}s" >&2
exit 1
