#!/usr/bin/env bash
# deps.sh: installs the Debian packages Berth's build, tests and main job need on a fresh machine (run as root).
# Idempotent: packages already present are not reinstalled; `apt-get update` runs only when something is missing.
set -euo pipefail

# bsdutils gives `script`: a terminal for the interactive docker CLI tests; nftables (iptables as the fallback) for
# the bridge network's NAT and published ports.
PACKAGES=(busybox-static gcc make pkg-config ca-certificates iproute2 procps bsdutils nftables iptables docker-registry apache2-utils)

# Packages with services (docker.io, docker-registry) must not start them: tests start their own servers. A
# policy-rc.d that denies starts is put in place for the installs, and removed again only if this script made it.
OWN_POLICY=0
deny_service_starts() {
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        OWN_POLICY=1
    fi
}
allow_service_starts() {
    if ((OWN_POLICY)); then
        rm -f /usr/sbin/policy-rc.d
        OWN_POLICY=0
    fi
}

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}" >&2
    deny_service_starts
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    allow_service_starts
fi
if ! command -v cargo-nextest >/dev/null 2>&1; then
    cargo install --locked cargo-nextest
fi
# The stock docker CLI is the compatibility oracle of the daemon tests. This machine kind ships a 28.x client; where
# it is missing, Debian's docker.io provides one — installed with service starts denied, so no dockerd (and no
# docker0 bridge on 172.17.0.0/16) comes up.
if ! command -v docker >/dev/null 2>&1; then
    echo "installing: docker.io (for the docker CLI)" >&2
    deny_service_starts
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
    allow_service_starts
fi
# The Docker SDK for Python, for the SDK compatibility test.
if ! python3 -c 'import docker' >/dev/null 2>&1; then
    python3 -m pip install --quiet 'docker>=7,<8'
fi
