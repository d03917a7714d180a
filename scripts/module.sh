#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build af_key.ko with the replay extensions for an installed Debian kernel,
# 6.1 (Debian 12) or 6.12 (Debian 13): its af_key.c from linux-source-6.1
# or -6.12 with the af_key patch of the series applied (patches/6.12/ where
# 6.12's hunks differ), plus this repository's new files and, when that
# kernel lacks the core patch, compat/.
# Usage: module.sh [KVER]; prints the path of the built module.
#   PFKEY_HEADERS  the kernel's build tree, if not /lib/modules/KVER/build
#                  (trixie.sh prepares one for Debian 13's kernel)
. "$(dirname "$0")/lib.sh"

kver=${1:-$(stock_kver)}
stage=$CACHE/module/$kver
series=$(series_of "$kver")
src=$(module_source "$series")
headers=${PFKEY_HEADERS:-/lib/modules/$kver/build}

# "VERSION.PATCHLEVEL.SUBLEVEL" of a headers directory, and of a source
# tree from its Makefile alone (module_source may unpack nothing else).
# --no-print-directory: under "make -C", MAKEFLAGS asks for the lines.
headers_version() { make -s --no-print-directory -C "$1" kernelversion 2>/dev/null; }
source_version() {
	awk '$2 == "=" && $1 == "VERSION" { v = $3 } $2 == "=" && $1 == "PATCHLEVEL" { p = $3 }
	     $2 == "=" && $1 == "SUBLEVEL" { s = $3 } END { print v "." p "." s }' "$1/Makefile"
}

# af_key.c must be the one the kernel was built from: after a kernel update
# a rebuild (DKMS) must not pair the old source with the new kernel.
[ -f "$headers/Makefile" ] || die "no headers for $kver ($headers)"
have=$(source_version "$src") want=$(headers_version "$headers")
[ "$have" = "$want" ] ||
	die "linux-source is $have but $kver is $want: install the linux-source package of that kernel's version"

rm -rf "$stage.new"
mkdir -p "$stage.new/net/key"
cp "$src/net/key/af_key.c" "$stage.new/net/key/af_key_main.c"
# Every patch of the series that changes af_key, in order (not the rename).
while read -r name; do
	diff=$(patch_diff "$name" "$series")
	[ -f "$diff" ] && grep -q '^+++ b/net/key/af_key_main.c' "$diff" ||
		continue
	(cd "$stage.new" && git apply --include=net/key/af_key_main.c "$diff") ||
		die "$name does not apply to $kver's af_key.c"
done <"$REPO/patches/series"
cp "$SCRIPTS/module/Kbuild" "$stage.new/Kbuild"
(cd "$REPO" && cp --parents compat/* net/key/af_key_replay.[ch] \
	include/uapi/linux/pfkey_replay.h "$stage.new/")

# Keep unchanged files' timestamps so kbuild rebuilds only what changed.
mkdir -p "$stage"
rsync -rc --delete --exclude='*.o' --exclude='*.ko' --exclude='*.cmd' \
	--exclude='*.mod*' --exclude='modules.order' --exclude='Module.symvers' \
	"$stage.new/" "$stage/"
rm -rf "$stage.new"

log "building af_key.ko for $kver"
cc=gcc
! command -v ccache >/dev/null || cc="ccache gcc"	# a DKMS build may have none
make -s -C "$headers" M="$stage" CC="$cc" \
	-j"$JOBS" modules >&2
echo "$stage/af_key.ko"
