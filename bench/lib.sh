# shellcheck shell=bash
# bench/lib.sh: shared parts of the berth-vs-Docker benchmarks, sourced by
# bench/run.sh (issue 2, daemonless berth), bench/daemon.sh (issue 3,
# `berth daemon`), bench/network.sh (issue 4, networking) and
# bench/registry.sh (issue 5, pull and push). Not runnable on its own.
#
# It holds the temp dir and its cleanup traps, a private dockerd (no bridge,
# no iptables/NAT, no ip_forward change), local registries, the busybox
# image, hyperfine helpers, the shared batch case and the machine facts of
# the report.
#
# The sourcing script defines:
#   engine_argv ENGINE  set ENGINE_ARGV to the CLI command line of ENGINE
#   teardown            (optional) stop what the script started itself; runs
#                       first in cleanup, before containers are removed
#   batch_network ENGINE  (optional) print the --network value of ENGINE's
#                       batch containers (start_batch); empty output: no
#                       --network option, the engine's default network.
#                       Without it every engine's batch uses `none`.
# and may read or set the globals below.

export LC_ALL=C # $EPOCHREALTIME and awk must agree on the decimal point

RUNS=30        # hyperfine timed runs per command (at least 20)
WARMUP=3       # hyperfine warmup runs per command
BATCH=20       # containers per concurrent batch
BATCH_REPS=5   # timed batches (after one untimed warmup batch)

WORK=""          # the temp dir holding everything this run creates
DOCKERD_PID=""
CGROUP_PARENTS=() # cgroup parents (names below each hierarchy) this run uses
# Host dirs dockerd/containerd make whatever their roots; those this run
# creates (absent before dockerd starts) are removed again, deepest first.
HOST_DIRS=(/run/docker/plugins /run/docker /run/containerd/s /run/containerd)
CREATED_DIRS=()
REGISTRY_PIDS=() # every docker-registry start_registry started; cleanup stops them
REG_PORT="" REG_DIR="" REG_PID="" # the registry start_registry started last
ENGINES=()     # engines that are set up; cleanup removes their containers
ENGINE_ARGV=() # set by engine_argv
BATCH_PIDS=()  # CLI processes of the batch in flight
LOAD_AT_START=""
CHAINS_AT_START="" # iptables chains (filter and nat) before the run

log() { echo "== $*" >&2; }
warn() { echo "warning: $*" >&2; }
die() {
    echo "error: $*" >&2
    exit 1
}

# check_number OPTION VALUE MIN: die unless VALUE is an integer >= MIN.
check_number() {
    if ! [[ ${2:-} =~ ^[0-9]+$ ]] || (($2 < $3)); then die "$1 needs a number >= $3"; fi
}

# check_tools CMD...: root, Debian's `time` and hyperfine (installed when
# missing), and every CMD on the PATH.
check_tools() {
    ((EUID == 0)) || die "must run as root (dockerd and containers need it)"
    local missing=() cmd
    [[ -x /usr/bin/time ]] || missing+=(time)
    command -v hyperfine >/dev/null || missing+=(hyperfine)
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    for cmd in "$@"; do
        command -v "$cmd" >/dev/null || die "$cmd not found (apt-get install -y docker.io python3)"
    done
}

