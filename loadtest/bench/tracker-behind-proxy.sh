#!/usr/bin/env bash
# Seedline's HTTP tracker and Debian's opentracker, each behind the shipped reverse-proxy
# configurations (deploy/nginx/seedline-tracker.conf, deploy/haproxy/haproxy.cfg): what a
# deployment pays per announce, proxy and tracker together. The proxies keep upstream
# connections alive, but opentracker closes every one: behind a proxy each of its
# announces also costs the proxy an upstream connection.
#
# Each run starts a fresh tracker and proxy, both pinned to TRACKER_CPUS, preloads every
# peer through the proxy, then measures for DURATION seconds with the generator on
# LOAD_CPUS, its clients keeping their connections (keep-alive) or opening one per
# announce (new-connection). CPU is utime + stime (/proc/PID/stat) of the tracker and of
# every proxy process over the measured phase, divided by the requests sent. Every step
# has a timeout, the script stops after MAX_SECONDS, only loopback is used, everything
# started here is killed on exit, and the shipped configurations are edited only in
# temporary copies (proxy_configs).
#
#   bash loadtest/bench/tracker-behind-proxy.sh                                   # full
#   TORRENTS=1000 PEERS=10000 DURATION=2 ROUNDS=1 bash loadtest/bench/tracker-behind-proxy.sh  # smoke
#
# Debian's opentracker is built without WANT_IP_FROM_PROXY: behind a proxy every peer is
# 127.0.0.1 to it, so peers that differ only by address merge (it keys peers by address
# and port) and it stores fewer than Seedline. It also answers HTTP/1.1 without
# "Connection: close" and then closes: nginx may reuse such a connection just after, get
# a reset and, with the shipped proxy_next_upstream off, answer 502 (a few errors a run,
# the reason in $OUT/*.proxy.log).
#
# Output: $OUT/*.json (`loadtest tracker --json` per run, plus the CPU ticks read here),
# $OUT/*.log (the generator's progress), $OUT/runs.tsv and $OUT/summary.md.
set -euo pipefail
source "$(dirname "$0")/../../bench/lib.sh"

# PORT: the proxy's plain HTTP port (the load's target); PORT+1 its TLS port (unused by
# the load, kept so the configurations stay whole); PORT+2 the tracker's public port, the
# proxy's upstream; PORT+3 Seedline's admin port. BUILD=0: use the binaries as they are.
bench_defaults TORRENTS=100000 PEERS=1000000 DURATION=10 ROUNDS=2 CONNECTIONS=64 \
    PROXIES=nginx,haproxy TRACKERS=seedline,opentracker MODES=keep-alive,new-connection \
    TRACKER_CPUS=0 LOAD_CPUS=1 MAX_SECONDS=5400 QUIET_WAIT=600 STEAL_MAX=10 BUILD=1 \
    PORT=25969 OUT="$ROOT/target/bench/tracker-behind-proxy" OPENTRACKER=/usr/bin/opentracker \
    NGINX=/usr/sbin/nginx HAPROXY=/usr/sbin/haproxy
TRACKER=$ROOT/target/release/tracker
LOADTEST=$ROOT/target/release/loadtest
UPORT=$((PORT + 2))
HZ=$(getconf CLK_TCK)

# The whole script runs under `timeout`: at MAX_SECONDS it gets SIGTERM and cleans up.
bench_time_limit "$MAX_SECONDS" "$@"

TPID=""        # the tracker under test
PROXY_PIDS=()  # the proxy: the process started (nginx master, haproxy), then its children
PROXY_LOG="" WORK="" SEQ=0

# wait_quiet (with steal_percent, which it calls) from tracker-vs-opentracker.sh, its
# definitions only, so that both scripts wait for a quiet machine alike: at most
# QUIET_WAIT s for no other busy process and hypervisor steal under STEAL_MAX percent,
# else it returns 1 and the run is marked disturbed. (It runs while none of our
# processes do, so its list of them need not name nginx and haproxy.)
source <(sed -n '/^steal_percent() {$/,/^}$/p; /^wait_quiet() {$/,/^}$/p' "$(dirname "$0")/tracker-vs-opentracker.sh")
declare -F steal_percent wait_quiet >/dev/null || { bench_log "no wait_quiet in tracker-vs-opentracker.sh"; exit 1; }

