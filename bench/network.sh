#!/usr/bin/env bash
# bench/network.sh [--runs N] [--out FILE]
#
# Issue 4 benchmark: what networking costs a berth container, side by side
# with a private dockerd in one run, on the same busybox image and
# interleaved case by case (berth, then docker). berth runs daemonless with
# its own data/exec root, cgroup parent, and a default bridge and subnet of
# its own (`--bridge bb<hex> --bip 10.250.<x>.1/24`: never docker0 or
# 172.17.0.0/16). dockerd has no bridge, no iptables/NAT and no ip_forward
# change, so its side is always `--network none`. All containers, daemons,
# mounts, cgroups, temp dirs, and berth's bridge, veths, nft table and netns
# mount are removed on every exit path. See bench/README.md for the cases.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"

BERTH=${BERTH:-$REPO/target/release/berth}
OUT=""
BERTH_CGROUP=""    # berth's cgroup parent, unique to this run
BRIDGE=""          # berth's default bridge for this run: bb + 8 hex digits
BIP=""             # its address and prefix: 10.250.<x>.1/24, a /24 unused here
VETHS_AT_START=""  # vb* links present before the run (another berth's)
FORWARD_AT_START="" # net.ipv4.ip_forward before the run
FIREWALL="none seen"
BRIDGE_OK=0        # the bridge smoke test passed: cases 1, 2 (paired), 3, 4 run
PORT_OK=0          # the published-port smoke test passed: case 3 runs
FAILURES=()        # "`command`: error" lines for the report

usage() {
    cat <<EOF
usage: $0 [--runs N] [--out FILE]
  --runs N       hyperfine runs per command and paired runs, N >= 20 (default $RUNS)
  --out FILE     results file (default bench/results/issue4-<date>.md)
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
    [[ -n $OUT ]] || OUT=$REPO/bench/results/issue4-$(date +%F).md
}

check_prereqs() {
    check_tools dockerd docker python3 setsid ip nft curl
    [[ -x $BERTH ]] || die "berth binary not found at $BERTH: build it (cargo build --release -p berth-cli)
       or point BERTH at it"
}

# ----------------------------------------------------------------- network --

