#!/usr/bin/env bash
# make-busybox-rootfs.sh OUT.tar.gz
#
# Builds a minimal busybox root filesystem tarball, offline, from Debian's
# busybox-static (/bin/busybox): the binary, one symlink per applet, a small
# /etc/passwd and /etc/group, and the empty directories a container expects.
# The result is deterministic (same bytes on every run for the same busybox)
# and can be fed to `docker import` / `berth import` as busybox:latest.
set -euo pipefail

BUSYBOX=/bin/busybox

usage() {
    echo "usage: $0 OUT.tar.gz" >&2
    exit 2
}

# Install busybox-static unless a static /bin/busybox is already present
# (Debian's dynamic `busybox` package would not run inside a bare rootfs).
ensure_busybox() {
    if [[ -x $BUSYBOX ]] && ! ldd "$BUSYBOX" >/dev/null 2>&1; then
        return
    fi
    echo "installing busybox-static" >&2
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y busybox-static
    if ldd "$BUSYBOX" >/dev/null 2>&1; then
        echo "error: $BUSYBOX is not a static binary" >&2
        exit 1
    fi
}

# Fill ROOT with the file tree of the image.
populate_rootfs() {
    local root=$1 applet
    # Empty directories; tmp is world-writable and sticky, root's home private.
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,etc,home,var,tmp,root}
    chmod 1777 "$root/tmp"
    chmod 0700 "$root/root"

    install -m 0755 "$BUSYBOX" "$root/bin/busybox"
    # One absolute symlink per applet, e.g. bin/sh -> /bin/busybox.
    while read -r applet; do
        [[ $applet == bin/busybox ]] && continue
        mkdir -p "$root/$(dirname "$applet")"
        ln -sfn /bin/busybox "$root/$applet"
    done < <("$BUSYBOX" --list-full)

    cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/home:/bin/false
EOF
    cat >"$root/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
wheel:x:10:root
users:x:100:
nogroup:x:65534:
nobody:x:65534:
EOF
    chmod 0644 "$root/etc/passwd" "$root/etc/group"
}

# Pack ROOT into OUT: sorted entries, fixed mtime, owner 0:0, no gzip
# timestamp, so the bytes only change when busybox does.
pack_rootfs() {
    local root=$1 out=$2
    tar --format=gnu --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
        -C "$root" -cf - . | gzip -n -9 >"$out"
}

main() {
    [[ $# -eq 1 ]] || usage
    local out=$1
    umask 022
    ensure_busybox
    mkdir -p "$(dirname "$out")"

    # Staging tree and partial output, both removed on every exit path.
    STAGE=$(mktemp -d "${TMPDIR:-/tmp}/busybox-rootfs.XXXXXX")
    PARTIAL="$out.tmp.$$"
    trap 'rm -rf -- "$STAGE" "$PARTIAL"' EXIT

    populate_rootfs "$STAGE/rootfs"
    # Write next to OUT and rename, so a failed run never leaves half a tarball.
    pack_rootfs "$STAGE/rootfs" "$PARTIAL"
    mv -f "$PARTIAL" "$out"
    echo "wrote $out ($(stat -c %s "$out") bytes)" >&2
}

main "$@"