# Seedline as deploy/README.md runs it behind a proxy on the same host (trusted proxy
# 127.0.0.1/32), with the per-address caps lifted as in tracker-vs-opentracker.sh: the
# generator lays many peers of one swarm on one loopback address.
start_seedline() {
    taskset -c "$TRACKER_CPUS" "$TRACKER" --listen "127.0.0.1:$UPORT" --admin-listen "127.0.0.1:$((PORT + 3))" \
        --trusted-proxy 127.0.0.1/32 --max-peers-per-address 65536 --max-peers-per-address-total 10000000 \
        --log-level warn >"$WORK/seedline.log" 2>&1 &
    TPID=$!
    wait_for "seedline tracker" "$WORK/seedline.log" curl -sf -m 1 "http://127.0.0.1:$((PORT + 3))/health"
}

# opentracker (Debian builds it with a whitelist): ready once the last info hash of the
# population is accepted, i.e. the whole access list is loaded (as in the other script).
start_opentracker() {
    taskset -c "$TRACKER_CPUS" "$OPENTRACKER" -i 127.0.0.1 -p "$UPORT" -P "$UPORT" -d "$WORK" -w whitelist.txt \
        >"$WORK/opentracker.log" 2>&1 &
    TPID=$!
    local q
    q="info_hash=$(tail -n1 "$WORK/whitelist.txt" | sed 's/../%&/g')&peer_id=-BENCH0-000000000000&port=1&left=1&compact=1"
    wait_for "opentracker with the population's info hashes" "$WORK/opentracker.log" \
        bash -c "curl -sf -m 1 'http://127.0.0.1:$UPORT/announce?$q' | grep -q interval"
    curl -sf -m 1 "http://127.0.0.1:$UPORT/announce?$q&event=stopped" >/dev/null || true
}

# wait_for WHAT LOG COMMAND...: until COMMAND succeeds, 30 s at most; else shows LOG, fails.
wait_for() {
    local what=$1 log=$2 i
    shift 2
    for i in $(seq 300); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    bench_log "$what did not come up; log:"; tail -20 "$log" >&2
    return 1
}

# The shipped configurations with only what a loopback benchmark needs changed (checked
# after editing, so that a change to the shipped files is noticed): listeners on
# 127.0.0.1:PORT and PORT+1 (TLS, test certificate), no IPv6; upstream 127.0.0.1:UPORT;
# per-client rate limits (10 r/s; 200 per 10 s) raised far above the load, so they are
# still evaluated on every request but never answer 429 (the caps of 64 connections per
# client stay: each client connection has its own address). Upstream keep-alive, headers,
# timeouts and buffering stay as shipped. nginx: the site file is for the http context;
# the main file around it is ours, with worker_processes 1 (pinned with the tracker).
# HAProxy: nbthread 1 added (unset in the shipped file: one thread per CPU); chroot, user,
# group and daemon removed and logs to stderr, to run in the foreground (as deploy/tests).
proxy_configs() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj /CN=tracker.example.org -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
    cat "$WORK/key.pem" "$WORK/cert.pem" >"$WORK/haproxy.pem"
    mkdir -p "$WORK/nginx"
    sed -e "s|/etc/seedline/tls/fullchain\.pem|$WORK/cert.pem|" -e "s|/etc/seedline/tls/privkey\.pem|$WORK/key.pem|" \
        -e "s|^\(\s*\)listen 443 ssl;|\1listen 127.0.0.1:$((PORT + 1)) ssl;|" \
        -e "s|^\(\s*\)listen 80;|\1listen 127.0.0.1:$PORT;|" -e '/^\s*listen \[::\]:/d' \
        -e "s|server 127\.0\.0\.1:6969\b|server 127.0.0.1:$UPORT|" -e 's|rate=10r/s|rate=1000000r/s|' \
        "$ROOT/deploy/nginx/seedline-tracker.conf" >"$WORK/nginx/site.conf"
    expect "$WORK/nginx/site.conf" "listen 127.0.0.1:$PORT;" "listen 127.0.0.1:$((PORT + 1)) ssl;" \
        "server 127.0.0.1:$UPORT" "rate=1000000r/s" "keepalive 64;" "proxy_set_header Connection \"\";"
    cat >"$WORK/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
