#!/usr/bin/env bash
# Seedline's tracker against Debian's opentracker under the same simulated population,
# and over HTTP against the floor: `tracker/examples/floor.rs`, the tracker's own
# listener and connection handling answering a canned reply (no parsing, no swarm), so
# every figure can be read as a ratio to what TCP and HTTP alone cost; and against the
# bare floor, `tracker/examples/bare_floor.rs`: tokio and `httparse` with no hyper, no
# limits and no deadlines, which says how much of the floor is the kernel's TCP.
#
# Each run starts a fresh tracker pinned to TRACKER_CPUS, preloads every peer (so the
# tracker holds the whole population), reads its RSS, then measures for DURATION seconds
# with the generator pinned to LOAD_CPUS. Runs alternate between the two trackers. Every
# step has a timeout, the whole script stops after MAX_SECONDS, only loopback is used,
# and everything started here is killed on exit.
#
#   bash loadtest/bench/tracker-vs-opentracker.sh            # full comparison
#   TORRENTS=1000 PEERS=10000 DURATION=2 ROUNDS=1 SWEEP=0 bash loadtest/bench/...  # smoke
#   MODES=udp RATE_RUNS=0 SWEEP=0 bash loadtest/bench/tracker-vs-opentracker.sh    # UDP (BEP 15)
#   MODES=udp,aquatic-load RATE_RUNS=0 SWEEP=0 bash loadtest/bench/...  # also aquatic_udp
#
# UDP runs include aquatic_udp when it is installed (`cargo install aquatic_udp
# aquatic_udp_load_test`; AQUATIC_UDP and AQUATIC_LOAD name the binaries). The mode
# aquatic-load runs aquatic's own load generator, as a cross-check of ours, against
# Seedline and aquatic_udp: not against Debian's opentracker, which is built to serve only
# the info hashes of its whitelist and would refuse that generator's random ones.
#
# Output: $OUT/*.json (one `loadtest tracker --json` report per run), $OUT/runs.tsv and
# $OUT/summary.md (the tables BENCHMARKS.md quotes).
set -euo pipefail
source "$(dirname "$0")/../../bench/lib.sh"

# RATE_RUNS: runs at the fixed rate (keep-alive), Seedline's and each floor's, for each of
# ARRIVALS (even: wrk2's constant rate; poisson: exponential gaps). SWEEP=1: also 16/256/1024
# connections, keep-alive. QUIET_WAIT: longest wait for other heavy processes to finish.
# STEAL_MAX: percent of CPU stolen by the hypervisor that counts as busy. PORT: the
# public port (TCP and UDP); PORT+1 is Seedline's admin port. MODES: the measured modes,
# comma-separated, of new-connection, keep-alive (HTTP), udp and aquatic-load.
# NEW_CONNECTION_RATE: if set, the new-connection runs are open loop at this many
# announces/s (evenly spaced) instead of closed loop, so every server carries the same load.
bench_defaults TORRENTS=100000 PEERS=1000000 DURATION=10 ROUNDS=3 CONNECTIONS=64 RATE=20000 \
    RATE_RUNS=5 ARRIVALS=even,poisson SWEEP=1 MODES=new-connection,keep-alive TRACKER_CPUS=0 LOAD_CPUS=1 MAX_SECONDS=5400 QUIET_WAIT=600 STEAL_MAX=10 \
    PORT=23969 OUT="$ROOT/target/bench/tracker-vs-opentracker" OPENTRACKER=/usr/bin/opentracker NEW_CONNECTION_RATE=
: "${AQUATIC_UDP:=$(command -v aquatic_udp || true)}"
: "${AQUATIC_LOAD:=$(command -v aquatic_udp_load_test || true)}"
TRACKER=$ROOT/target/release/tracker
FLOOR=$ROOT/target/release/examples/floor
BARE_FLOOR=$ROOT/target/release/examples/bare_floor
LOADTEST=$ROOT/target/release/loadtest

# The whole script runs under `timeout`: at MAX_SECONDS it gets SIGTERM and cleans up.
bench_time_limit "$MAX_SECONDS" "$@"

TPID=""   # the tracker under test
CHILD=""  # the load generator (or build) running now
WORK=""


