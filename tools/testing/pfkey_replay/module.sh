#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build af_key.ko with the replay extensions for an installed Debian 6.1
# kernel: its af_key.c from linux-source-6.1 with the af_key patch of the
# series applied, plus this repository's new files and, when that kernel
# lacks the core patch, compat/.
# Usage: module.sh [KVER]; prints the path of the built module.
. "$(dirname "$0")/lib.sh"

kver=${1:-$(stock_kver)}
stage=$CACHE/module/$kver
src=$(pristine_tree)

rm -rf "$stage.new"
mkdir -p "$stage.new/net/key"
cp "$src/net/key/af_key.c" "$stage.new/net/key/af_key_main.c"
(cd "$stage.new" && git apply --include=net/key/af_key_main.c \
	"$REPO"/patches/0004-*.diff) || die "af_key patch does not apply"
(cd "$REPO" && cp --parents Kbuild compat/* net/key/af_key_replay.[ch] \
	include/uapi/linux/pfkey_replay.h "$stage.new/")

# Keep unchanged files' timestamps so kbuild rebuilds only what changed.
mkdir -p "$stage"
rsync -rc --delete --exclude='*.o' --exclude='*.ko' --exclude='*.cmd' \
	--exclude='*.mod*' --exclude='modules.order' --exclude='Module.symvers' \
	"$stage.new/" "$stage/"
rm -rf "$stage.new"

log "building af_key.ko for $kver"
make -s -C "/lib/modules/$kver/build" M="$stage" CC="ccache gcc" \
	-j"$JOBS" modules >&2
echo "$stage/af_key.ko"