$(for k in client_body proxy fastcgi uwsgi scgi; do echo "    ${k}_temp_path $WORK/nginx/$k;"; done)
    include $WORK/nginx/site.conf;
}
EOF
    sed -e '/^\s*\(chroot\|user\|group\|daemon\)\b/d' -e 's|^global$|global\n    nbthread 1|' \
        -e 's|^\(\s*\)log /dev/log \(\S*\) \(\S*\)$|\1log stderr format raw \2 \3|' \
        -e "s|/etc/seedline/tls/haproxy\.pem|$WORK/haproxy.pem|g" \
        -e "s|^\(\s*\)bind :443 |\1bind 127.0.0.1:$((PORT + 1)) |" -e "s|^\(\s*\)bind :80$|\1bind 127.0.0.1:$PORT|" \
        -e '/^\s*bind :::/d' -e "s|server tracker 127\.0\.0\.1:6969\b|server tracker 127.0.0.1:$UPORT|" \
        -e 's|sc_http_req_rate(0) gt 200 |sc_http_req_rate(0) gt 1000000000 |' \
        "$ROOT/deploy/haproxy/haproxy.cfg" >"$WORK/haproxy.cfg"
    # HAProxy wants two descriptors a connection and will not start if the hard limit cannot
    # hold maxconn's: lower the limits (50000, 40000) only then, keeping their ratio.
    local fds
    fds=$(ulimit -Hn)
    if [[ $fds != unlimited ]] && ((fds < 100100)); then
        sed -i -e "s/maxconn 50000$/maxconn $(((fds - 200) / 2))/" \
            -e "s/maxconn 40000$/maxconn $(((fds - 200) * 2 / 5))/" "$WORK/haproxy.cfg"
    fi
    expect "$WORK/haproxy.cfg" "bind 127.0.0.1:$PORT" "bind 127.0.0.1:$((PORT + 1)) ssl" "nbthread 1" \
        "server tracker 127.0.0.1:$UPORT" "gt 1000000000" "http-reuse aggressive" "log stderr"
    if grep -nE '^[^#]*(6969|/etc/seedline|/dev/log|:::|\[::\]|chroot|daemon)' "$WORK/nginx/site.conf" "$WORK/haproxy.cfg"; then
        bench_log "the lines above were not rewritten: has a shipped config changed?"; exit 1
    fi
}

# expect FILE STRING...: exits unless FILE contains every STRING.
expect() {
    local f=$1 s
    for s in "${@:2}"; do grep -qF -- "$s" "$f" || { bench_log "$f lacks '$s': has a shipped config changed?"; exit 1; }; done
}

# A proxy is ready when it answers HTTP on PORT; its workers are the first process's children.
start_nginx() {
    PROXY_LOG=$WORK/nginx/error.log
    taskset -c "$TRACKER_CPUS" "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$PROXY_LOG" &
    proxy_ready $!
}
start_haproxy() {
    PROXY_LOG=$WORK/haproxy.log
    taskset -c "$TRACKER_CPUS" "$HAPROXY" -db -f "$WORK/haproxy.cfg" >"$PROXY_LOG" 2>&1 &
    proxy_ready $!
}

proxy_ready() {
    PROXY_PIDS=("$1")
    wait_for "proxy" "$PROXY_LOG" curl -s -m 1 -o /dev/null "http://127.0.0.1:$PORT/health" || return 1
    # shellcheck disable=SC2207
    PROXY_PIDS+=($(cat "/proc/$1/task/$1/children"))
}

# Stops the proxy (its workers with it), then the tracker; after 15 s, kill -9 (and a
# proxy killed that way leaves its workers: they get it too).
stop_all() {
    local p pids
    for pids in "${PROXY_PIDS[*]}" "$TPID"; do
        p=${pids%% *}
        [[ -n $p ]] || continue
        kill "$p" 2>/dev/null || true
        # shellcheck disable=SC2086
        timeout 15 tail --pid="$p" -f /dev/null || kill -9 $pids 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    PROXY_PIDS=() TPID=""
    # Let the kernel retire the last run's TIME_WAIT sockets for a moment.
    sleep 2
}

