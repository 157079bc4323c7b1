#!/usr/bin/env bash
# bench/run.sh [--docker-only] [--runs N] [--out FILE]
#
# Side-by-side benchmark of berth and Docker in one run, on the same machine,
# the same busybox image and interleaved case by case (berth, then docker).
# Everything lives in one temp dir: a private dockerd (own data/exec root and
# socket, no bridge, no iptables/NAT, no ip_forward change) and berth's own
# --data-root/--exec-root. All containers, daemons, mounts and temp dirs are
# removed on every exit path. See bench/README.md for what each case measures.
set -euo pipefail
export LC_ALL=C # $EPOCHREALTIME and awk must agree on the decimal point

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BERTH=${BERTH:-$REPO/target/release/berth}
RUNS=30        # hyperfine timed runs per command (at least 20)
WARMUP=3       # hyperfine warmup runs per command
RSS_RUNS=10    # /usr/bin/time samples for the peak RSS of case a
BATCH=20       # containers per batch in case d
BATCH_REPS=5   # timed batches in case d (after one untimed warmup batch)
PS_CONTAINERS=20
DOCKER_ONLY=0
OUT=""

WORK=""        # the temp dir holding everything this run creates
DOCKERD_PID=""
CGROUP_PARENT="" # docker's cgroup parent, unique to this run
# Host dirs dockerd/containerd make whatever their roots; those this run
# creates (absent before dockerd starts) are removed again, deepest first.
HOST_DIRS=(/run/docker/plugins /run/docker /run/containerd/s /run/containerd)
CREATED_DIRS=()
ENGINES=()     # engines that are set up and benchmarked
ENGINE_ARGV=() # set by engine_argv
BATCH_PIDS=()  # CLI processes of the batch in flight (case d)
LOAD_AT_START=""

usage() {
    cat <<EOF
usage: $0 [--docker-only] [--runs N] [--out FILE]
  --docker-only  benchmark Docker alone (berth column shows n/a)
  --runs N       hyperfine runs per command, N >= 20 (default $RUNS)
  --out FILE     results file (default bench/results/issue2-<date>[-docker-only].md)
env: BERTH=path of the berth binary (default target/release/berth)
EOF
}

log() { echo "== $*" >&2; }
warn() { echo "warning: $*" >&2; }
die() {
    echo "error: $*" >&2
    exit 1
}

parse_args() {
    while (($#)); do
        case $1 in
            --docker-only) DOCKER_ONLY=1 ;;
            --runs)
                if ! [[ ${2:-} =~ ^[0-9]+$ ]] || (($2 < 20)); then die "--runs needs a number >= 20"; fi
                RUNS=$2
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
    if [[ -z $OUT ]]; then
        OUT=$REPO/bench/results/issue2-$(date +%F)
        ((DOCKER_ONLY)) && OUT+=-docker-only
        OUT+=.md
    fi
}

# Tools we need; Debian's `time` and hyperfine are installed when missing.
check_prereqs() {
    ((EUID == 0)) || die "must run as root (dockerd and containers need it)"
    local missing=()
    [[ -x /usr/bin/time ]] || missing+=(time)
    command -v hyperfine >/dev/null || missing+=(hyperfine)
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    local cmd
    for cmd in dockerd docker python3 setsid; do
        command -v "$cmd" >/dev/null || die "$cmd not found (apt-get install -y docker.io python3)"
    done
    if ((!DOCKER_ONLY)) && [[ ! -x $BERTH ]]; then
        die "berth binary not found at $BERTH: build it (cargo build --release -p berth-cli),
       point BERTH at it, or run '$0 --docker-only' to benchmark Docker alone"
    fi
}

# ---------------------------------------------------------------- cleanup --

# True while PID exists and is not a zombie.
pid_alive() {
    local stat
    # read, not $(<...): a failed redirection in $(<...) exits the script under set -e
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

# Send SIGTERM to PID, wait up to SECS for it to go, then SIGKILL it.
stop_pid() {
    local pid=$1 secs=$2 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < secs * 10; i++)); do
        pid_alive "$pid" || return 0
        sleep 0.1
    done
    warn "pid $pid did not stop in ${secs}s, killing it"
    kill -KILL "$pid" 2>/dev/null || true
}

# Any process still naming our temp dir on its command line (the managed
# containerd, containerd shims, berth helpers) was started by this run.
stop_stragglers() {
    local p cmd
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [[ $p == "$$" ]] && continue
        cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") || continue
        if [[ $cmd == *"$WORK/"* ]]; then
            warn "stopping leftover process $p: ${cmd:0:120}"
            stop_pid "$p" 10
        fi
    done
}

