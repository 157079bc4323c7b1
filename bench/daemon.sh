#!/usr/bin/env bash
# bench/daemon.sh [--runs N] [--containers N] [--idle SECS] [--out FILE]
#
# Issue 3 benchmark: `berth daemon` (the Docker Engine API server) against a
# private dockerd, side by side in one run, on the same busybox image and
# interleaved case by case (berth, then docker). Both daemons are driven by
# the same stock docker CLI; one case drives berth's daemon with berth's own
# CLI in client mode (`berth -H`). Everything lives in one temp dir: dockerd
# without bridge, iptables/NAT or ip_forward change, berth with its own
# data/exec root, socket and cgroup parent. All containers, daemons, shims,
# mounts, cgroups and temp dirs are removed on every exit path. See
# bench/README.md for what each case measures.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"

BERTH=${BERTH:-$REPO/target/release/berth}
MANY=100        # containers present for the ps, memory and shim cases
GROUP=10        # of those, started this many at a time
IDLE=5          # seconds both daemons idle before their memory is read
MEM_SAMPLES=5   # memory readings per daemon, half a second apart
OUT=""
BERTH_CGROUP="" # berth's cgroup parent, unique to this run
CLI_CONFIG=""   # an empty docker CLI config dir

usage() {
    cat <<EOF
usage: $0 [--runs N] [--containers N] [--idle SECS] [--out FILE]
  --runs N         hyperfine runs per command, N >= 20 (default $RUNS)
  --containers N   running containers for the ps/memory/shim cases (default $MANY)
  --idle SECS      idle time before daemon memory is read (default $IDLE)
  --out FILE       results file (default bench/results/issue3-<date>.md)
env: BERTH=path of the berth binary (default target/release/berth)
EOF
}