# ticks PID...: their user + system CPU together, in 1/HZ s.
# (A process gone missing is reported by awk and counts 0; its run's errors will show it.)
ticks() {
    local p f=()
    for p in "$@"; do f+=("/proc/$p/stat"); done
    awk '{ s += $14 + $15 } END { print s + 0 }' "${f[@]}" || true
}

# Connections Seedline has accepted (the proxy's upstream connections); empty for opentracker.
upstream_conns() {
    [[ $1 == seedline ]] || return 0
    taskset -c "$LOAD_CPUS" curl -sf -m 1 "http://127.0.0.1:$((PORT + 3))/metrics" |
        awk '$1 == "seedline_tracker_connections_total" { print $2 }' || true
}

# measure NAME PROXY IMPL MODE ROUND: fresh tracker and proxy, preload, measure, stop.
# The generator says "measuring" on stderr when its measured phase starts: CPU is read then
# and when it exits, so the preload is left out.
measure() {
    local name=$1 proxy=$2 impl=$3 mode=$4 round=$5 quiet=1 flag=() fd lt drain line
    local t0="" p0 c0 t1 p1 c1
    wait_quiet || quiet=0
    # (Called with `|| true`, so errexit is off in here: failures are handled explicitly.)
    if ! "start_$impl" || ! "start_$proxy"; then
        stop_all
        [[ -z $PROXY_LOG ]] || mv "$PROXY_LOG" "$OUT/$name.proxy.log" 2>/dev/null
        return 1
    fi
    [[ $mode == new-connection ]] && flag=(--new-connection)
    bench_log "$name: $impl behind $proxy, $mode (proxy pids ${PROXY_PIDS[*]}, tracker $TPID)"
    rm -f "$WORK/progress" && mkfifo "$WORK/progress"
    timeout 900 taskset -c "$LOAD_CPUS" "$LOADTEST" tracker --target "http://127.0.0.1:$PORT/announce" \
        --torrents "$TORRENTS" --peers "$PEERS" --connections "$CONNECTIONS" --duration "$DURATION" \
        --preload --target-pid "$TPID" "${flag[@]}" --json >"$OUT/$name.json" 2>"$WORK/progress" &
    lt=$!
    exec {fd}<"$WORK/progress"
    while IFS= read -r -t 900 -u "$fd" line; do
        echo "$line" >>"$OUT/$name.log"
        if [[ $line == "loadtest: measuring" ]]; then
            t0=$(ticks "$TPID") p0=$(ticks "${PROXY_PIDS[@]}") c0=$(upstream_conns "$impl")
            break
        fi
    done
    cat <&"$fd" >>"$OUT/$name.log" &
    drain=$!
    exec {fd}<&-
    wait "$lt" || true
    [[ -n $t0 ]] && t1=$(ticks "$TPID") p1=$(ticks "${PROXY_PIDS[@]}") c1=$(upstream_conns "$impl")
    wait "$drain" || true
    stop_all
    # The proxy's errors (it logs nothing for a request served), for the errors column.
    mv "$PROXY_LOG" "$OUT/$name.proxy.log"
    if [[ -z $t0 ]] || ! jq -e .measured "$OUT/$name.json" >/dev/null 2>&1; then
        bench_log "$name produced no report:"; tail -5 "$OUT/$name.log" >&2
        mv "$OUT/$name.json" "$OUT/$name.failed"
        return 1
    fi
    SEQ=$((SEQ + 1))
    jq --arg name "$name" --arg proxy "$proxy" --arg impl "$impl" --argjson round "$round" \
        --argjson seq "$SEQ" --argjson quiet "$quiet" --argjson hz "$HZ" \
        --argjson tt $((t1 - t0)) --argjson pt $((p1 - p0)) --arg up "$([[ -n $c0 ]] && echo $((c1 - c0)))" \
        '. + {name: $name, proxy: $proxy, impl: $impl, round: $round, seq: $seq, quiet: ($quiet == 1),
              cpu_ticks: {tracker: $tt, proxy: $pt, per_second: $hz},
              upstream_connections: (if $up == "" then null else ($up | tonumber) end)}' \
        "$OUT/$name.json" >"$OUT/$name.tmp"
    mv "$OUT/$name.tmp" "$OUT/$name.json"
}

