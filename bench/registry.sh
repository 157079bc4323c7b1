#!/usr/bin/env bash
# bench/registry.sh [--runs N] [--strace] [--python DIR] [--out FILE]
#
# Issue 5 benchmark: pull and push of a 3-layer image (busybox, a Python
# standard library of ~255 MB / ~7,700 files, one small RUN layer) against a
# local registry, berth (daemonless) side by side with a private dockerd in
# one run. Every timed run starts cold: the image and all its layers removed
# from the engine, `sync`, page cache dropped. Pulls come from one registry;
# every push goes to a fresh, empty registry. The engines alternate which
# goes first. Every berth pull is checked against the built image (file
# tree, metadata and contents), and the image berth pushes must be pulled
# and run by Docker. Traffic only goes to 127.0.0.1. Registries, dockerd,
# containers, mounts, cgroups and the temp dir are removed on every exit
# path. See bench/README.md.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"

BERTH=${BERTH:-$REPO/target/release/berth}
RUNS=5             # timed pulls and pushes per engine
PY_SRC=/root/.pyenv/versions/3.11.7/lib/python3.11 # the tree of the big layer (site-packages emptied)
PY_DIR=""          # where it lands in the image: /usr/lib/<its name>
STRACE=0           # 1 with --strace: one extra pull per engine under strace -c
OUT=""
ARGS="$*"
BERTH_CGROUP=""    # berth's cgroup parent, unique to this run
COLD=1             # 0 if the page cache cannot be dropped
SRC_DIR=""         # the storage dir of the registry the pulls come from
SRC_IMG=""         # the image there
REFERENCE=""       # fingerprint of the image as built
CHECKS=()          # lines of the report's check list
LEFTOVER_MIB=50    # a data root above this after rmi + prune still holds layers

usage() {
    cat <<EOF
usage: $0 [--runs N] [--strace] [--python DIR] [--out FILE]
  --runs N          timed pulls and pushes per engine (default $RUNS)
  --strace          one more pull per engine under strace -c -f (berth CLI; dockerd attached)
  --python DIR      tree of the big layer (default $PY_SRC; its site-packages are left out)
  --out FILE        results file (default bench/results/issue5-<date>.md)
env: BERTH=path of the berth binary (default target/release/berth)
EOF
}

parse_args() {
    while (($#)); do
        case $1 in
            --runs)
                check_number "$1" "${2:-}" 1
                RUNS=$2
                shift
                ;;
            --strace) STRACE=1 ;;
            --python)
                [[ -d ${2:-} ]] || die "--python needs a directory"
                PY_SRC=$(cd "$2" && pwd)
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
        OUT=$REPO/bench/results/issue5-$(date +%F).md
    fi
    [[ -d $PY_SRC ]] || die "$PY_SRC not found: name the tree of the big layer with --python DIR"
    PY_DIR=/usr/lib/${PY_SRC##*/}
}

check_prereqs() {
    local tools=(dockerd docker docker-registry python3 setsid curl)
    if ((STRACE)); then tools+=(strace); fi
    check_tools "${tools[@]}"
    [[ -x $BERTH ]] || die "berth binary not found at $BERTH: build it (cargo build --release -p berth-cli)
       or point BERTH at it"
}

# ----------------------------------------------------------------- engines --

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

data_root() { if [[ $1 == berth ]]; then echo "$WORK/berth/data"; else echo "$WORK/docker/data"; fi; }

dockerd_pid() { cat "$WORK/docker/docker.pid"; }

# -------------------------------------------------------------- registries --

