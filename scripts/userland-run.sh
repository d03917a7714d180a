#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Run a command in another Debian system's root (trixie-userland.sh's),
# chrooted, in a mount namespace of its own: the root through an overlay
# whose changes are thrown away, /tmp empty, this repository (and its git
# directory, for a worktree) read-only and each WRITABLE directory
# writable, all at their own paths.
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
root=$1 top=$2 repo=$3 gitdir=$4 nwritable=$5
shift 5
mount -t tmpfs tmpfs "$top"
mkdir -p "$top/upper" "$top/work" "$top/root"
mount -t overlay overlay -o "lowerdir=$root,upperdir=$top/upper,workdir=$top/work" "$top/root"
r=$top/root
mount -t proc proc "$r/proc"
mount --rbind /dev "$r/dev"
mount -t tmpfs tmpfs "$r/tmp"
# Writable first: the repository read-only over any of them.
while [ "$nwritable" -gt 0 ]; do
	mkdir -p "$r$1"
	mount --bind "$1" "$r$1"
	shift
	nwritable=$((nwritable - 1))
done
for d in "$repo" "$gitdir"; do
	mkdir -p "$r$d"
	mount --bind "$d" "$r$d"
	mount -o remount,bind,ro "$r$d"
done
# The host root may own the repository, or a user: git must read it.
exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
	LANG=C.UTF-8 GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=safe.directory \
	GIT_CONFIG_VALUE_0="$repo" "$@"
'
# Paths as the host resolves them (a symlink in the root would resolve
# there), none of them a parent of the repository (it would be writable).
for i in "${!writable[@]}"; do
	[ -d "${writable[i]}" ] || die "userland-run.sh: ${writable[i]} is not a directory"
	writable[i]=$(realpath "${writable[i]}")
	case $REPO/ in
	"${writable[i]%/}"/*) die "userland-run.sh: ${writable[i]} holds the repository" ;;
	esac
done
gitdir=$(realpath "$(git -C "$REPO" rev-parse --git-common-dir)")
top=$(mktemp -d)
trap 'rmdir "$top"' EXIT
unshare --mount --propagation private sh -c "$setup" setup \
	"$(realpath "$root")" "$top" "$REPO" "$gitdir" "${#writable[@]}" "${writable[@]}" "$@"