main() {
    bench_need jq openssl curl taskset
    local x
    for x in "$OPENTRACKER" "$NGINX" "$HAPROXY"; do
        [[ -x $x ]] || { bench_log "needs $x (apt-get install opentracker nginx haproxy)"; exit 1; }
    done
    mkdir -p "$OUT"
    rm -f "$OUT"/*.json "$OUT"/*.log "$OUT"/*.failed
    bench_dir WORK
    # opentracker drops to user nobody and chroots here; it must still read the list.
    chmod 755 "$WORK"
    if [[ $BUILD == 1 ]]; then bench_build -p seedline-tracker -p seedline-loadtest --bins; fi
    "$LOADTEST" tracker --torrents "$TORRENTS" --peers "$PEERS" --print-info-hashes >"$WORK/whitelist.txt"
    proxy_configs

    {
        bench_env_header
        echo "opentracker: $(dpkg-query -W -f='${Version}' opentracker 2>/dev/null || echo unknown)"
        echo "nginx: $("$NGINX" -v 2>&1 | sed 's/.*version: //'); haproxy: $("$HAPROXY" -v | awk 'NR == 1 { print $3 }')"
        echo "workload: $TORRENTS torrents, $PEERS peers, zipf 1.0, $CONNECTIONS client connections, ${DURATION}s, proxy and tracker on cpu $TRACKER_CPUS, load on cpu $LOAD_CPUS"
    } >"$OUT/env.txt"

    local r mode proxy impl
    for r in $(seq "$ROUNDS"); do
        for mode in ${MODES//,/ }; do
            for proxy in ${PROXIES//,/ }; do
                for impl in ${TRACKERS//,/ }; do
                    measure "$proxy-$impl-$mode-r$r" "$proxy" "$impl" "$mode" "$r" || true
                done
            done
        done
    done
    summarize
}

summarize() {
    # CPU per request as loadtest counts it: over every request sent, failed ones included.
    jq -r -s '
        ["proxy", "tracker", "mode", "round", "req_s", "cpu_us", "tracker_cpu_us", "proxy_cpu_us",
         "p50_us", "p99_us", "errors", "upstream_conns", "tracker_cpu_us_loadtest", "gen_cpu_us",
         "self_in_peers", "busy_pct", "steal_pct", "quiet", "name"],
        (sort_by(.seq)[] | (.measured.requests + .measured.errors_total) as $sent
         | (.cpu_ticks.per_second * $sent / 1e6) as $div
         | [.proxy, .impl, .mode, .round, (.measured.requests_per_sec | floor),
            ((.cpu_ticks.tracker + .cpu_ticks.proxy) / $div * 100 | round / 100),
            (.cpu_ticks.tracker / $div * 100 | round / 100), (.cpu_ticks.proxy / $div * 100 | round / 100),
            (.measured.latency_us.p50 | floor), (.measured.latency_us.p99 | floor),
            (.measured.errors_total + (.preload.errors_total // 0)), (.upstream_connections // "-"),
            (.tracker_process.cpu_us_per_request * 100 | round / 100),
            (.measured.generator_cpu_us_per_request * 100 | round / 100), .measured.announcer_in_peers,
            (.measured.host_busy_percent | round), (.measured.host_steal_percent | round), .quiet, .name])
        | @tsv' "$OUT"/*.json >"$OUT/runs.tsv" || bench_log "no runs to summarize"
    {
        echo "| proxy | tracker | mode | round | req/s | proxy+tracker CPU us/req | tracker CPU us/req | proxy CPU us/req | p50 us | p99 us | errors | upstream conns opened |"
        echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
        awk -F'\t' 'NR > 1 { printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 }' "$OUT/runs.tsv"
        echo
        echo "Errors include the preload's. Upstream conns opened: connections Seedline accepted during the measured phase (none means the proxy reused its keep-alive connections; opentracker closes every one, so there it is one per announce and not counted)."
    } >"$OUT/summary.md"
    cat "$OUT/env.txt" "$OUT/summary.md"
}

main "$@"
