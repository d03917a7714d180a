#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build a patched 6.1 kernel: x86_64 tinyconfig plus what the VM and the
# tests need (configs/patched-x86_64.config) and, for the hardened variant,
# the sanitizers (configs/hardened-x86_64.config); trixie-patched is the
# patched variant on linux-source-6.12. Prints the bzImage path.
# Usage: kernel.sh [patched|hardened|trixie-patched]
. "$(dirname "$0")/lib.sh"

variant=${1:-patched}
case $variant in
patched) frags=("$HARNESS/configs/patched-x86_64.config") build=$CACHE/build/x86 ;;
hardened) frags=("$HARNESS/configs/patched-x86_64.config"
		 "$HARNESS/configs/hardened-x86_64.config")
	  build=$CACHE/build/x86-hardened ;;
trixie-patched) frags=("$HARNESS/configs/patched-x86_64.config")
	build=$CACHE/trixie/build/x86 series=6.12 ;;
*) die "usage: kernel.sh [patched|hardened|trixie-patched]" ;;
esac
tree=$(PFKEY_SERIES=${series:-6.1} "$SCRIPTS/series.sh")
mkdir -p "$build"
if [ ! -f "$build/.config" ] || [ -n "$(find "${frags[@]}" -newer "$build/.config")" ]; then
	make -s -C "$tree" O="$build" ARCH=x86_64 CC="ccache gcc" tinyconfig >&2
	"$tree/scripts/kconfig/merge_config.sh" -m -O "$build" \
		"$build/.config" "${frags[@]}" >/dev/null
	make -s -C "$tree" O="$build" ARCH=x86_64 CC="ccache gcc" \
		olddefconfig >&2
	# merge_config.sh does not fail on options the kernel dropped.
	for frag in "${frags[@]}"; do
		grep -h '^CONFIG_.*=[ym]' "$frag" | while read -r want; do
			grep -qx "$want" "$build/.config" ||
				die "$want from $(basename "$frag") did not survive olddefconfig"
		done
	done
fi
log "building the $variant kernel"
make -s -C "$tree" O="$build" ARCH=x86_64 CC="ccache gcc" -j"$JOBS" \
	bzImage >&2
echo "$build/arch/x86/boot/bzImage"