parse_args() {
    while (($#)); do
        case $1 in
            --runs)
                check_number "$1" "${2:-}" 20
                RUNS=$2
                shift
                ;;
            --containers)
                check_number "$1" "${2:-}" 1
                MANY=$2
                shift
                ;;
            --idle)
                check_number "$1" "${2:-}" 0
                IDLE=$2
                shift
                ;;
            --out)
                [[ -n ${2:-} ]] || die "--out needs a file"
                OUT=$2
                shift
                ;;
            -h | --help)
                usage
                exit 0
                ;;
            *)
                usage >&2
                exit 2
                ;;
        esac
        shift
    done
    [[ $BERTH == /* ]] || BERTH=$PWD/$BERTH
    [[ -n $OUT ]] || OUT=$REPO/bench/results/issue3-$(date +%F).md
}

check_prereqs() {
    check_tools dockerd docker python3 setsid
    [[ -x $BERTH ]] || die "berth binary not found at $BERTH: build it (cargo build --release -p berth-cli)
       or point BERTH at it"
}

# ----------------------------------------------------------------- engines --
# berth: the docker CLI against berth's daemon; docker: the docker CLI
# against dockerd; berth-client: berth's own CLI against berth's daemon.

berth_sock() { echo "unix://$WORK/berth/berth.sock"; }

engine_argv() {
    case $1 in
        berth) ENGINE_ARGV=("$(command -v docker)" --config "$CLI_CONFIG" -H "$(berth_sock)") ;;
        docker) ENGINE_ARGV=("$(command -v docker)" --config "$CLI_CONFIG" -H "$DOCKER_HOST") ;;
        berth-client) ENGINE_ARGV=("$BERTH" -H "$(berth_sock)") ;;
        *) die "unknown engine $1" ;;
    esac
}

# berth's daemon CLI options (its data and exec root, cgroup parent).
berth_roots() {
    ENGINE_ARGV=("$BERTH" --data-root "$WORK/berth/data" --exec-root "$WORK/berth/exec"
        --cgroup-parent "/$BERTH_CGROUP")
}

berthd_pid() { cat "$WORK/berth/berth.pid" 2>/dev/null || true; }

start_berthd() {
    local d=$WORK/berth i pid
    mkdir -p "$d"
    berth_roots
    log "starting berth daemon in $d"
    setsid "${ENGINE_ARGV[@]}" daemon -H "$(berth_sock)" --pidfile "$d/berth.pid" >>"$d/daemon.log" 2>&1 &
    pid=$!
    for ((i = 0; i < 300; i++)); do # up to 30 s
        [[ -s $d/berth.pid ]] && eng berth version >/dev/null 2>&1 && return 0
        pid_alive "$pid" || break
        sleep 0.1
    done
    tail -n 20 "$d/daemon.log" >&2
    die "berth daemon did not answer on $(berth_sock)"
}

# SIGTERM, as a service manager would; its containers keep running.
stop_berthd() {
    local pid
    pid=$(berthd_pid)
    [[ -n $pid ]] || return 0
    log "stopping berth daemon ($pid)"
    stop_pid "$pid" 30
    [[ ! -e $WORK/berth/berth.pid ]] || rm -f "$WORK/berth/berth.pid"
}

# Cleanup hook (lib.sh): remove berth's containers through its daemon (or
# daemonless if the daemon is gone), stop it, and check no shim is left.
teardown() {
    local ids shims
    [[ -d $WORK/berth/data ]] || return 0
    if pid_alive "$(berthd_pid)" && eng berth version >/dev/null 2>&1; then
        remove_all berth || warn "could not remove berth's containers through its daemon"
    fi
    stop_berthd
    berth_roots
    mapfile -t ids < <("${ENGINE_ARGV[@]}" ps -aq 2>/dev/null)
    if ((${#ids[@]})); then
        warn "removing ${#ids[@]} berth containers daemonless"
        "${ENGINE_ARGV[@]}" rm -f "${ids[@]}" >/dev/null || warn "daemonless rm failed"
    fi
    ENGINES=(docker) # berth's containers are dealt with
    shims=$(pids_in_work " __shim ")
    [[ -z $shims ]] || warn "berth shims left after removing all containers: $shims"
}

setup_engines() {
    local tarball
    tarball=$(busybox_tarball)
    CLI_CONFIG=$WORK/cli-config
    mkdir -p "$CLI_CONFIG"

    start_dockerd
    eng docker import "$tarball" busybox:latest >/dev/null
    ENGINES+=(docker)
    smoke_test docker

    new_cgroup_parent BERTH_CGROUP berth
    start_berthd
    eng berth import "$tarball" busybox:latest >/dev/null || die "berth daemon: docker import failed"
    ENGINES=(berth docker)
    smoke_test berth
}

# ------------------------------------------------------------------- cases --

# 0. The floor under every CLI case: docker CLI start-up, `_ping`, one
#    `GET /version`.
case_version() { hf version "$1" version --format '{{.Server.APIVersion}}'; }

# 1. One short-lived container through the API: create, attach, wait, start,
#    remove (the docker CLI's `run --rm` sequence).
case_run_rm() { hf run_rm "$1" run --rm --network none busybox true; }

# 2. berth's own CLI as a client of its daemon, against the docker CLI and
#    dockerd. One trial run decides whether client mode works; if it does not
#    the case is n/a (with the reason) and docker's figure is case 1's.
case_client() {
    local out why f=$WORK/results
    log "case_client: berth-client"
    if out=$(eng berth-client run --rm --network none busybox sh -c 'echo ok' 2>&1) && [[ $out == ok ]]; then
        hf client_run_rm berth-client run --rm --network none busybox true || warn "case_client failed for berth"
        log "case_client: docker"
        hf client_run_rm docker run --rm --network none busybox true || warn "case_client failed for docker"
        return 0
    fi
    why=$(head -n 1 <<<"$out" | tr -d '|' | cut -c1-140)
    why=${why//$WORK/\$TMP}
    echo "client mode not working: ${why:-no output}" >"$f/client_run_rm.berth-client.na"
    warn "berth -H: ${why:-no output}; case 2 is n/a"
    [[ ! -e $f/run_rm.docker.json ]] || cp "$f/run_rm.docker.json" "$f/client_run_rm.docker.json"
}

# Start MANY `run -d --network none busybox sleep 1000` containers, GROUP at
# a time, and check they all run.
start_many() {
    local e=$1 g running
    for ((g = 0; g < MANY; g += GROUP)); do
        start_batch "$e" "$WORK/many/$e.$g" $((MANY - g < GROUP ? MANY - g : GROUP))
        wait_batch "$WORK/many/$e.$g" || return 1
    done
    running=$(eng "$e" ps -q | wc -l)
    ((running == MANY)) || {
        warn "$e: $running of $MANY containers running"
        return 1
    }
}

# 3. Listing MANY running containers: `ps` and `ps -a` list them all.
case_ps() {
    hf ps "$1" ps || return 1
    hf ps_a "$1" ps -a
}

# sample_kib FILE VALUE: append a memory reading, if there is one.
sample_kib() { [[ -z $2 ]] || echo "$2" >>"$WORK/results/$1"; }

# 4. Daemon RSS (VmRSS), MEM_SAMPLES readings after IDLE seconds: berth's
#    daemon vs dockerd + containerd (also listed apart). CASE names the
#    moment; ENGINES given as arguments are read.
daemon_rss() {
    local case=$1 i d c
    shift
    log "idling ${IDLE}s, then reading daemon memory ($case)"
    sleep "$IDLE"
    for ((i = 0; i < MEM_SAMPLES; i++)); do
        if [[ " $* " == *" berth "* ]]; then
            sample_kib "$case.berth.kib" "$(rss_kib "$(berthd_pid)")"
        fi
        if [[ " $* " == *" docker "* ]]; then
            d=$(rss_kib "$DOCKERD_PID")
            c=$(rss_kib "$(containerd_pid)")
            sample_kib "${case}_dockerd.docker.kib" "$d"
            sample_kib "${case}_containerd.docker.kib" "$c"
            [[ -z $d || -z $c ]] || sample_kib "$case.docker.kib" $((d + c))
        fi
        sleep 0.5
    done
}

# 5. Per-container helper memory: VmRSS, Pss and Private_Dirty (smaps_rollup)
#    of every berth `__shim` / containerd-shim-runc-v2 of this run.
case_shims() {
    local e=$1 pattern pid n=0 rss pss dirty
    case $e in
        berth) pattern=" __shim " ;;
        docker) pattern="containerd-shim-runc-v2 " ;;
    esac
    for pid in $(pids_in_work "$pattern"); do
        rss=$(rss_kib "$pid")
        read -r pss dirty < <(awk '/^Pss:/ { p = $2 } /^Private_Dirty:/ { d = $2 } END { print p, d }' \
            "/proc/$pid/smaps_rollup" 2>/dev/null) || continue
        [[ -n $rss && -n $dirty ]] || continue
        sample_kib "shim_rss.$e.kib" "$rss"
        sample_kib "shim_pss.$e.kib" "$pss"
        sample_kib "shim_private_dirty.$e.kib" "$dirty"
        n=$((n + 1))
    done
    log "$e: $n helper processes for $MANY containers"
    ((n > 0))
}

# 4 (adoption). Restart berth's daemon with MANY containers running: it must
# adopt them all; then its idle RSS.
case_adopt() {
    local running
    stop_berthd
    start_berthd
    running=$(eng berth ps -q | wc -l)
    ((running == MANY)) || {
        warn "berth daemon adopted $running of $MANY running containers"
        return 1
    }
    daemon_rss daemon_rss_adopted berth
}

# ----------------------------------------------------------------- report --

write_report() {
    local table facts
    table=$(python3 "$REPO/bench/summarize.py" --set issue3 --many "$MANY" "$WORK/results" berth docker berth-client)
    facts=$(
        machine_facts
        berth_facts
        echo "- berth daemon log: $(wc -l <"$WORK/berth/daemon.log") lines"
        echo "- $(hyperfine --version); $RUNS runs + $WARMUP warmup per command; $MANY containers for cases" \
            "3-5, started $GROUP at a time; daemon memory: median of $MEM_SAMPLES readings after ${IDLE}s idle;" \
            "batches: $BATCH_REPS timed + 1 warmup"
    )
    mkdir -p "$(dirname "$OUT")"
    {
        echo "# Berth vs Docker, issue 3 benchmark: \`berth daemon\` ($(date +%F))"
        echo
        echo "Medians; ratio < 1 means berth is faster (or smaller). Produced by \`bench/daemon.sh\`."
        echo "berth = the stock docker CLI against \`berth daemon\`, docker = the same CLI against dockerd,"
        echo "except case 2 (berth's own CLI, \`berth -H unix://…\`). Memory in MiB (VmRSS; shims: also PSS and"
        echo "Private_Dirty from /proc/PID/smaps_rollup; the median over all helper processes)."
        echo
        echo "$table"
        echo
        echo "## Machine"
        echo
        echo "$facts"
    } >"$OUT"
    echo
    cat "$OUT"
    echo
    log "wrote $OUT"
}

main() {
    parse_args "$@"
    check_prereqs
    setup_workdir
    setup_engines

    daemon_rss daemon_rss_fresh berth docker
    run_case case_version
    run_case case_run_rm
    case_client
    run_case case_batch
    run_case start_many
    run_case case_ps
    daemon_rss daemon_rss berth docker
    run_case case_shims
    log "case_adopt: berth"
    case_adopt || warn "case_adopt failed"
    write_report
}

main "$@"