# Unmount everything below DIR, deepest first, lazily if busy.
unmount_under() {
    local dir=$1 pass m
    local -a mounts
    for ((pass = 0; pass < 5; pass++)); do
        mapfile -t mounts < <(awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
        ((${#mounts[@]})) || return 0
        for m in "${mounts[@]}"; do
            umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
        done
    done
    ! awk -v d="$dir/" 'index($5, d) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo
}

# Remove the cgroups of our cgroup parent in every hierarchy, and the host
# dirs dockerd created; rmdir only ever removes empty dirs.
remove_host_traces() {
    local d
    if [[ -n $CGROUP_PARENT ]]; then
        for d in /sys/fs/cgroup/*/"$CGROUP_PARENT"; do
            [[ -d $d ]] || continue
            find "$d" -depth -type d -exec rmdir {} + || warn "cgroup $d is not empty"
        done
    fi
    for d in "${CREATED_DIRS[@]}"; do
        [[ ! -d $d ]] || rmdir "$d" || warn "$d is not empty; left in place"
    done
}

stop_dockerd() {
    [[ -n $DOCKERD_PID ]] || return 0
    local pid=$DOCKERD_PID
    [[ -s $WORK/docker/docker.pid ]] && pid=$(<"$WORK/docker/docker.pid")
    log "stopping dockerd ($pid)"
    stop_pid "$pid" 30
    wait "$DOCKERD_PID" 2>/dev/null || true
    DOCKERD_PID=""
}

# Runs on every exit path: containers, daemons, mounts, then the temp dir.
cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    [[ -n $WORK ]] || exit "$rc"
    local e
    # let an interrupted batch finish launching, so its containers get removed
    ((${#BATCH_PIDS[@]} == 0)) || wait "${BATCH_PIDS[@]}" 2>/dev/null
    for e in "${ENGINES[@]}"; do
        remove_all "$e" || warn "could not remove the $e containers"
    done
    stop_dockerd
    stop_stragglers
    remove_host_traces
    if unmount_under "$WORK"; then
        rm -rf --one-file-system -- "$WORK"
    else
        warn "mounts remain under $WORK; not removing it"
    fi
    exit "$rc"
}

# ----------------------------------------------------------------- engines --

# Set ENGINE_ARGV to the command line that runs the CLI of engine $1.
engine_argv() {
    case $1 in
        berth) ENGINE_ARGV=("$BERTH" --data-root "$WORK/berth/data" --exec-root "$WORK/berth/exec") ;;
        docker) ENGINE_ARGV=("$(command -v docker)") ;;
        *) die "unknown engine $1" ;;
    esac
}

# eng ENGINE ARGS...: run one CLI command of ENGINE.
eng() {
    engine_argv "$1"
    shift
    "${ENGINE_ARGV[@]}" "$@"
}

# The same command as one quoted string, for hyperfine -N (no shell).
eng_cmdline() {
    local line
    engine_argv "$1"
    shift
    printf -v line '%q ' "${ENGINE_ARGV[@]}" "$@"
    echo "${line% }"
}

# Remove every container of ENGINE (each engine here is private to this run).
remove_all() {
    local e=$1 ids
    mapfile -t ids < <(eng "$e" ps -aq)
    ((${#ids[@]} == 0)) || eng "$e" rm -f "${ids[@]}" >/dev/null
}

# Private dockerd: no docker0 bridge, no iptables/NAT rules, no ip_forward
# sysctl, no host daemon.json or /etc/docker/key.json, its own containerd
# namespace and cgroup parent.
start_dockerd() {
    local d=$WORK/docker i
    mkdir -p "$d/config"
    # the trust key path can only be set in daemon.json
    printf '{"deprecated-key-path": "%s"}\n' "$d/key.json" >"$d/daemon.json"
    CGROUP_PARENT=berth-bench-${WORK##*.}
    for i in "${HOST_DIRS[@]}"; do
        [[ -e $i ]] || CREATED_DIRS+=("$i")
    done
    export DOCKER_HOST=unix://$d/docker.sock DOCKER_CONFIG=$d/config
    unset DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH
    log "starting dockerd in $d"
    setsid dockerd --data-root "$d/data" --exec-root "$d/exec" -H "$DOCKER_HOST" --pidfile "$d/docker.pid" \
        --config-file "$d/daemon.json" --bridge=none --iptables=false --ip-masq=false --ip-forward=false \
        --containerd-namespace berth-bench --containerd-plugins-namespace berth-bench-plugins \
        --cgroup-parent "/$CGROUP_PARENT" \
        >"$d/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    for ((i = 0; i < 600; i++)); do # up to 60 s
        docker version >/dev/null 2>&1 && return 0
        pid_alive "$DOCKERD_PID" || break
        sleep 0.1
    done
    tail -n 20 "$d/dockerd.log" >&2
    die "dockerd did not answer on $DOCKER_HOST"
}

# Check that ENGINE really runs a container before timing it.
smoke_test() {
    local e=$1 out
    local hint=""
    [[ $e == berth ]] && hint=" (use --docker-only to benchmark Docker alone)"
    out=$(eng "$e" run --rm --network none busybox sh -c 'echo ok') || die "$e: smoke test run failed$hint"
    [[ $out == ok ]] || die "$e: smoke test printed '$out', expected 'ok'$hint"
}

setup_engines() {
    local tarball=$WORK/busybox.tar.gz
    "$REPO/scripts/make-busybox-rootfs.sh" "$tarball"

    start_dockerd
    docker import "$tarball" busybox:latest >/dev/null
    ENGINES+=(docker)
    smoke_test docker

    if ((DOCKER_ONLY)); then
        log "docker only: skipping berth"
        return
    fi
    mkdir -p "$WORK/berth/data" "$WORK/berth/exec"
    eng berth import "$tarball" busybox:latest >/dev/null || die "berth import failed"
    ENGINES=(berth docker)
    smoke_test berth
}

# ------------------------------------------------------------------- cases --
# Each case function takes the engine and leaves no container behind. Inside
# `if`, set -e does not apply, so every step checks its status explicitly.

# hf NAME ENGINE ARGS...: time `ENGINE ARGS...` with hyperfine, no shell.
hf() {
    local name=$1 e=$2
    shift 2
    hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --export-json "$WORK/results/$name.$e.json" \
        --command-name "$e $*" "$(eng_cmdline "$e" "$@")"
}

# a. One short-lived container end to end (create, start, wait for exit,
#    remove), plus the peak RSS of the CLI process doing it.
case_run_rm() {
    local e=$1 i
    local f=$WORK/results/rss_run_rm.$e.kib
    hf run_rm "$e" run --rm --network none busybox true || return 1
    engine_argv "$e"
    : >"$f.part"
    for ((i = 0; i < RSS_RUNS; i++)); do
        if ! /usr/bin/time -f %M -o "$WORK/rss.tmp" "${ENGINE_ARGV[@]}" run --rm --network none busybox true \
            >/dev/null 2>"$WORK/rss.err"; then
            cat "$WORK/rss.err" >&2
            return 1
        fi
        tail -n 1 "$WORK/rss.tmp" >>"$f.part"
    done
    mv "$f.part" "$f" # only complete sample sets count
}

# b. Creating a container (image lookup, rootfs snapshot, config written),
#    without starting it. The created containers are removed untimed.
case_create() {
    local e=$1
    hf create "$e" create busybox true || return 1
    remove_all "$e"
}

# c. Listing containers while 20 stopped ones exist: `ps` (filters them out)
#    and `ps -a` (lists all 20).
case_ps() {
    local e=$1 i
    for ((i = 0; i < PS_CONTAINERS; i++)); do
        if ! eng "$e" create busybox true >/dev/null 2>"$WORK/create.err"; then
            cat "$WORK/create.err" >&2
            return 1
        fi
    done
    hf ps "$e" ps || return 1
    hf ps_a "$e" ps -a || return 1
    remove_all "$e"
}

# elapsed START END: seconds between two $EPOCHREALTIME stamps.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f\n", b - a }'; }

# d. 20 detached containers launched at once (& and wait, wall time of the
#    whole batch), checked running, then removed with a single `rm -f`.
case_batch() {
    local e=$1 dir=$WORK/batch rep i failed t0 t1 t2 t3 running
    local run_f=$WORK/results/batch_run.$e.times rm_f=$WORK/results/batch_rm.$e.times
    local -a ids
    engine_argv "$e"
    : >"$run_f.part"
    : >"$rm_f.part"
    for ((rep = 0; rep <= BATCH_REPS; rep++)); do # rep 0 is an untimed warmup
        rm -rf "$dir"
        mkdir -p "$dir"
        BATCH_PIDS=()
        failed=0
        t0=$EPOCHREALTIME
        for ((i = 0; i < BATCH; i++)); do
            "${ENGINE_ARGV[@]}" run -d --network none busybox sleep 1000 >"$dir/$i.id" 2>"$dir/$i.err" &
            BATCH_PIDS+=("$!")
        done
        for i in "${BATCH_PIDS[@]}"; do
            wait "$i" || failed=1
        done
        t1=$EPOCHREALTIME
        BATCH_PIDS=()
        mapfile -t ids < <(cat "$dir"/*.id)
        running=$(eng "$e" ps -q | wc -l)
        if ((failed || ${#ids[@]} != BATCH || running != BATCH)); then
            warn "$e: batch $rep: ${#ids[@]} ids, $running running"
            cat "$dir"/*.err >&2
            remove_all "$e"
            return 1
        fi
        t2=$EPOCHREALTIME
        eng "$e" rm -f "${ids[@]}" >/dev/null || return 1
        t3=$EPOCHREALTIME
        if ((rep > 0)); then
            elapsed "$t0" "$t1" >>"$run_f.part"
            elapsed "$t2" "$t3" >>"$rm_f.part"
        fi
    done
    mv "$run_f.part" "$run_f" # only complete sample sets count
    mv "$rm_f.part" "$rm_f"
    rm -rf "$dir"
}

# Run one case for every engine, berth first; a failure is reported and the
# case is shown as "failed" in the table, the other cases still run.
run_case() {
    local fn=$1 e
    for e in "${ENGINES[@]}"; do
        log "$fn: $e"
        if ! "$fn" "$e"; then
            warn "$fn failed for $e"
            remove_all "$e" || true
        fi
    done
}

# ----------------------------------------------------------------- report --

# Resident memory of a process, in MiB.
rss_of() { awk '/^VmRSS/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"; }

# Facts about the machine and the software under test, as markdown bullets.
machine_facts() {
    local cg containerd_pid
    cg=$(stat -fc %T /sys/fs/cgroup)
    if [[ $cg == cgroup2fs ]]; then cg="v2"; else cg="v1 ($cg at /sys/fs/cgroup)"; fi
    containerd_pid=$(cat "$WORK/docker/exec/containerd/containerd.pid" 2>/dev/null || true)
    echo "- date: $(date -u +%FT%TZ)"
    echo "- kernel: $(uname -sr) $(uname -m); cgroups $cg"
    echo "- cpu: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "- memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "- load average (1/5/15 min) at start: $LOAD_AT_START, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- work dir filesystem: $(findmnt -no FSTYPE -T "$WORK")"
    echo "- docker: server $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')," \
        "client $(docker version --format '{{.Client.Version}}'), storage driver $(docker info --format '{{.Driver}}')"
    echo "- containerd: $(containerd --version 2>/dev/null | awk '{ print $3 }'); runc: $(runc --version 2>/dev/null | awk 'NR == 1 { print $3 }')"
    echo "- daemon RSS at the end: dockerd $(rss_of "$DOCKERD_PID"), containerd ${containerd_pid:+$(rss_of "$containerd_pid")}"
    if ((!DOCKER_ONLY)); then
        echo "- berth: $BERTH, sha256 $(sha256sum "$BERTH" | cut -c1-12), $("$BERTH" --version 2>/dev/null | head -n 1 || true)"
    fi
    echo "- repo: $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo 'no commit')"
    echo "- $(hyperfine --version); $RUNS runs + $WARMUP warmup per command; RSS median of $RSS_RUNS;" \
        "batches: $BATCH_REPS timed + 1 warmup"
}

write_report() {
    local table facts how="bench/run.sh"
    ((DOCKER_ONLY)) && how+=" --docker-only"
    table=$(python3 "$REPO/bench/summarize.py" "$WORK/results" "${ENGINES[@]}")
    facts=$(machine_facts)
    mkdir -p "$(dirname "$OUT")"
    {
        echo "# Berth vs Docker, issue 2 benchmark ($(date +%F))"
        echo
        echo "Medians; ratio < 1 means berth is faster (or smaller). Produced by \`$how\`."
        echo
        echo "$table"
        echo
        echo "Docker's CLI RSS covers the client only; dockerd and containerd do the work (their RSS is below)."
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
    LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
    check_prereqs
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench.XXXXXX")
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    # unix socket paths (containerd's is the longest) must fit in 108 bytes
    ((${#WORK} < 50)) || die "temp dir path $WORK is too long for unix sockets; set TMPDIR=/tmp"
    mkdir -p "$WORK/results"

    setup_engines
    run_case case_run_rm
    run_case case_create
    run_case case_ps
    run_case case_batch
    write_report
}

main "$@"
