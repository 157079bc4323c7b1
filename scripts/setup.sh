#!/usr/bin/env bash
# setup.sh: the main job on a fresh machine (root): install what is missing, build berth in release mode, make a
# busybox:latest image from Debian's busybox-static, and run `berth run --rm busybox echo hello`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
cargo build --release --locked
BERTH=target/release/berth

if ! "$BERTH" image inspect busybox:latest >/dev/null 2>&1; then
    tarball=$(mktemp --suffix=.tar.gz)
    trap 'rm -f "$tarball"' EXIT
    scripts/make-busybox-rootfs.sh "$tarball"
    "$BERTH" import "$tarball" busybox:latest
fi
"$BERTH" run --rm busybox echo hello
