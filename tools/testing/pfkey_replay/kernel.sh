#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the patched 6.1 kernel: x86_64 tinyconfig plus what the VM and the
# tests need (configs/patched-x86_64.config). Prints the bzImage path.
. "$(dirname "$0")/lib.sh"

tree=$("$HARNESS/series.sh")
build=$CACHE/build/x86
frag=$HARNESS/configs/patched-x86_64.config
mkdir -p "$build"
if [ ! -f "$build/.config" ] || [ "$frag" -nt "$build/.config" ]; then
	make -s -C "$tree" O="$build" ARCH=x86_64 CC="ccache gcc" tinyconfig >&2
	"$tree/scripts/kconfig/merge_config.sh" -m -O "$build" \
		"$build/.config" "$frag" >/dev/null
	make -s -C "$tree" O="$build" ARCH=x86_64 CC="ccache gcc" \
		olddefconfig >&2
fi
log "building the patched kernel"
make -s -C "$tree" O="$build" ARCH=x86_64 CC="ccache gcc" -j"$JOBS" \
	bzImage >&2
echo "$build/arch/x86/boot/bzImage"
