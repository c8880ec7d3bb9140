#!/usr/bin/env bash
# Seedline's webseed listener (BEP 19) against nginx serving the same file from the same
# page cache: SIZE of random data over loopback, to curl and to a python3-libtorrent
# webseed download (a torrent whose url-list names the server, no peers at all).
# Servers, in turn within each round: Seedline (`--http-listen`, hyper, pread + write),
# nginx with `sendfile on` (the reference), and nginx with `sendfile off` (read + write
# through its own buffers, the same copies as ours: this pair measures what sendfile
# saves). Each server process first serves one unmeasured download: Seedline hashes each
# piece of a trusted torrent before its first byte leaves.
#
#   bash seeder/bench/webseed-vs-nginx.sh                     # 1 GiB, 3 rounds
#   SIZE=64M ROUNDS=1 bash seeder/bench/webseed-vs-nginx.sh   # smoke test
#   OTHER_SEEDER=/path/to/seeder bash seeder/bench/webseed-vs-nginx.sh
#                       # also another seeder build, as `seedline-other` (for example
#                       # commit db07de1's, which sent through hyper: pread + write)
#
# Servers on SERVER_CPU, clients on CLIENT_CPU. Reports each download's time and the
# server's CPU seconds per GiB sent (user + system from /proc/PID/stat, nginx's worker).
# Only 127.0.0.1; every step bounded; everything started here is killed on exit.
# Output: $OUT/runs.tsv and $OUT/summary.md.
set -euo pipefail
source "$(dirname "$0")/../../bench/lib.sh"

bench_defaults SIZE=1G ROUNDS=3 SERVER_CPU=0 CLIENT_CPU=1 MAX_SECONDS=1800 TIMEOUT=300 \
    NGINX=/usr/sbin/nginx OTHER_SEEDER=none OUT="$ROOT/target/bench/webseed-vs-nginx"
SEEDER=$ROOT/target/release/seeder
MAKE_TORRENT=$ROOT/target/release/make-torrent

bench_time_limit "$MAX_SECONDS" "$@"

WORK=""
DL=""
SERVER_PID=""   # what is measured: the seeder, or nginx's worker
SERVER_STOP=""  # what to stop, when not SERVER_PID (nginx's master)
PORT=""

# Until URL answers a HEAD (a GET would fetch the whole file each try).
wait_head() {
    for _ in $(seq 100); do
        curl -sfI -m 1 "$1" >/dev/null && return 0
        sleep 0.1
    done
    bench_log "$1 did not answer: $(tail -5 "$2")"
    exit 1
}

start_seedline() {
    local seeder=${1:-$SEEDER}
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    bench_spawn taskset -c "$SERVER_CPU" "$seeder" --torrent "$WORK/release.torrent" --data "$WORK/data" \
        --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --utp false \
        --tracker http://127.0.0.1:9/announce --http-listen "127.0.0.1:$PORT" \
        --log-level warn >"$WORK/server.log" 2>&1
    SERVER_PID=$BENCH_PID
    wait_head "http://127.0.0.1:$PORT/release.bin" "$WORK/server.log"
}

start_nginx() {
    local sendfile=$1
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    mkdir -p "$WORK/nginx"
    cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
user $(id -un);
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile $sendfile;
    tcp_nopush on;
    output_buffers 2 256k;
    default_type application/octet-stream;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    server {
        listen 127.0.0.1:$PORT;
        root $WORK/data;
    }
}
CONF
    bench_spawn taskset -c "$SERVER_CPU" "$NGINX" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx"
    local master=$BENCH_PID
    wait_head "http://127.0.0.1:$PORT/release.bin" "$WORK/nginx/error.log"
    SERVER_PID=$(pgrep -P "$master" | head -1)
    SERVER_STOP=$master
}

stop_server() {
    bench_stop "${SERVER_STOP:-$SERVER_PID}"
    SERVER_STOP=""
}

