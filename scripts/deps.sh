#!/usr/bin/env bash
# deps.sh: installs the Debian packages Berth's build, tests and main job need on a fresh machine (run as root).
# Idempotent: packages already present are not reinstalled; `apt-get update` runs only when something is missing.
set -euo pipefail

PACKAGES=(busybox-static gcc make pkg-config ca-certificates iproute2 procps)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v cargo-nextest >/dev/null 2>&1; then
    cargo install --locked cargo-nextest
fi