# The names of the host's links, one a line.
link_names() { ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'; }

# vb* links (berth's host-side veths) that were not there when the run began.
new_veths() {
    local l
    while read -r l; do
        [[ $l == vb* ]] || continue
        grep -qxF "$l" <<<"$VETHS_AT_START" || echo "$l"
    done < <(link_names)
}

# Links enslaved to our bridge (only this run's containers use it).
bridge_ports() { ip -o link show master "$BRIDGE" 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'; }

nft_table() { echo "berth-$BRIDGE"; }

# The iptables chains berth's fallback backend would make for our bridge.
berth_chains() { iptables_chains | awk -v p="BERTH-$BRIDGE-" 'index($2, p) == 1'; }

# A bridge name and a /24 of 10.250.0.0/16 no link, address or route uses.
pick_network() {
    local x i used
    BRIDGE=bb$(od -An -tx1 -N4 /dev/urandom | tr -d ' \n')
    ! ip link show "$BRIDGE" >/dev/null 2>&1 || die "link $BRIDGE exists already"
    used=$(ip -4 addr show; ip -4 route show table all)
    for ((i = 0; i < 100; i++)); do
        x=$((RANDOM % 256))
        grep -q "10\.250\.$x\." <<<"$used" && continue
        BIP=10.250.$x.1/24
        return 0
    done
    die "no free /24 found in 10.250.0.0/16"
}

# Take berth's network down: leftover ports of our bridge (their netns gone),
# the netns dir mount, the bridge, its nft table (or iptables chains), and
# ip_forward as it was. Containers must be gone first.
remove_berth_network() {
    local ns=$WORK/berth/exec/netns l t c rule i
    mountpoint -q "$ns" 2>/dev/null && { umount -l "$ns" || warn "could not unmount $ns"; }
    # the kernel destroys a namespace (and its veths) asynchronously
    for ((i = 0; i < 50; i++)); do
        [[ -z $(bridge_ports) ]] && break
        sleep 0.1
    done
    for l in $(bridge_ports); do
        warn "removing leftover link $l of bridge $BRIDGE"
        ip link del "$l" || true
    done
    ! ip link show "$BRIDGE" >/dev/null 2>&1 || ip link del "$BRIDGE" || warn "could not delete bridge $BRIDGE"
    if nft list table inet "$(nft_table)" >/dev/null 2>&1; then
        nft delete table inet "$(nft_table)" || warn "could not delete nft table inet $(nft_table)"
    fi
    while read -r t c; do
        [[ -n $c ]] || continue
        iptables -t "$t" -S | awk -v c="$c" '$1 == "-A" && / -j / && $NF == c' | while read -r rule; do
            # shellcheck disable=SC2086 # the rule is a word list
            iptables -t "$t" -D ${rule#-A }
        done
        iptables -t "$t" -F "$c" && iptables -t "$t" -X "$c"
    done < <(berth_chains)
    if [[ -n $FORWARD_AT_START && $(</proc/sys/net/ipv4/ip_forward) != "$FORWARD_AT_START" ]]; then
        warn "berth changed net.ipv4.ip_forward; restoring $FORWARD_AT_START"
        echo "$FORWARD_AT_START" >/proc/sys/net/ipv4/ip_forward
    fi
}

# Say whether anything of berth's network is left.
check_berth_network() {
    local left=() v
    ! ip link show "$BRIDGE" >/dev/null 2>&1 || left+=("bridge $BRIDGE")
    ! nft list table inet "$(nft_table)" >/dev/null 2>&1 || left+=("nft table inet $(nft_table)")
    [[ -z $(berth_chains) ]] || left+=("iptables chains BERTH-$BRIDGE-*")
    ! mountpoint -q "$WORK/berth/exec/netns" 2>/dev/null || left+=("mount $WORK/berth/exec/netns")
    v=$(new_veths | tr '\n' ' ')
    # another berth on this host (tests) may make vb* links too: only named, not removed
    [[ -z $v ]] || left+=("vb* links that appeared during the run: ${v% }")
    if ((${#left[@]})); then
        warn "berth network left behind: ${left[*]}"
    else
        log "clean: no bridge, veth, nft table or netns mount of berth's network is left"
    fi
}

# ----------------------------------------------------------------- engines --

engine_argv() {
    case $1 in
        berth)
            ENGINE_ARGV=("$BERTH" --data-root "$WORK/berth/data" --exec-root "$WORK/berth/exec"
                --cgroup-parent "/$BERTH_CGROUP" --bridge "$BRIDGE" --bip "$BIP")
            ;;
        docker) ENGINE_ARGV=("$(command -v docker)") ;;
        *) die "unknown engine $1" ;;
    esac
}

# Batch containers (lib.sh): berth's on its default bridge (no --network),
# docker's without network (it has no bridge here).
batch_network() { [[ $1 == berth ]] || echo none; }

# Cleanup hook (lib.sh): berth's containers, then its network.
teardown() {
    local e rest=()
    [[ -n $BRIDGE ]] || return 0
    if [[ " ${ENGINES[*]} " == *" berth "* ]]; then
        remove_all berth || warn "could not remove berth's containers"
    fi
    for e in "${ENGINES[@]}"; do
        [[ $e == berth ]] || rest+=("$e")
    done
    ENGINES=("${rest[@]}") # berth's containers are dealt with
    remove_berth_network
    check_berth_network
}

# note_failure COMMAND ERROR: keep a failure for the report (temp dir as $TMP).
note_failure() {
    local cmd=$1 err
    err=$(grep -v '^[[:space:]]*$' <<<"$2" | head -n 3 | paste -sd ' ' | cut -c1-300)
    FAILURES+=("\`${cmd//$WORK/\$TMP}\`: ${err//$WORK/\$TMP}")
    warn "$cmd: ${err:-no output}"
}

# try_once ENGINE ARGS...: run the command once, untimed; on failure note its
# command line and error.
try_once() {
    local out rc=0
    out=$(eng "$@" 2>&1 >/dev/null) || rc=$?
    ((rc)) || return 0
    note_failure "$(eng_cmdline "$@")" "${out:-exit status $rc}"
    return 1
}

# timed NAME ENGINE ARGS...: one trial run, then hyperfine.
timed() {
    local name=$1
    shift
    try_once "$@" || return 1
    hf "$name" "$@" && return 0
    note_failure "$(eng_cmdline "$@")" "a timed run failed (the trial run passed; see the log)"
    return 1
}

# The bridge works: a container gets an address in BIP's /24 and reaches the
# gateway (ping through the veth and the bridge).
smoke_bridge() {
    local gw=${BIP%/*} out cmd
    cmd="ip -4 -o addr show dev eth0 && ping -c 1 -W 2 $gw >/dev/null && echo ok"
    if ! out=$(eng berth run --rm busybox sh -c "$cmd" 2>&1); then
        note_failure "$(eng_cmdline berth run --rm busybox sh -c "$cmd")" "$out"
        return 1
    fi
    if [[ $out != *" inet ${gw%.*}."* || $out != *ok ]]; then
        note_failure "$(eng_cmdline berth run --rm busybox sh -c "$cmd")" \
            "no address in ${gw%.*}.0/24 or gateway not reachable: $out"
        return 1
    fi
    if nft list table inet "$(nft_table)" >/dev/null 2>&1; then
        FIREWALL="nftables (table inet $(nft_table))"
    elif [[ -n $(berth_chains) ]]; then
        FIREWALL="iptables (chains BERTH-$BRIDGE-*)"
    fi
}

# A published port works: an httpd in a container answers on the host's
# 127.0.0.1 at the port `port` reports.
smoke_port() {
    local id mapping port out
    local -a run=(run -d -p 127.0.0.1::80 busybox httpd -f -p 80 -h /etc)
    if ! id=$(eng berth "${run[@]}" 2>"$WORK/port.err"); then
        note_failure "$(eng_cmdline berth "${run[@]}")" "$(<"$WORK/port.err")"
        return 1
    fi
    if ! mapping=$(eng berth port "$id" 80/tcp 2>&1); then
        note_failure "$(eng_cmdline berth port "${id:0:12}" 80/tcp)" "$mapping"
    else
        port=${mapping##*:}
        port=${port%%[!0-9]*}
        if out=$(curl -sS --max-time 5 "http://127.0.0.1:$port/passwd" 2>&1) && [[ $out == *root:* ]]; then
            PORT_OK=1
        else
            note_failure "curl http://127.0.0.1:$port/passwd (\`berth port\` said '$mapping')" "${out:-no reply}"
        fi
    fi
    eng berth rm -f "$id" >/dev/null || warn "could not remove the port test container"
    ((PORT_OK))
}

setup_engines() {
    local tarball
    tarball=$(busybox_tarball)

    start_dockerd
    docker import "$tarball" busybox:latest >/dev/null
    ENGINES+=(docker)
    smoke_test docker

    mkdir -p "$WORK/berth/data" "$WORK/berth/exec"
    new_cgroup_parent BERTH_CGROUP berth
    eng berth import "$tarball" busybox:latest >/dev/null || die "berth import failed"
    ENGINES=(berth docker)
    smoke_test berth
    log "berth bridge $BRIDGE, $BIP"
    if smoke_bridge; then
        BRIDGE_OK=1
        smoke_port || warn "published ports do not work: case 3 is not timed"
    else
        warn "berth's bridge does not work: cases 1, 2 (paired), 3 and 4 are not timed for berth"
    fi
}

# ------------------------------------------------------------------- cases --

# 1. One short-lived container on the default network: berth's bridge (netns,
#    veth pair, address, on a bridge that exists already) vs docker without
#    network.
case_bridge() {
    case $1 in
        berth) ((BRIDGE_OK)) && timed run_rm_bridge berth run --rm busybox true ;;
        docker) timed run_rm_bridge docker run --rm --network none busybox true ;;
    esac
}

# 2. The same without network, for both: the baseline of case 1.
case_none() { timed run_rm_none "$1" run --rm --network none busybox true; }

# 2 (paired). berth on its bridge and without network run alternately (the
#    order flips every pair), WARMUP untimed pairs then RUNS timed ones; one
#    difference (bridge - none) per pair, so drift of the machine cancels.
case_paired() {
    local i t0 t1 t2 d f=$WORK/results/net_setup_paired.berth.times
    local -a bridge=(run --rm busybox true) none=(run --rm --network none busybox true) first second
    ((BRIDGE_OK)) || return 1
    engine_argv berth
    : >"$f.part"
    for ((i = 0; i < WARMUP + RUNS; i++)); do
        if ((i % 2)); then
            first=("${none[@]}") second=("${bridge[@]}")
        else
            first=("${bridge[@]}") second=("${none[@]}")
        fi
        t0=$EPOCHREALTIME
        "${ENGINE_ARGV[@]}" "${first[@]}" >/dev/null 2>"$WORK/paired.err" || break
        t1=$EPOCHREALTIME
        "${ENGINE_ARGV[@]}" "${second[@]}" >/dev/null 2>"$WORK/paired.err" || break
        t2=$EPOCHREALTIME
        ((i >= WARMUP)) || continue
        d=$(awk -v a="$t0" -v b="$t1" -v c="$t2" -v flip=$((i % 2)) \
            'BEGIN { d = (b - a) - (c - b); printf "%.6f\n", flip ? -d : d }')
        echo "$d" >>"$f.part"
    done
    if ((i < WARMUP + RUNS)); then
        note_failure "$(eng_cmdline berth "${first[@]}") / $(eng_cmdline berth "${second[@]}") (paired)" \
            "$(<"$WORK/paired.err")"
        return 1
    fi
    mv "$f.part" "$f"
}

# 3. One short-lived container with a published port on the host's loopback
#    (port allocation, DNAT rules added and removed), berth only.
case_publish() { ((PORT_OK)) && timed run_rm_publish berth run --rm -p 127.0.0.1::80 busybox true; }

# 4. 20 concurrent `run -d busybox sleep 1000` and their `rm -f`: lib.sh's
#    case_batch, berth's containers on its bridge (batch_network).
case_batch_net() {
    local err net
    local -a run=(run -d)
    if [[ $1 == berth ]] && ((!BRIDGE_OK)); then return 1; fi
    case_batch "$1" && return 0
    net=$(batch_network "$1")
    [[ -z $net ]] || run+=(--network "$net")
    err=$(cat "$WORK"/batch/*.err 2>/dev/null | grep -v '^[[:space:]]*$' | head -n 1)
    note_failure "$BATCH x $(eng_cmdline "$1" "${run[@]}" busybox sleep 1000), then rm -f" "${err:-see the log}"
    return 1
}

# ----------------------------------------------------------------- report --

write_report() {
    local table facts f
    table=$(python3 "$REPO/bench/summarize.py" --set issue4 "$WORK/results" "${ENGINES[@]}")
    facts=$(
        machine_facts
        berth_facts
        echo "- berth network: bridge $BRIDGE, --bip $BIP, firewall $FIREWALL;" \
            "net.ipv4.ip_forward at start $FORWARD_AT_START, at end $(</proc/sys/net/ipv4/ip_forward)"
        echo "- $(hyperfine --version); $RUNS runs + $WARMUP warmup per command; paired: $RUNS pairs +" \
            "$WARMUP warmup; batches: $BATCH_REPS timed + 1 warmup"
    )
    mkdir -p "$(dirname "$OUT")"
    {
        echo "# Berth vs Docker, issue 4 benchmark: networking ($(date +%F))"
        echo
        echo "Medians; ratio < 1 means berth is faster. Produced by \`bench/network.sh\`. berth runs daemonless with a"
        echo "default bridge of its own for this run ($BRIDGE, $BIP); the private dockerd has no bridge"
        echo "(\`--bridge=none --iptables=false\`), so Docker's figures are always \`--network none\`. Docker on its"
        echo "default bridge is not measured here: on this machine kind \`run --rm busybox true\` took 353–433 ms"
        echo "(/work/shared/ENGINEERING.md), about 70–150 ms more than with \`--network none\`."
        echo
        echo "$table"
        echo
        if ((${#FAILURES[@]})); then
            echo "## Failures"
            echo
            for f in "${FAILURES[@]}"; do echo "- $f"; done
            echo
        fi
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
    VETHS_AT_START=$(link_names | grep '^vb' || true)
    FORWARD_AT_START=$(</proc/sys/net/ipv4/ip_forward)
    pick_network

    setup_engines
    run_case case_bridge
    run_case case_none
    log "case_paired: berth"
    case_paired || warn "case_paired failed for berth"
    log "case_publish: berth"
    case_publish || warn "case_publish failed for berth"
    run_case case_batch_net
    write_report
}

main "$@"