# One download by `client` (curl or libtorrent) from the running server, measured.
measure() {
    local name=$1 server=$2 client=$3 before after t0 t1 secs cpu got
    rm -rf "$DL"
    mkdir "$DL"
    before=$(bench_cpu_ticks "$SERVER_PID")
    t0=$(date +%s.%N)
    case $client in
        curl)
            taskset -c "$CLIENT_CPU" timeout "$TIMEOUT" curl -sS -o "$DL/release.bin" \
                "http://127.0.0.1:$PORT/release.bin" ;;
        libtorrent)
            taskset -c "$CLIENT_CPU" timeout "$TIMEOUT" "$PYTHON" "$LT_HELPER" leech \
                "$WORK/$server.torrent" "$DL" "$TIMEOUT" 1 >"$WORK/dl.log" 2>&1 \
                || { bench_log "$name: libtorrent failed: $(tail -3 "$WORK/dl.log")"; exit 1; }
            mv "$DL/0/release.bin" "$DL/release.bin" ;;
    esac
    t1=$(date +%s.%N)
    after=$(bench_cpu_ticks "$SERVER_PID")
    got=$(stat -c %s "$DL/release.bin")
    [[ $got == "$BYTES" ]] && cmp -s "$WORK/data/release.bin" "$DL/release.bin" \
        || { bench_log "$name: $client got different data ($got bytes)"; exit 1; }
    secs=$(echo "$t1 - $t0" | bc -l)
    cpu=$(echo "($after - $before) / 100" | bc -l)
    printf '%s\t%s\t%s\t%.2f\t%.1f\t%.2f\t%.3f\n' "$name" "$server" "$client" "$secs" \
        "$(echo "$BYTES / $secs / 1000000" | bc -l)" "$cpu" \
        "$(echo "$cpu / ($BYTES / 1073741824)" | bc -l)" | tee -a "$OUT/runs.tsv"
}

round() {
    local r=$1 server servers=(seedline nginx-sendfile nginx-read)
    [[ $OTHER_SEEDER == none ]] || servers+=(seedline-other)
    for server in "${servers[@]}"; do
        case $server in
            seedline) start_seedline ;;
            seedline-other) start_seedline "$OTHER_SEEDER" ;;
            nginx-sendfile) start_nginx on ;;
            nginx-read) start_nginx off ;;
        esac
        # The torrent libtorrent gets: the same info, this server's URL in url-list.
        "$MAKE_TORRENT" -a http://127.0.0.1:9/announce -w "http://127.0.0.1:$PORT/" -l 1M \
            -o "$WORK/$server.torrent" -f "$WORK/data/release.bin" >/dev/null 2>&1
        # Unmeasured: the first download (Seedline hashes pieces on first upload).
        curl -sS -o /dev/null "http://127.0.0.1:$PORT/release.bin"
        measure "$server-r$r" "$server" curl
        measure "$server-r$r" "$server" libtorrent
        stop_server
    done
}

main() {
    bench_libtorrent
    bench_need bc curl taskset "$NGINX"
    mkdir -p "$OUT"
    bench_dir WORK
    bench_dir DL "${DL_PARENT:-/dev/shm}"
    bench_build -p seedline-seeder --bin seeder --bin make-torrent
    mkdir "$WORK/data"
    head -c "$SIZE" /dev/urandom >"$WORK/data/release.bin"
    BYTES=$(stat -c %s "$WORK/data/release.bin")
    "$MAKE_TORRENT" -a http://127.0.0.1:9/announce -l 1M -o "$WORK/release.torrent" \
        "$WORK/data/release.bin" >/dev/null 2>&1
    # No writeback of the new file during the rounds.
    sync
    # The first download of a run into fresh tmpfs was 2-4x slower, whichever server
    # came first: fill and free that much once before measuring.
    head -c "$BYTES" /dev/zero >"$DL/warm"
    rm "$DL/warm"
    {
        bench_env_header
        echo "nginx: $("$NGINX" -v 2>&1 | sed 's/.*: //')"
        echo "curl: $(curl --version | head -1 | cut -d' ' -f1-2)"
        echo "libtorrent: $("$PYTHON" -c 'import libtorrent; print(libtorrent.__version__)')"
        echo "workload: $BYTES bytes, one file in page cache, servers on cpu $SERVER_CPU, clients on cpu $CLIENT_CPU, downloads into ${DL_PARENT:-/dev/shm}"
    } >"$OUT/env.txt"
    printf 'run\tserver\tclient\tseconds\tMB/s\tserver CPU s\tserver CPU s/GiB\n' >"$OUT/runs.tsv"
    local r
    for r in $(seq "$ROUNDS"); do
        round "$r"
    done
    {
        echo "| run | client | seconds | MB/s | server CPU s/GiB |"
        echo "|---|---|---|---|---|"
        awk -F'\t' 'NR > 1 { printf "| %s | %s | %s | %s | %s |\n", $1, $3, $4, $5, $7 }' "$OUT/runs.tsv"
    } >"$OUT/summary.md"
    cat "$OUT/env.txt" "$OUT/summary.md"
}

main