# Runs a command in the background and waits, so that a signal (Ctrl-C, the time limit)
# interrupts the wait at once instead of after the command.
run() {
    "$@" &
    CHILD=$!
    local rc=0
    wait "$CHILD" || rc=$?
    CHILD=""
    return "$rc"
}

# Percent of CPU time the hypervisor stole over a 3-second sample (this is a VM).
steal_percent() {
    local a b
    read -ra a < <(grep '^cpu ' /proc/stat)
    sleep 3
    read -ra b < <(grep '^cpu ' /proc/stat)
    local total=0 i
    for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
    echo $(((b[8] - a[8]) * 100 / (total > 0 ? total : 1)))
}

# Waits (at most QUIET_WAIT seconds) until no other process uses much CPU and the
# hypervisor steals less than STEAL_MAX percent; returns 1 if that never happened, so the
# run is marked as possibly disturbed.
wait_quiet() {
    local waited=0 busy steal
    while :; do
        busy=$(top -bn1 -w 200 | awk 'NR > 7 && $9 + 0 >= 20 && $12 !~ /^(top|tracker|opentracker|loadtest|aquatic_udp.*)$/ { print $12 " (" $9 "%)" }' | tr '\n' ' ')
        steal=$(steal_percent)
        ((steal >= STEAL_MAX)) && busy="$busy hypervisor steal ${steal}%"
        [[ -z ${busy// /} ]] && return 0
        if ((waited >= QUIET_WAIT)); then
            bench_log "still busy after ${QUIET_WAIT}s: $busy; measuring anyway (marked disturbed)"
            return 1
        fi
        bench_log "waiting for a quiet machine: $busy"
        sleep 12
        waited=$((waited + 15))
    done
}

# Seedline tracker: waits for /health.
start_seedline() {
    local cpus=$1
    # The generator lays many peers of one swarm on one loopback address (up to 64 512
    # ports each), which the per-address caps exist to refuse: lift them so that both
    # trackers store the same population.
    taskset -c "$cpus" "$TRACKER" --listen "127.0.0.1:$PORT" --admin-listen "127.0.0.1:$((PORT + 1))" \
        --udp-listen "127.0.0.1:$PORT" --udp-sockets 1 \
        --max-peers-per-address 65536 --max-peers-per-address-total 10000000 --log-level warn >"$WORK/seedline.log" 2>&1 &
    TPID=$!
    wait_health "seedline tracker" "$WORK/seedline.log"
}

# wait_health WHAT LOG: waits (10 s at most) for /health on the public port.
wait_health() {
    local i
    for i in $(seq 100); do
        curl -sf -m 1 "http://127.0.0.1:$PORT/health" >/dev/null && return 0
        sleep 0.1
    done
    bench_log "$1 did not come up; log:"; cat "$2" >&2
    return 1
}

# The floor: the same listener and connection handling, a canned reply of 50 peers.
start_floor() {
    local cpus=$1
    taskset -c "$cpus" "$FLOOR" "127.0.0.1:$PORT" 50 >"$WORK/floor.log" 2>&1 &
    TPID=$!
    wait_health floor "$WORK/floor.log"
}

# The bare floor: tokio and httparse alone, the same canned reply.
start_bare_floor() {
    local cpus=$1
    taskset -c "$cpus" "$BARE_FLOOR" "127.0.0.1:$PORT" 50 >"$WORK/bare_floor.log" 2>&1 &
    TPID=$!
    wait_health "bare floor" "$WORK/bare_floor.log"
}

# opentracker (Debian builds it with a whitelist): waits until the last info hash of the
# population is accepted, i.e. the whole access list is loaded.
start_opentracker() {
    local cpus=$1
    taskset -c "$cpus" "$OPENTRACKER" -i 127.0.0.1 -p "$PORT" -P "$PORT" -d "$WORK" -w whitelist.txt \
        >"$WORK/opentracker.log" 2>&1 &
    TPID=$!
    local last enc q i
    last=$(tail -n1 "$WORK/whitelist.txt")
    enc=$(sed 's/../%&/g' <<<"$last")
    q="info_hash=$enc&peer_id=-BENCH0-000000000000&port=1&left=1&compact=1"
    for i in $(seq 300); do
        if curl -sf -m 1 "http://127.0.0.1:$PORT/announce?$q" 2>/dev/null | grep -q interval; then
            curl -sf -m 1 "http://127.0.0.1:$PORT/announce?$q&event=stopped" >/dev/null || true
            return 0
        fi
        sleep 0.1
    done
    bench_log "opentracker did not accept the population's info hashes; log:"; cat "$WORK/opentracker.log" >&2
    return 1
}

# aquatic_udp (UDP only): one socket worker, the same cap on peers per reply as the other
# two (200 over IPv4), no access list; waits until its port is bound.
start_aquatic() {
    local cpus=$1
    "$AQUATIC_UDP" -p | sed -e "s/^socket_workers = .*/socket_workers = 1/" \
        -e "s/^address = .*/address = \"127.0.0.1:$PORT\"/" \
        -e "s/^max_response_peers = .*/max_response_peers = 200/" >"$WORK/aquatic.toml"
    taskset -c "$cpus" "$AQUATIC_UDP" -c "$WORK/aquatic.toml" >"$WORK/aquatic.log" 2>&1 &
    TPID=$!
    local i
    for i in $(seq 100); do
        [[ -n $(ss -Hunl "sport = :$PORT") ]] && return 0
        sleep 0.1
    done
    bench_log "aquatic_udp did not come up; log:"; cat "$WORK/aquatic.log" >&2
    return 1
}

stop_tracker() {
    kill "$TPID" 2>/dev/null || true
    timeout 15 tail --pid="$TPID" -f /dev/null || kill -9 "$TPID" 2>/dev/null || true
    wait "$TPID" 2>/dev/null || true
    TPID=""
    # Let the kernel retire the last run's TIME_WAIT sockets for a moment.
    sleep 2
}

# measure NAME IMPL MODE [loadtest flags...]: fresh tracker, preload, measure, stop.
measure() {
    local name=$1 impl=$2 mode=$3
    shift 3
    local quiet=1 mode_flag=() target="http://127.0.0.1:$PORT/announce"
    wait_quiet || quiet=0
    [[ $mode == new-connection ]] && mode_flag=(--new-connection)
    # Every server at the same offered load, not each at what the generator manages.
    [[ $mode == new-connection && -n $NEW_CONNECTION_RATE ]] && mode_flag+=(--rate "$NEW_CONNECTION_RATE")
    [[ $mode == udp ]] && target="udp://127.0.0.1:$PORT"
    "start_$impl" "$TRACKER_CPUS"
    bench_log "$name: $impl, $mode $*"
    run timeout 900 taskset -c "$LOAD_CPUS" "$LOADTEST" tracker \
        --target "$target" --torrents "$TORRENTS" --peers "$PEERS" \
        --connections "$CONNECTIONS" --duration "$DURATION" --preload --target-pid "$TPID" \
        "${mode_flag[@]}" --json "$@" >"$OUT/$name.json" || true
    stop_tracker
    jq -e .measured "$OUT/$name.json" >/dev/null || { bench_log "$name produced no report"; return 1; }
    jq --arg name "$name" --arg impl "$impl" --argjson quiet "$quiet" \
        '. + {name: $name, impl: $impl, quiet: ($quiet == 1)}' "$OUT/$name.json" >"$OUT/$name.tmp"
    mv "$OUT/$name.tmp" "$OUT/$name.json"
}

# aquatic_load NAME IMPL: aquatic's own generator (one worker on LOAD_CPUS, its request
# mix: half connects, half announces, a few scrapes) against a fresh tracker; appends
# responses/s and tracker CPU per response to aquatic-load.tsv. The generator runs
# DURATION + 4 s; the tracker's CPU is read over DURATION s from the second second, and
# the rate is the generator's average over its last DURATION + 2 s (its own report).
aquatic_load() {
    local name=$1 impl=$2 quiet=1 before after pid
    wait_quiet || quiet=0
    "start_$impl" "$TRACKER_CPUS"
    "$AQUATIC_LOAD" -p | sed -e "s/^server_address = .*/server_address = \"127.0.0.1:$PORT\"/" \
        -e "s/^duration = .*/duration = $((DURATION + 4))/" -e "s/^workers = .*/workers = 1/" \
        -e "s/^summarize_last = .*/summarize_last = $((DURATION + 2))/" \
        -e "s/^number_of_torrents = .*/number_of_torrents = $TORRENTS/" \
        -e "s/^number_of_peers = .*/number_of_peers = $PEERS/" >"$WORK/aquatic-load.toml"
    bench_log "$name: $impl, aquatic_udp_load_test"
    taskset -c "$LOAD_CPUS" timeout 300 "$AQUATIC_LOAD" -c "$WORK/aquatic-load.toml" \
        >"$OUT/$name.txt" 2>&1 &
    pid=$!
    CHILD=$pid
    # It builds its peers first (the tracker idles): wait for the first request.
    local i ticks0
    ticks0=$(bench_cpu_ticks "$TPID")
    for i in $(seq 600); do
        (($(bench_cpu_ticks "$TPID") > ticks0)) && break
        sleep 0.1
    done
    sleep 2
    before=$(bench_cpu_ticks "$TPID")
    sleep "$DURATION"
    after=$(bench_cpu_ticks "$TPID")
    wait "$pid" || true
    CHILD=""
    stop_tracker
    awk -v name="$name" -v impl="$impl" -v ticks=$((after - before)) -v secs="$DURATION" -v quiet="$quiet" '
        /^Average responses per second:/ { total = $5 }
        /- Announce responses:/ { ann = $4 }
        /- Error responses:/ { err = $4 }
        END {
            if (total == "") exit 1
            # Ticks are 10 ms.
            printf "%s\t%s\t%.0f\t%.0f\t%.0f\t%.2f\t%s\n", name, impl, total, ann, err,
                ticks * 10000 / (total * secs), quiet
        }' "$OUT/$name.txt" >>"$OUT/aquatic-load.tsv" || bench_log "$name produced no report"
}

# preload IMPL: starts a tracker and announces the whole population once.
preload() {
    local impl=$1
    wait_quiet || true
    "start_$impl" "$TRACKER_CPUS"
    bench_log "$impl: preloading"
    run timeout 900 taskset -c "$LOAD_CPUS" "$LOADTEST" tracker --target "http://127.0.0.1:$PORT/announce" \
        --torrents "$TORRENTS" --peers "$PEERS" --connections "$CONNECTIONS" --preload --requests 1 \
        --json >/dev/null || true
}

# again NAME IMPL [loadtest flags...]: one measured run against the tracker already
# preloaded (its peers announce again; the population is the same).
again() {
    local name=$1 impl=$2 quiet=1
    shift 2
    wait_quiet || quiet=0
    bench_log "$name: $impl $*"
    run timeout 300 taskset -c "$LOAD_CPUS" "$LOADTEST" tracker --target "http://127.0.0.1:$PORT/announce" \
        --torrents "$TORRENTS" --peers "$PEERS" --duration "$DURATION" --target-pid "$TPID" \
        --json "$@" >"$OUT/$name.json" || true
    jq --arg name "$name" --arg impl "$impl" --argjson quiet "$quiet" \
        '. + {name: $name, impl: $impl, quiet: ($quiet == 1)}' "$OUT/$name.json" >"$OUT/tmp.json"
    mv "$OUT/tmp.json" "$OUT/$name.json"
}

# Adds to run NAME's report what the machine took from a busy thread on the tracker's
# core over the next DURATION seconds (`loadtest hiccups`), while another keeps the
# load's core busy as the generator did: this guest loses far more time when both of its
# vCPUs run. That is the host's share of the run's tail latency. The tracker is stopped
# meanwhile (SIGSTOP), so its own sweep is not counted as the host's.
hiccups_after() {
    local name=$1 other limit=$((${DURATION%.*} + 60))
    kill -STOP "$TPID" 2>/dev/null || true
    timeout "$limit" taskset -c "$LOAD_CPUS" "$LOADTEST" hiccups --duration "$DURATION" >/dev/null &
    other=$!
    run timeout "$limit" taskset -c "$TRACKER_CPUS" "$LOADTEST" hiccups --duration "$DURATION" --json \
        >"$WORK/hiccups.json" || true
    wait "$other" || true
    kill -CONT "$TPID" 2>/dev/null || true
    if jq -e . "$WORK/hiccups.json" >/dev/null 2>&1; then
        jq --slurpfile h "$WORK/hiccups.json" '. + {hiccups: $h[0]}' "$OUT/$name.json" >"$WORK/run.json"
        mv "$WORK/run.json" "$OUT/$name.json"
    fi
    rm -f "$WORK/hiccups.json"
}

# rate_run NAME IMPL ARRIVALS: one fixed-rate run on the running tracker, then the
# host's hiccups over as long.
rate_run() {
    again "$1" "$2" --connections "$CONNECTIONS" --rate "$RATE" --arrivals "$3"
    hiccups_after "$1"
}

main() {
    bench_need jq
    [[ -x $OPENTRACKER ]] || { bench_log "needs opentracker at $OPENTRACKER (apt-get install opentracker)"; exit 1; }
    mkdir -p "$OUT"
    rm -f "$OUT"/*.json "$OUT"/aquatic-load.tsv
    bench_dir WORK
    # opentracker drops to user nobody and chroots here; it must still read the list.
    chmod 755 "$WORK"

    bench_build -p seedline-tracker -p seedline-loadtest
    bench_build -p seedline-tracker --example floor --example bare_floor
    "$LOADTEST" tracker --torrents "$TORRENTS" --peers "$PEERS" --print-info-hashes >"$WORK/whitelist.txt"

    {
        bench_env_header
        echo "opentracker: $(dpkg-query -W -f='${Version}' opentracker 2>/dev/null || echo unknown)"
        echo "workload: $TORRENTS torrents, $PEERS peers, zipf 1.0, $CONNECTIONS connections, ${DURATION}s, tracker on cpu $TRACKER_CPUS, load on cpu $LOAD_CPUS"
    } >"$OUT/env.txt"

    local r mode impl impls
    if [[ ,$MODES, == *,udp,* || ,$MODES, == *,aquatic-load,* ]]; then
        if [[ -x $AQUATIC_UDP ]]; then
            echo "aquatic_udp: $("$AQUATIC_UDP" -V 2>&1 | head -n1)" >>"$OUT/env.txt"
        else
            bench_log "aquatic_udp not installed: UDP runs compare with opentracker only"
        fi
    fi
    for r in $(seq "$ROUNDS"); do
        for mode in ${MODES//,/ }; do
            impls="seedline opentracker"
            [[ $mode == udp && -x $AQUATIC_UDP ]] && impls="$impls aquatic"
            [[ $mode == udp ]] || impls="$impls floor bare_floor"
            if [[ $mode == aquatic-load ]]; then
                [[ -x $AQUATIC_UDP && -x $AQUATIC_LOAD ]] || { bench_log "aquatic-load needs aquatic_udp and aquatic_udp_load_test"; exit 1; }
                for impl in seedline aquatic; do
                    aquatic_load "$impl-aquatic-load-r$r" "$impl"
                done
                continue
            fi
            for impl in $impls; do
                measure "$impl-$mode-r$r" "$impl" "$mode"
            done
        done
    done
    # Latency at a fixed open-loop rate: several short runs on one preloaded tracker, as a
    # single run's p99 is at the mercy of the hypervisor on a shared VM; then as many on
    # each floor (nothing to preload), whose p99 is what the VM allows a server that
    # does no work at all.
    if ((RATE_RUNS > 0)); then
        preload seedline
        for arr in ${ARRIVALS//,/ }; do
            for r in $(seq "$RATE_RUNS"); do
                rate_run "seedline-rate$RATE-$arr-$r" seedline "$arr"
            done
        done
        stop_tracker
        # A floor per run: each stops itself after 10 minutes, and the quiet waits
        # before the runs could add up to more.
        for impl in floor bare_floor; do
            for arr in ${ARRIVALS//,/ }; do
                for r in $(seq "$RATE_RUNS"); do
                    "start_$impl" "$TRACKER_CPUS"
                    rate_run "$impl-rate$RATE-$arr-$r" "$impl" "$arr"
                    stop_tracker
                done
            done
        done
    fi
    if [[ $SWEEP == 1 ]]; then
        for impl in seedline opentracker; do
            preload "$impl"
            for c in 16 256 1024; do
                again "sweep-$impl-c$c" "$impl" --connections "$c"
            done
            stop_tracker
        done
    fi
    summarize
}

summarize() {
    jq -r -s '
        ["name", "impl", "mode", "rate", "conns", "req_s", "p50_us", "p99_us", "cpu_us", "gen_cpu_us",
         "rss_empty_kib", "rss_preload_kib", "bytes_per_peer", "errors", "self_in_peers", "busy_pct", "steal_pct", "quiet",
         "p90_us", "p999_us", "host_lost_pct", "host_gaps_over_1ms"],
        (.[] | [.name, .impl, .mode, (.target_rate // "closed"), .connections,
                (.measured.requests_per_sec | floor), (.measured.latency_us.p50 | floor),
                (.measured.latency_us.p99 | floor),
                (.tracker_process.cpu_us_per_request * 100 | round / 100),
                (if .measured.generator_cpu_us_per_request then (.measured.generator_cpu_us_per_request * 100 | round / 100) else "-" end),
                .tracker_process.rss_kib_before, (.tracker_process.rss_kib_after_preload // "-"),
                ((.tracker_process.bytes_per_peer // 0) * 10 | round / 10),
                (.measured.errors_total + (.preload.errors_total // 0)), .measured.announcer_in_peers,
                (.measured.host_busy_percent | round), (.measured.host_steal_percent | round), .quiet,
                (.measured.latency_us.p90 | floor), (.measured.latency_us.p999 | floor),
                (if .hiccups then (.hiccups.lost_percent * 100 | round / 100) else "-" end),
                (.hiccups.over_1ms // "-")])
        | @tsv' "$OUT"/*.json >"$OUT/runs.tsv" 2>/dev/null || true
    {
        echo "| run | req/s | p50 us | p99 us | tracker CPU us/req | generator CPU us/req | tracker RSS at start KiB | RSS after preload KiB | bytes/peer | errors | host busy % | steal % | quiet at start |"
        echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        awk -F'\t' 'NR > 1 { printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $6, $7, $8, $9, $10, $11, $12, $13, $14, $16, $17, $18 }' "$OUT/runs.tsv"
        echo
        echo "Tracker CPU per announce, Seedline's over each other server's in the same round (a round's runs are minutes apart, so the machine's drift weighs on both alike), and the median of the rounds:"
        echo
        echo "| mode | round | Seedline / opentracker | Seedline / floor | Seedline / bare floor |"
        echo "|---|---|---|---|---|"
        jq -r -s -f "$ROOT/loadtest/bench/round-ratios.jq" "$OUT"/*.json 2>/dev/null || true
        if awk -F'\t' 'NR > 1 && $21 != "-" { found = 1 } END { exit !found }' "$OUT/runs.tsv"; then
            echo
            echo "Fixed-rate runs, with what the machine took from a busy thread on the tracker's core over the next $DURATION s, both cores busy (\`loadtest hiccups\`, tracker idle):"
            echo
            echo "| run | p50 us | p90 us | p99 us | p99.9 us | tracker CPU us/req | host time lost % | host gaps over 1 ms |"
            echo "|---|---|---|---|---|---|---|---|"
            awk -F'\t' 'NR > 1 && $21 != "-" { printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $7, $19, $8, $20, $9, $21, $22 }' "$OUT/runs.tsv"
        fi
        if [[ -s $OUT/aquatic-load.tsv ]]; then
            echo
            echo "aquatic_udp_load_test (its request mix; tracker CPU per response):"
            echo
            echo "| run | tracker | responses/s | announce responses/s | error responses/s | tracker CPU us/response | quiet at start |"
            echo "|---|---|---|---|---|---|---|"
            awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7 }' "$OUT/aquatic-load.tsv"
        fi
    } >"$OUT/summary.md"
    cat "$OUT/env.txt" "$OUT/summary.md"
}

main "$@"