# image_layers count DIR | sizes DIR SRC: the layers of bench/py:latest in
# the registry whose dir (start_registry's REG_DIR) is DIR, read from its
# storage: a markdown table of every layer's blob size, tar size, entries and
# regular files (count; gzip layers), or one line of blob sizes, each marked
# if the registry SRC holds the same blob (sizes).
image_layers() {
    python3 - "$@" <<'EOF'
import gzip, json, sys, tarfile
from pathlib import Path

def store(d):
    return Path(d) / "data/docker/registry/v2"

def blob(root, digest):
    algo, hexd = digest.split(":")
    return root / "blobs" / algo / hexd[:2] / hexd / "data"

def manifest(d):
    root = store(d)
    link = root / "repositories/bench/py/_manifests/tags/latest/current/link"
    return root, json.loads(blob(root, link.read_text().strip()).read_bytes())

class Counting:
    def __init__(self, f):
        self.f, self.n = f, 0
    def read(self, size=-1):
        b = self.f.read(size)
        self.n += len(b)
        return b

def count(path):
    with open(path, "rb") as raw, gzip.GzipFile(fileobj=raw) as gz:
        c = Counting(gz)
        entries = files = 0
        with tarfile.open(fileobj=c, mode="r|") as tar:
            for m in tar:
                entries += 1
                files += m.isreg()
        while c.read(1 << 20):
            pass
    return c.n, entries, files

mb = lambda n: f"{n / 1e6:.1f} MB ({n:,} B)" if n >= 100_000 else f"{n:,} B"
mode, d = sys.argv[1], sys.argv[2]
root, m = manifest(d)
layers = m["layers"]
if mode == "count":
    print("| layer | media type | compressed (blob) | uncompressed (tar) | entries | regular files |")
    print("|---|---|---|---|---|---|")
    tot = [0, 0, 0, 0]
    for i, l in enumerate(layers, 1):
        size, entries, files = count(blob(root, l["digest"]))
        for k, v in enumerate((l["size"], size, entries, files)):
            tot[k] += v
        print(f"| {i} `{l['digest'][:19]}` | `{l['mediaType']}` | {mb(l['size'])} | {mb(size)} "
              f"| {entries:,} | {files:,} |")
    print(f"| all | | {mb(tot[0])} | {mb(tot[1])} | {tot[2]:,} | {tot[3]:,} |")
else:
    src = {l["digest"] for l in manifest(sys.argv[3])[1]["layers"]}
    print(", ".join(f"{mb(l['size'])}{' (same blob as pulled)' if l['digest'] in src else ''}"
                    for l in layers) + f"; manifest `{m.get('mediaType', '(no mediaType)')}`")
EOF
}

# ------------------------------------------------------------------ image --

# The shell command (busybox sh in the image) printing the image's
# fingerprint: the third layer's file, the number of files of the Python
# tree, and md5 digests over every entry's path, type, mode, owner, size and
# mtime (directories: without size), and over every file's content.
fingerprint_cmd() {
    cat <<EOF
set -e
cat /etc/bench-layer
cd $PY_DIR
echo "files \$(find . -type f | wc -l)"
echo "entries \$(find . ! -type d -exec stat -c '%n %f %u %g %s %Y' {} + | sort | md5sum)"
echo "dirs \$(find . -type d -exec stat -c '%n %f %u %g %Y' {} + | sort | md5sum)"
echo "contents \$(find . -type f -exec md5sum {} + | sort | md5sum)"
EOF
}

# verify_image ENGINE IMAGE: ENGINE runs IMAGE and finds the very tree it was
# built with; anything else ends the benchmark.
verify_image() {
    local e=$1 img=$2 out
    out=$(eng "$e" run --rm --network none "$img" /bin/sh -c "$(fingerprint_cmd)" 2>&1) ||
        die "$e: running $img failed: $out"
    [[ $out == "$REFERENCE" ]] && return 0
    diff <(echo "$REFERENCE") <(echo "$out") >&2 || true
    die "$e: $img differs from the image as built (above: < built, > $e)"
}

