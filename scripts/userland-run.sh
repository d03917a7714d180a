#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Run a command in another Debian system's root (trixie-userland.sh's),
# chrooted, in a mount namespace of its own: the root through an overlay
# whose changes are thrown away, /tmp empty, this repository read-only and
# each WRITABLE directory writable, all at their own paths.
# Usage: userland-run.sh ROOT [WRITABLE...] -- COMMAND [ARGS...]
. "$(dirname "$0")/lib.sh"

[ $# -ge 3 ] || die "usage: userland-run.sh ROOT [WRITABLE...] -- COMMAND [ARGS...]"
root=$1
shift
writable=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	writable+=("$1")
	shift
done
if [ "${1:-}" != -- ] || [ $# -lt 2 ]; then
	die "userland-run.sh: no COMMAND after --"
fi
shift
[ -x "$root/bin/sh" ] || die "$root is not a root filesystem"
[ "$(id -u)" = 0 ] || die "userland-run.sh needs root (mount, chroot)"

# Inside the namespace: set the mounts up, then chroot.
# shellcheck disable=SC2016
setup='
set -eu
root=$1 repo=$2 nwritable=$3
shift 3
top=$(mktemp -d)
mount -t tmpfs tmpfs "$top"
mkdir -p "$top/upper" "$top/work" "$top/root"
mount -t overlay overlay -o "lowerdir=$root,upperdir=$top/upper,workdir=$top/work" "$top/root"
r=$top/root
mount -t proc proc "$r/proc"
mount --rbind /dev "$r/dev"
mount -t tmpfs tmpfs "$r/tmp"
mkdir -p "$r$repo"
mount --bind "$repo" "$r$repo"
mount -o remount,bind,ro "$r$repo"
while [ "$nwritable" -gt 0 ]; do
	mkdir -p "$r$1"
	mount --bind "$1" "$r$1"
	shift
	nwritable=$((nwritable - 1))
done
exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
	LANG=C.UTF-8 "$@"
'
for d in "${writable[@]}"; do
	[ -d "$d" ] || die "userland-run.sh: $d is not a directory"
done
exec unshare --mount --propagation private sh -c "$setup" setup \
	"$root" "$REPO" "${#writable[@]}" "${writable[@]}" "$@"
