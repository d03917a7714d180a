#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Debian 13 (trixie)'s stock 6.12 kernel for a Debian 12 host: its image,
# headers, kbuild and linux-source-6.12 of the same version, fetched with a
# private apt configuration (own sources list, lists and archives under the
# cache; the host's apt state is never touched) and unpacked with dpkg-deb
# into $CACHE/trixie/root. Idempotent: fetches again only when trixie's
# linux-image-amd64 moved (the lists are refreshed at most once a day) or
# PFKEY_TRIXIE_VERSION names another version.
# Debian's headers package needs gcc-14 and trixie's glibc (its modpost
# does not run here), so modules are built against HEADERS instead: a
# linux-source-6.12 tree prepared with Debian's config (olddefconfig for
# this host's gcc changes compiler capabilities only), its release string
# and its Module.symvers (the CRCs the module's imports must carry).
# Usage: trixie.sh; prints "KVER ROOT HEADERS": the kernel release, the
# unpacked root (boot/vmlinuz-KVER, lib/modules/KVER with modules.dep,
# usr/src/linux-source-6.12.tar.xz for pristine_tree 6.12) and HEADERS.
. "$(dirname "$0")/lib.sh"

top=$CACHE/trixie
apt=$top/apt
root=$top/root
headers=$top/build/headers
stamp=$top/stamp

mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$apt/preferences.d"
cat >"$apt/sources.list" <<'LIST'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security trixie-security main
LIST
: >>"$apt/status"
opts=(-o Dir::Etc::sourcelist="$apt/sources.list" -o Dir::Etc::sourceparts=-
	-o Dir::Etc::preferencesparts="$apt/preferences.d"
	-o Dir::State="$apt" -o Dir::State::Lists="$apt/lists"
	-o Dir::State::status="$apt/status" -o Dir::Cache="$apt"
	-o Dir::Cache::archives="$apt/archives" -o Dir::Cache::pkgcache=
	-o Dir::Cache::srcpkgcache= -o APT::Architecture=amd64
	-o APT::Sandbox::User=root -o Debug::NoLocking=1)

if [ -z "$(find "$apt/lists" -maxdepth 1 -name '*_InRelease' -mmin -1440)" ]; then
	log "apt-get update (trixie, private configuration)"
	apt-get -qq "${opts[@]}" update >&2 || die "apt-get update for trixie failed"
fi

version=${PFKEY_TRIXIE_VERSION:-$(apt-cache "${opts[@]}" policy linux-image-amd64 |
	sed -n 's/^ *Candidate: //p')}
[ -n "$version" ] && [ "$version" != "(none)" ] ||
	die "trixie has no linux-image-amd64 candidate"
# linux-image-amd64 depends on linux-image-KVER (= VERSION).
kver=$(apt-cache "${opts[@]}" show "linux-image-amd64=$version" |
	sed -n 's/^Depends: .*linux-image-\([^ ]*-amd64\) .*/\1/p' | head -n1)
[ -n "$kver" ] || die "cannot tell the kernel release of linux-image-amd64 $version"
abi=${kver%-amd64}

if [ "$(cat "$stamp" 2>/dev/null)" != "$version $kver" ]; then
	log "fetching Debian 13's kernel $kver ($version)"
	image=linux-image-$kver-unsigned
	apt-cache "${opts[@]}" show "$image=$version" >/dev/null 2>&1 ||
		image=linux-image-$kver
	pkgs=("$image=$version" "linux-headers-$kver=$version"
		"linux-headers-$abi-common=$version" "linux-kbuild-$abi=$version"
		"linux-source-6.12=$version")
	rm -rf "$top/debs" "$root" "$headers" "$stamp"
	mkdir -p "$top/debs" "$root"
	(cd "$top/debs" && apt-get -qq "${opts[@]}" download "${pkgs[@]}") >&2 ||
		die "apt-get download ${pkgs[*]} failed"
	for deb in "$top/debs"/*.deb; do
		dpkg-deb -x "$deb" "$root"
	done
	# Debian 13 has merged /usr; depmod -b wants ROOT/lib/modules.
	ln -s usr/lib "$root/lib"
	# dpkg's postinst would run depmod; the guest's modprobe needs it.
	/sbin/depmod -b "$root" "$kver"
	echo "$version $kver" >"$stamp"
fi
[ -f "$root/boot/vmlinuz-$kver" ] ||
	die "$top is incomplete: remove $stamp and run again"

if [ "$(cat "$headers.stamp" 2>/dev/null)" != "$version $kver" ]; then
	log "preparing a module build tree for $kver"
	src=$(pristine_tree 6.12)
	rm -rf "$headers" "$headers.stamp"
	mkdir -p "$headers"
	cp "$root/boot/config-$kver" "$headers/.config"
	# The release Debian's Makefile overrides: VERSION.PATCHLEVEL.SUBLEVEL
	# then the ABI suffix.
	local_version=${kver#"$(make -s --no-print-directory -C "$src" kernelversion)"}
	[ "$local_version" != "$kver" ] || die "$kver is not linux-source-6.12's version"
	make -s -C "$src" O="$headers" ARCH=x86_64 LOCALVERSION="$local_version" \
		CC="ccache gcc" olddefconfig >&2
	make -s -C "$src" O="$headers" ARCH=x86_64 LOCALVERSION="$local_version" \
		CC="ccache gcc" -j"$JOBS" modules_prepare >&2
	[ "$(cat "$headers/include/config/kernel.release")" = "$kver" ] ||
		die "the prepared tree's release is not $kver"
	cp "$root/usr/src/linux-headers-$kver/Module.symvers" "$headers/"
	echo "$version $kver" >"$headers.stamp"
fi
echo "$kver $root $headers"
