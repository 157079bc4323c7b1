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

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"

BERTH=${BERTH:-$REPO/target/release/berth}
RSS_RUNS=10    # /usr/bin/time samples for the peak RSS of case a
PS_CONTAINERS=20
DOCKER_ONLY=0
OUT=""
BERTH_CGROUP="" # berth's cgroup parent, unique to this run

usage() {
    cat <<EOF
usage: $0 [--docker-only] [--runs N] [--out FILE]
  --docker-only  benchmark Docker alone (berth column shows n/a)
  --runs N       hyperfine runs per command, N >= 20 (default $RUNS)
  --out FILE     results file (default bench/results/issue2-<date>[-docker-only].md)
env: BERTH=path of the berth binary (default target/release/berth)
EOF
}

parse_args() {
    while (($#)); do
        case $1 in
            --docker-only) DOCKER_ONLY=1 ;;
            --runs)
                check_number "$1" "${2:-}" 20
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

check_prereqs() {
    check_tools dockerd docker python3 setsid
    if ((!DOCKER_ONLY)) && [[ ! -x $BERTH ]]; then
        die "berth binary not found at $BERTH: build it (cargo build --release -p berth-cli),
       point BERTH at it, or run '$0 --docker-only' to benchmark Docker alone"
    fi
}

# ----------------------------------------------------------------- engines --

# Set ENGINE_ARGV to the command line that runs the CLI of engine $1.
engine_argv() {
    case $1 in
        berth)
            ENGINE_ARGV=("$BERTH" --data-root "$WORK/berth/data" --exec-root "$WORK/berth/exec"
                --cgroup-parent "/$BERTH_CGROUP")
            ;;
        docker) ENGINE_ARGV=("$(command -v docker)") ;;
        *) die "unknown engine $1" ;;
    esac
}

setup_engines() {
    local tarball hint=" (use --docker-only to benchmark Docker alone)"
    tarball=$(busybox_tarball)

    start_dockerd
    docker import "$tarball" busybox:latest >/dev/null
    ENGINES+=(docker)
    smoke_test docker

    if ((DOCKER_ONLY)); then
        log "docker only: skipping berth"
        return
    fi
    mkdir -p "$WORK/berth/data" "$WORK/berth/exec"
    new_cgroup_parent BERTH_CGROUP berth
    eng berth import "$tarball" busybox:latest >/dev/null || die "berth import failed$hint"
    ENGINES=(berth docker)
    smoke_test berth "$hint"
}

# ------------------------------------------------------------------- cases --

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

# d. 20 detached containers at once, then `rm -f` of them: case_batch in lib.sh.

# ----------------------------------------------------------------- report --

write_report() {
    local table facts how="bench/run.sh"
    ((DOCKER_ONLY)) && how+=" --docker-only"
    table=$(python3 "$REPO/bench/summarize.py" --set issue2 "$WORK/results" "${ENGINES[@]}")
    facts=$(
        machine_facts
        echo "- daemon RSS at the end: dockerd $(rss_of "$DOCKERD_PID"), containerd $(rss_of "$(containerd_pid)")"
        ((DOCKER_ONLY)) || berth_facts
        echo "- $(hyperfine --version); $RUNS runs + $WARMUP warmup per command; RSS median of $RSS_RUNS;" \
            "batches: $BATCH_REPS timed + 1 warmup"
    )
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
    check_prereqs
    setup_workdir

    setup_engines
    run_case case_run_rm
    run_case case_create
    run_case case_ps
    run_case case_batch
    write_report
}

main "$@"