# Make the temp dir and arm the traps that take everything down again.
setup_workdir() {
    LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
    CHAINS_AT_START=$(iptables_chains)
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench.XXXXXX")
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    # unix socket paths (containerd's is the longest) must fit in 108 bytes
    ((${#WORK} < 50)) || die "temp dir path $WORK is too long for unix sockets; set TMPDIR=/tmp"
    mkdir -p "$WORK/results"
}

# new_cgroup_parent VAR [SUFFIX]: set VAR to a cgroup parent name (below
# each hierarchy's root) unique to this run; cleanup removes it.
new_cgroup_parent() {
    local name=berth-bench-${WORK##*.}${2:+-$2}
    CGROUP_PARENTS+=("$name")
    printf -v "$1" '%s' "$name"
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

# pids_in_work PATTERN: the pids of processes naming our temp dir on their
# command line (the managed containerd, containerd shims, berth daemon and
# shims: all started by this run) whose command line also matches the glob
# PATTERN ("*" for all).
pids_in_work() {
    local pattern=$1 p cmd
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [[ $p == "$$" ]] && continue
        cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") || continue
        [[ $cmd == *"$WORK/"* ]] || continue
        # shellcheck disable=SC2053 # PATTERN is a glob on purpose
        [[ $cmd == *$pattern* ]] && echo "$p"
    done
    return 0
}

stop_stragglers() {
    local p
    for p in $(pids_in_work "*"); do
        pid_alive "$p" || continue
        warn "stopping leftover process $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-120)"
        stop_pid "$p" 10
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

# Remove our cgroup parents in every hierarchy, and the host dirs dockerd
# created; rmdir only ever removes empty dirs.
remove_host_traces() {
    local d name
    for name in "${CGROUP_PARENTS[@]}"; do
        for d in /sys/fs/cgroup/*/"$name"; do
            [[ -d $d ]] || continue
            find "$d" -depth -type d -exec rmdir {} + || warn "cgroup $d is not empty"
        done
    done
    for d in "${CREATED_DIRS[@]}"; do
        [[ ! -d $d ]] || rmdir "$d" || warn "$d is not empty; left in place"
    done
}

# The user chains of the filter and nat tables, one "table chain" a line.
iptables_chains() {
    local t
    command -v iptables >/dev/null || return 0
    for t in filter nat; do
        iptables -t "$t" -S 2>/dev/null | awk -v t="$t" '$1 == "-N" { print t, $2 }'
    done
}

# Nothing of Docker's networking may be left: remove any DOCKER* chain that
# was not there before the run (rules jumping to it first), and warn about
# docker0 or an address in 172.17.0.0/16.
check_network() {
    local t c rule
    while read -r t c; do
        [[ $c == DOCKER* ]] || continue
        grep -qxF "$t $c" <<<"$CHAINS_AT_START" && continue
        warn "removing iptables chain $c (table $t) that appeared during the run"
        iptables -t "$t" -S | awk -v c="$c" '$1 == "-A" && / -j / && $NF == c' | while read -r rule; do
            # shellcheck disable=SC2086 # the rule is a word list
            iptables -t "$t" -D ${rule#-A }
        done
        iptables -t "$t" -F "$c"
        iptables -t "$t" -X "$c"
    done < <(iptables_chains)
    ! ip link show docker0 >/dev/null 2>&1 || warn "docker0 exists (not made by this run's dockerd: --bridge=none)"
    ! ip -4 addr | grep -q ' 172\.17\.' || warn "an address in 172.17.0.0/16 is configured"
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

# Runs on every exit path: the script's own teardown, containers, daemons,
# mounts, cgroups, then the temp dir, and a check of the host's networking.
cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    [[ -n $WORK ]] || exit "$rc"
    local e
    # let an interrupted batch finish launching, so its containers get removed
    ((${#BATCH_PIDS[@]} == 0)) || wait "${BATCH_PIDS[@]}" 2>/dev/null
    if declare -F teardown >/dev/null; then teardown; fi
    stop_registries
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
    check_network
    verify_clean
    exit "$rc"
}

# Say whether anything of this run is left: processes, cgroups, the temp dir.
verify_clean() {
    local left=() name d
    [[ -z $(pids_in_work "*") ]] || left+=("processes naming $WORK")
    for name in "${CGROUP_PARENTS[@]}"; do
        for d in /sys/fs/cgroup/*/"$name"; do
            [[ ! -d $d ]] || left+=("$d")
        done
    done
    [[ ! -e $WORK ]] || left+=("$WORK")
    if ((${#left[@]})); then
        warn "left behind: ${left[*]}"
    else
        log "clean: no process, mount, cgroup or file of this run is left"
    fi
}

# ----------------------------------------------------------------- engines --

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

# The busybox rootfs tarball both engines import, built once per run.
busybox_tarball() {
    local tarball=$WORK/busybox.tar.gz
    [[ -s $tarball ]] || "$REPO/scripts/make-busybox-rootfs.sh" "$tarball" >&2
    echo "$tarball"
}

# Private dockerd: no docker0 bridge, no iptables/NAT rules, no ip_forward
# sysctl, no host daemon.json or /etc/docker/key.json, its own containerd
# namespace and cgroup parent. Exports DOCKER_HOST and DOCKER_CONFIG.
start_dockerd() {
    local d=$WORK/docker i parent
    mkdir -p "$d/config"
    # the trust key path can only be set in daemon.json
    printf '{"deprecated-key-path": "%s"}\n' "$d/key.json" >"$d/daemon.json"
    new_cgroup_parent parent
    for i in "${HOST_DIRS[@]}"; do
        [[ -e $i ]] || CREATED_DIRS+=("$i")
    done
    export DOCKER_HOST=unix://$d/docker.sock DOCKER_CONFIG=$d/config
    unset DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH
    log "starting dockerd in $d"
    setsid dockerd --data-root "$d/data" --exec-root "$d/exec" -H "$DOCKER_HOST" --pidfile "$d/docker.pid" \
        --config-file "$d/daemon.json" --bridge=none --iptables=false --ip-masq=false --ip-forward=false \
        --containerd-namespace berth-bench --containerd-plugins-namespace berth-bench-plugins \
        --cgroup-parent "/$parent" \
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

# -------------------------------------------------------------- registries --

# A TCP port of 127.0.0.1 nothing listens on.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_registry NAME: an empty docker-registry (Debian's, 2.x) on a free
# port of 127.0.0.1, plain HTTP, its config, log and storage in $WORK/NAME;
# sets REG_PORT, REG_DIR and REG_PID. Needs curl and python3.
start_registry() {
    local i try out=""
    REG_DIR=$WORK/$1
    for ((try = 0; try < 3; try++)); do # the port may be taken in between
        rm -rf "$REG_DIR"
        mkdir -p "$REG_DIR/data"
        REG_PORT=$(free_port)
        cat >"$REG_DIR/config.yml" <<EOF
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $REG_DIR/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$REG_PORT}
EOF
        setsid docker-registry serve "$REG_DIR/config.yml" >"$REG_DIR/log" 2>&1 &
        REG_PID=$!
        REGISTRY_PIDS+=("$REG_PID")
        for ((i = 0; i < 100; i++)); do # up to 10 s
            [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$REG_PORT/v2/") == 200 ]] && return 0
            pid_alive "$REG_PID" || break
            sleep 0.1
        done
        out=$(tail -n 20 "$REG_DIR/log")
        stop_registry
    done
    echo "$out" >&2
    die "docker-registry did not answer on 127.0.0.1:$REG_PORT"
}

# Stop the registry start_registry started last, and delete its storage.
stop_registry() {
    local p rest=()
    stop_pid "$REG_PID" 10
    wait "$REG_PID" 2>/dev/null || true
    for p in "${REGISTRY_PIDS[@]}"; do
        [[ $p == "$REG_PID" ]] || rest+=("$p")
    done
    REGISTRY_PIDS=("${rest[@]}")
    rm -rf "$REG_DIR"
}

# Stop every registry still running (cleanup).
stop_registries() {
    local p
    for p in "${REGISTRY_PIDS[@]}"; do
        stop_pid "$p" 10
        wait "$p" 2>/dev/null || true
    done
    REGISTRY_PIDS=()
}

# The pid of the containerd that our dockerd manages.
containerd_pid() { cat "$WORK/docker/exec/containerd/containerd.pid" 2>/dev/null || true; }

# smoke_test ENGINE [HINT]: check that ENGINE really runs a container before
# timing it; HINT is appended to the error.
smoke_test() {
    local e=$1 hint=${2:-} out
    out=$(eng "$e" run --rm --network none busybox sh -c 'echo ok') || die "$e: smoke test run failed$hint"
    [[ $out == ok ]] || die "$e: smoke test printed '$out', expected 'ok'$hint"
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

# elapsed START END: seconds between two $EPOCHREALTIME stamps.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f\n", b - a }'; }

# start_batch ENGINE DIR N: launch N `run -d --network NET busybox sleep
# 1000` at once in the background (ids in DIR/<i>.id), NET as batch_network
# says (default none); wait_batch waits and fails if any failed.
start_batch() {
    local e=$1 dir=$2 n=$3 i net=none
    local -a netopt=()
    if declare -F batch_network >/dev/null; then net=$(batch_network "$e"); fi
    [[ -z $net ]] || netopt=(--network "$net")
    engine_argv "$e"
    rm -rf "$dir"
    mkdir -p "$dir"
    BATCH_PIDS=()
    for ((i = 0; i < n; i++)); do
        "${ENGINE_ARGV[@]}" run -d "${netopt[@]}" busybox sleep 1000 >"$dir/$i.id" 2>"$dir/$i.err" &
        BATCH_PIDS+=("$!")
    done
}
wait_batch() {
    local dir=$1 pid failed=0
    for pid in "${BATCH_PIDS[@]}"; do
        wait "$pid" || failed=1
    done
    BATCH_PIDS=()
    ((!failed)) || cat "$dir"/*.err >&2
    ((!failed))
}

# BATCH detached containers launched at once (& and wait, wall time of the
# whole batch), checked running, then removed with a single `rm -f`; one
# untimed warmup batch, then BATCH_REPS timed ones.
case_batch() {
    local e=$1 dir=$WORK/batch rep t0 t1 t2 t3 running failed
    local run_f=$WORK/results/batch_run.$e.times rm_f=$WORK/results/batch_rm.$e.times
    local -a ids
    : >"$run_f.part"
    : >"$rm_f.part"
    for ((rep = 0; rep <= BATCH_REPS; rep++)); do # rep 0 is an untimed warmup
        t0=$EPOCHREALTIME
        start_batch "$e" "$dir" "$BATCH"
        failed=0
        wait_batch "$dir" || failed=1
        t1=$EPOCHREALTIME
        mapfile -t ids < <(cat "$dir"/*.id)
        running=$(eng "$e" ps -q | wc -l)
        if ((failed || ${#ids[@]} != BATCH || running != BATCH)); then
            warn "$e: batch $rep: ${#ids[@]} ids, $running running"
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

# Run one case for every engine in ENGINES order (berth first); a failure is
# reported and the case is shown as "failed", the other cases still run.
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

# Resident memory of a process in KiB (VmRSS), empty if it is gone.
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null || true; }

# Resident memory of a process, in MiB.
rss_of() {
    local k
    k=$(rss_kib "$1")
    if [[ -n $k ]]; then awk -v k="$k" 'BEGIN { printf "%.0f MiB", k / 1024 }'; else echo "?"; fi
}

# Facts about the machine and Docker, as markdown bullets.
machine_facts() {
    local cg
    cg=$(stat -fc %T /sys/fs/cgroup)
    if [[ $cg == cgroup2fs ]]; then cg="v2"; else cg="v1 ($cg at /sys/fs/cgroup)"; fi
    echo "- date: $(date -u +%FT%TZ)"
    echo "- kernel: $(uname -sr) $(uname -m); cgroups $cg"
    echo "- cpu: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "- memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "- load average (1/5/15 min) at start: $LOAD_AT_START, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- work dir filesystem: $(findmnt -no FSTYPE -T "$WORK")"
    echo "- docker: server $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')," \
        "client $(docker version --format '{{.Client.Version}}'), storage driver $(docker info --format '{{.Driver}}')"
    echo "- containerd: $(containerd --version 2>/dev/null | awk '{ print $3 }'); runc: $(runc --version 2>/dev/null | awk 'NR == 1 { print $3 }')"
}

# Facts about the berth binary and the repo.
berth_facts() {
    echo "- berth: $BERTH, sha256 $(sha256sum "$BERTH" | cut -c1-12), $("$BERTH" --version 2>/dev/null | head -n 1 || true)"
    echo "- repo: $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo 'no commit')"
}