# Build bench/py with the private dockerd: busybox (the repo's rootfs,
# imported), COPY of the Python tree, RUN echo; 3 layers. Push it to the
# source registry, and take the reference fingerprint.
build_image() {
    local ctx=$WORK/ctx name=${PY_SRC##*/} layers
    docker import "$(busybox_tarball)" busybox:latest >/dev/null
    log "copying $PY_SRC (site-packages left out) into the build context"
    mkdir -p "$ctx"
    tar -C "${PY_SRC%/*}" --exclude="$name/site-packages/*" -cf - "$name" | tar -C "$ctx" -xf -
    cat >"$ctx/Dockerfile" <<EOF
FROM busybox:latest
COPY $name $PY_DIR
RUN echo "berth registry benchmark, layer 3" >/etc/bench-layer
EOF
    log "building bench/py (legacy builder)"
    DOCKER_BUILDKIT=0 docker build -q --network none -t bench/py:built "$ctx" >"$WORK/build.log" 2>&1 ||
        { tail -n 20 "$WORK/build.log" >&2; die "docker build failed"; }
    rm -rf "$ctx"
    layers=$(docker image inspect --format '{{len .RootFS.Layers}}' bench/py:built)
    ((layers == 3)) || die "bench/py has $layers layers, expected 3"
    REFERENCE=$(docker run --rm --network none bench/py:built /bin/sh -c "$(fingerprint_cmd)") ||
        die "docker could not run the image it built"

    start_registry registry-src
    SRC_DIR=$REG_DIR
    SRC_IMG=127.0.0.1:$REG_PORT/bench/py:latest
    docker tag bench/py:built "$SRC_IMG"
    log "pushing $SRC_IMG with docker"
    docker push "$SRC_IMG" >"$WORK/push-src.log" 2>&1 ||
        { tail "$WORK/push-src.log" >&2; die "docker push failed"; }
    log "counting the layers in the registry"
    image_layers count "$SRC_DIR" >"$WORK/results/image.md"
    cat "$WORK/results/image.md" >&2
}

# clean_images ENGINE: remove the image and every layer from ENGINE, and
# check that nothing is left (images -aq empty, the data root small).
clean_images() {
    local e=$1 left mib
    if eng "$e" image inspect "$SRC_IMG" >/dev/null 2>&1; then
        eng "$e" rmi "$SRC_IMG" >/dev/null || die "$e rmi $SRC_IMG failed"
    fi
    eng "$e" image prune -af >/dev/null || die "$e image prune -af failed"
    left=$(eng "$e" images -aq)
    [[ -z $left ]] || die "$e still has images after rmi + image prune -af: $left"
    mib=$(du -sm "$(data_root "$e")" | cut -f1)
    log "$e: no image, data root $mib MiB"
    ((mib <= LEFTOVER_MIB)) ||
        die "$e's data root still holds $mib MiB after rmi + prune: a pull would not be cold"
}

# Write everything out, drop the page cache, and let the disk settle.
cold() {
    sync
    if ((COLD)); then echo 3 >/proc/sys/vm/drop_caches; fi
    sleep 1
}

# ------------------------------------------------------------------- cases --

# Peak RSS of a process (KiB), and its reset (clear_refs 5).
hwm_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }
reset_hwm() { echo 5 >"/proc/$1/clear_refs"; }

