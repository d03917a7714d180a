#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Debian 13 (trixie) as its users have it: a root filesystem made by
# mmdebstrap from Debian's archive (Recommends installed, as apt's default
# is), with trixie.sh's kernel and its headers, linux-source-6.12 of the
# same version, dkms, gcc-14, and what debian/control needs to build this
# project's packages. The trixie-packages tier builds the packages in it
# (userland-run.sh) and boots it (vm.sh PFKEY_VM_USERLAND) to install them
# as a Debian 13 user does. Made again when trixie.sh's kernel or the
# package list below changes.
# Usage: trixie-userland.sh; prints "KVER ROOT".
. "$(dirname "$0")/lib.sh"

top=$CACHE/trixie
root=$top/userland
read -r kver _ _ < <("$SCRIPTS/trixie.sh") || die "Debian 13's kernel is not there"
read -r version _ <"$top/stamp"

# Build-Depends of debian/control, then what a user of the packages runs,
# then busybox, which the test VM's init powers off with.
pkgs=(debhelper dh-dkms cmake g++ pkgconf libgtest-dev libcli11-dev
	nlohmann-json3-dev libmnl-dev libssl-dev libcpp-httplib-dev
	libtoml11-dev libnftables-dev ccache git rsync
	dkms build-essential kmod xz-utils jq man-db systemd iproute2
	"linux-image-$kver=$version" "linux-headers-$kver=$version"
	"linux-source-6.12=$version" busybox)
want="$version $kver $( (printf '%s\n' "${pkgs[@]}"; cat "$0") | sha1sum | cut -c1-16)"

if [ "$(cat "$root.stamp" 2>/dev/null)" != "$want" ]; then
	log "making a Debian 13 root with mmdebstrap ($kver)"
	command -v mmdebstrap >/dev/null || die "mmdebstrap is not installed (run deps.sh)"
	# --one-file-system: a root left by a killed run must not take what
	# it had mounted (/dev/shm is bound in) with it.
	rm -rf --one-file-system "$root" "$root.new" "$root.stamp" ||
		die "cannot remove $root.new (mounts left in it?)"
	archive="[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org"
	# In a mount namespace of its own: what root mode mounts in the new
	# root (proc, sys, dev) goes with mmdebstrap, killed or not.
	unshare --mount --propagation private \
		mmdebstrap --mode=root --variant=apt --quiet \
		--aptopt='Apt::Install-Recommends "true"' \
		--include="$(IFS=,; echo "${pkgs[*]}")" trixie "$root.new" \
		"deb $archive/debian trixie main" \
		"deb $archive/debian trixie-updates main" \
		"deb $archive/debian-security trixie-security main" >&2 ||
		die "mmdebstrap of Debian 13 failed"
	mv "$root.new" "$root"
	echo "$want" >"$root.stamp"
fi
[ -f "$root/boot/vmlinuz-$kver" ] || die "$root has no kernel $kver: remove $root.stamp"
echo "$kver $root"