# CPU time of a process and of the children it has waited for, in clock
# ticks (utime + stime + cutime + cstime of /proc/PID/stat).
cpu_ticks() {
    local stat
    read -r stat <"/proc/$1/stat"
    stat=${stat##*) } # fields from the state on: utime is the 12th
    awk '{ print $12 + $13 + $14 + $15 }' <<<"$stat"
}

# measure CASE ENGINE ARGS...: one timed CLI command. Samples (appended to
# $WORK/results/CASE*.ENGINE.*.part): wall time; peak RSS of berth's CLI, of
# docker's CLI + dockerd (its VmHWM reset first; the children it starts,
# unpigz and docker-untar, are not counted) and of each alone; CPU time of
# berth's CLI, of docker's CLI + dockerd with those children.
measure() {
    local c=$1 e=$2 t0 t1 rc=0 cli cpu hwm=0 d0=0 d1=0 pid="" r=$WORK/results
    shift 2
    engine_argv "$e"
    if [[ $e == docker ]]; then
        pid=$(dockerd_pid)
        reset_hwm "$pid"
        d0=$(cpu_ticks "$pid")
    fi
    t0=$EPOCHREALTIME
    /usr/bin/time -f '%M %U %S' -o "$WORK/rss.tmp" "${ENGINE_ARGV[@]}" "$@" >"$WORK/$c.$e.log" 2>&1 || rc=$?
    t1=$EPOCHREALTIME
    if ((rc)); then
        tail -n 20 "$WORK/$c.$e.log" >&2
        die "$e $*: exit status $rc"
    fi
    if [[ -n $pid ]]; then
        hwm=$(hwm_kib "$pid")
        d1=$(cpu_ticks "$pid")
    fi
    read -r cli cpu < <(tail -n 1 "$WORK/rss.tmp" |
        awk -v d=$((d1 - d0)) -v hz="$(getconf CLK_TCK)" '{ printf "%d %.2f\n", $1, $2 + $3 + d / hz }')
    elapsed "$t0" "$t1" >>"$r/$c.$e.times.part"
    echo "$cpu" >>"$r/${c}_cpu.$e.times.part"
    echo $((cli + hwm)) >>"$r/${c}_rss.$e.kib.part"
    if [[ -n $pid ]]; then
        echo "$cli" >>"$r/${c}_cli_rss.$e.kib.part"
        echo "$hwm" >>"$r/${c}_dockerd_rss.$e.kib.part"
    fi
    log "$e $1: $(elapsed "$t0" "$t1") s, CPU $cpu s, peak RSS CLI $cli KiB${pid:+, dockerd $hwm KiB}"
}

# Only complete sample sets count.
commit_samples() {
    local f
    for f in "$WORK/results/$1"*.part; do mv "$f" "${f%.part}"; done
}

# The engines of run I in the order they go: alternating.
order() { if (($1 % 2)); then echo docker berth; else echo berth docker; fi; }

# 1. Pull from the source registry, cold; every pull then checked. One
#    untimed warmup pull per engine first: the disk is slow for a while after
#    the large deletes of the build (a first timed pull took up to 1.6x the
#    others).
case_pull() {
    local i e
    for e in berth docker; do
        clean_images "$e"
        cold
        eng "$e" pull "$SRC_IMG" >"$WORK/warmup.$e.log" 2>&1 ||
            { tail "$WORK/warmup.$e.log" >&2; die "$e pull $SRC_IMG failed"; }
        verify_image "$e" "$SRC_IMG"
    done
    for ((i = 0; i < RUNS; i++)); do
        for e in $(order "$i"); do
            clean_images "$e"
            cold
            measure pull "$e" pull "$SRC_IMG"
            verify_image "$e" "$SRC_IMG"
        done
    done
    commit_samples pull
    CHECKS+=("every timed pull ($RUNS per engine) was run and showed the image as built (fingerprint:\
 the third layer's file, $PY_DIR's file count, md5 of every entry's metadata and every file's content)")
}

# 2. Push to a fresh, empty registry each time, cold. The manifest must be
#    there afterwards; the blob sizes of each engine's last push are kept.
case_push() {
    local i e img
    for ((i = 0; i < RUNS; i++)); do
        for e in $(order "$i"); do
            start_registry "registry-push-$e-$i"
            img=127.0.0.1:$REG_PORT/bench/py:latest
            eng "$e" tag "$SRC_IMG" "$img" || die "$e tag failed"
            cold
            measure push "$e" push "$img"
            curl -sf -o /dev/null -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
                -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
                "http://127.0.0.1:$REG_PORT/v2/bench/py/manifests/latest" ||
                die "$e push: the registry has no manifest for bench/py:latest"
            image_layers sizes "$REG_DIR" "$SRC_DIR" >"$WORK/results/pushed.$e.txt"
            eng "$e" rmi "$img" >/dev/null || die "$e rmi $img failed"
            stop_registry
        done
    done
    commit_samples push
}

# 3. Interop: the image berth pushes (to a fresh registry) is pulled and run
#    by Docker, which holds no image before.
case_interop() {
    local img
    start_registry registry-interop
    img=127.0.0.1:$REG_PORT/bench/py:latest
    eng berth tag "$SRC_IMG" "$img" || die "berth tag failed"
    eng berth push "$img" >"$WORK/interop-push.log" 2>&1 ||
        { tail "$WORK/interop-push.log" >&2; die "berth push $img failed"; }
    clean_images docker
    docker pull "$img" >"$WORK/interop-pull.log" 2>&1 ||
        { tail "$WORK/interop-pull.log" >&2; die "docker could not pull the image berth pushed"; }
    docker run --rm --network none "$img" true || die "docker could not run the image berth pushed"
    verify_image docker "$img"
    docker rmi "$img" >/dev/null || die "docker rmi $img failed"
    eng berth rmi "$img" >/dev/null || die "berth rmi $img failed"
    stop_registry
    CHECKS+=("interop: the image berth pushed to a fresh registry was pulled by docker (holding no image\
 before), ran (\`true\`), and matched the fingerprint")
}

# --strace: one more cold pull per engine under strace -c -f: berth's CLI,
# and dockerd (attached, with the children it starts) for docker's.
case_strace() {
    local e t0 t1 sp
    for e in berth docker; do
        clean_images "$e"
        cold
        if [[ $e == berth ]]; then
            engine_argv berth
            t0=$EPOCHREALTIME
            strace -c -f -o "$WORK/strace.$e.txt" "${ENGINE_ARGV[@]}" pull "$SRC_IMG" >/dev/null 2>&1 ||
                die "berth pull under strace failed"
            t1=$EPOCHREALTIME
        else
            strace -c -f -p "$(dockerd_pid)" -o "$WORK/strace.$e.txt" 2>/dev/null &
            sp=$!
            sleep 1 # let strace attach to every thread
            t0=$EPOCHREALTIME
            docker pull "$SRC_IMG" >/dev/null 2>&1 || die "docker pull under strace failed"
            t1=$EPOCHREALTIME
            kill -INT "$sp"
            wait "$sp" || true
        fi
        elapsed "$t0" "$t1" >"$WORK/strace.$e.time"
        verify_image "$e" "$SRC_IMG"
    done
}

# ----------------------------------------------------------------- report --

strace_section() {
    local e
    echo "## Where the time goes: one more cold pull under \`strace -c -f\`"
    echo
    echo "Not part of the medians (strace slows both down)."
    for e in berth docker; do
        echo
        if [[ $e == berth ]]; then
            echo "berth CLI (daemonless, all threads), $(<"$WORK/strace.$e.time") s under strace;" \
                "top 15 by time:"
        else
            echo "dockerd (attached, all threads and children), \`docker pull\` $(<"$WORK/strace.$e.time") s" \
                "under strace; top 15 by time:"
        fi
        echo
        echo '```'
        head -n 17 "$WORK/strace.$e.txt"
        echo '```'
        echo
        echo "fsync-family calls: $(awk '$NF ~ /^(fsync|fdatasync|syncfs|sync_file_range|sync)$/ {
            printf "%s%s × %s", n++ ? ", " : "", $NF, $4 }
            END { if (!n) printf "none" }' "$WORK/strace.$e.txt")"
    done
    echo
}

write_report() {
    local table facts e cache="dropped (\`sync; echo 3 >/proc/sys/vm/drop_caches\`)"
    if ((!COLD)); then cache="NOT dropped (drop_caches not writable)"; fi
    table=$(python3 "$REPO/bench/summarize.py" --set issue5 "$WORK/results" "${ENGINES[@]}")
    facts=$(
        machine_facts
        berth_facts
        echo "- docker-registry: $(docker-registry --version | awk '{ print $NF }'), plain HTTP on 127.0.0.1"
        echo "- $RUNS cold runs per engine and case, engines alternating which goes first; page cache $cache" \
            "before each"
    )
    mkdir -p "$(dirname "$OUT")"
    {
        echo "# Berth vs Docker, issue 5 benchmark: registry pull and push ($(date +%F))"
        echo
        cat <<EOF
Medians; ratio < 1 means berth is faster (or smaller). Produced by \`bench/registry.sh${ARGS:+ $ARGS}\`.
berth runs daemonless (its own data root; the CLI does all the work) against a private dockerd (overlay2).
Before every timed run the engine holds no image at all (\`rmi\` + \`image prune -af\`, checked with
\`images -aq\` and the size of its data root), then \`sync\`, the page cache is dropped and the disk gets 1 s
to settle; one untimed warmup pull per engine precedes the timed ones. Pulls come from one local
\`docker-registry\`; every push goes to a new, empty registry (nothing to skip or mount). CPU time: berth's
CLI vs docker's CLI + dockerd and the children it waits for (\`unpigz\`, \`docker-untar\`). Peak RSS: berth's
CLI vs docker's CLI + dockerd's peak (VmHWM, reset before each run; those children not counted).

## The image

\`bench/py:latest\`, 3 layers, built by the private dockerd with the legacy builder: \`FROM busybox\` (the
repo's busybox rootfs, \`docker import\`ed), \`COPY\` of \`$PY_SRC\` (its \`site-packages\` left empty) to
\`$PY_DIR\`, \`RUN echo … >/etc/bench-layer\`; pushed by docker. In the registry:

EOF
        cat "$WORK/results/image.md"
        echo
        echo "## Results"
        echo
        echo "$table"
        echo
        echo "Blob sizes of the last push (the registry's manifest):"
        echo
        for e in berth docker; do
            if [[ -s $WORK/results/pushed.$e.txt ]]; then echo "- $e: $(<"$WORK/results/pushed.$e.txt")"; fi
        done
        echo
        echo "## Checks"
        echo
        for e in "${CHECKS[@]}"; do echo "- $e"; done
        echo
        if ((STRACE)); then strace_section; fi
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
    if ! { sync && echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
        warn "cannot drop the page cache: runs are not cold"
        COLD=0
    fi

    start_dockerd
    ENGINES=(docker)
    build_image
    clean_images docker
    mkdir -p "$WORK/berth/data" "$WORK/berth/exec"
    new_cgroup_parent BERTH_CGROUP berth
    ENGINES=(berth docker)

    log "case 1: pull"
    case_pull
    if ((STRACE)); then
        log "strace"
        case_strace
    fi
    log "case 2: push"
    case_push
    log "case 3: interop"
    case_interop
    write_report
}

main "$@"
