#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot a kernel in QEMU (TCG) on the host's root filesystem (or another
# Debian root of the host's: PFKEY_VM_USERLAND), read-only over 9p, run a
# script there and return its exit status. The script's files in
# /run/results land in OUTDIR.
# Usage: vm.sh [--timeout SECONDS] KERNEL KVER|- OUTDIR SCRIPT [ARGS...]
#   SECONDS bounds the whole run, boot included: the tiers size it to their
#   script; 900 for a run by hand.
#   KVER names /lib/modules/KVER whose 9p/virtio/overlay modules the
#   initramfs loads; "-" for a kernel that has them built in.
#   PFKEY_MODULES_ROOT: a directory whose lib/modules/KVER has the modules
#   of a kernel not installed here (trixie.sh's root); the guest sees them
#   as /lib/modules/KVER, writable through an overlay.
#   PFKEY_VM_SMP: vCPUs (default 2).
#   PFKEY_VM_WRITABLE_USR: /usr writable through an overlay too (dpkg -i).
#   PFKEY_VM_USERLAND: the guest's root is this directory of the host's,
#   another Debian system (trixie-userland.sh's), writable through an
#   overlay, with its own /lib/modules; this repository and the host's
#   directories in PFKEY_VM_BINDS (comma-separated) show at their paths.
#   PFKEY_VM_INSN_COUNT: insn-count/insn_count.so, loaded into QEMU; the
#   guest reads the instructions it executed so far in
#   /run/results/insns (OUTDIR/insns). Counts are exact with one vCPU.
# When the VM times out, or ends without the script's exit status (a
# kernel panic), or the script exits non-zero, OUTDIR/failures says so in
# a line (the guest scripts add theirs) and vm.sh exits non-zero.
. "$(dirname "$0")/../../../scripts/lib.sh"

limit=900
if [ "${1:-}" = --timeout ]; then
	[ "${2:-}" -gt 0 ] 2>/dev/null || die "vm.sh: --timeout takes a number of seconds above 0"
	limit=$2
	shift 2
fi
[ $# -ge 4 ] || die "usage: vm.sh [--timeout SECONDS] KERNEL KVER|- OUTDIR SCRIPT [ARGS...]"
kernel=$1 kver=$2 out=$3
shift 3
initrd=$CACHE/initramfs-$kver.cpio.gz
mroot=${PFKEY_MODULES_ROOT:-}

build_initramfs() {
	local root
	root=$(mktemp -d)
	mkdir -p "$root"/{bin,dev,proc,sys,newroot,lib/modules}
	cp /bin/busybox "$root/bin/busybox"
	cp "$HARNESS/initramfs-init" "$root/init"
	chmod +x "$root/init"
	: >"$root/modules.order"
	if [ "$kver" != - ]; then
		modprobe ${mroot:+-d "$mroot"} -S "$kver" --show-depends -a \
			virtio_pci 9pnet_virtio 9p overlay |
		awk '$1 == "insmod" && !seen[$2]++ { print $2 }' |
		while read -r m; do
			# busybox insmod takes them uncompressed (Debian 13: .ko.xz).
			case $m in
			*.xz) xz -dc "$m" >"$root/lib/modules/$(basename "${m%.xz}")" ;;
			*) cp "$m" "$root/lib/modules/" ;;
			esac
			echo "/lib/modules/$(basename "${m%.xz}")" >>"$root/modules.order"
		done
	fi
	# Renamed into place: a VM of run test's other lane may be booting
	# from the one it replaces.
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$initrd.$$"
	mv -f "$initrd.$$" "$initrd"
	rm -rf "$root"
}

if [ ! -s "$initrd" ] || [ "$HARNESS/initramfs-init" -nt "$initrd" ]; then
	build_initramfs
fi

mkdir -p "$out"
# Nothing of an earlier run may be counted or blamed.
rm -f "$out/rc" "$out/failures" "$out/tap.txt" "$out/insns"
printf '%q ' "$@" >"$out/cmd"
append="console=ttyS0 panic=-1 quiet loglevel=4 pfkey_run=$HARNESS/guest/run.sh"
# A path the guest's init resolves: no symlink (it would resolve in the
# initramfs), nothing that splits the command line or a mount option.
host_path() {
	local p
	p=$(realpath "$1") || die "vm.sh: no $1"
	case $p in
	*[[:space:],:]*) die "vm.sh: $p: a path with blanks, commas or colons" ;;
	esac
	echo "$p"
}
if [ -n "${PFKEY_VM_USERLAND:-}" ]; then
	binds=$(host_path "$REPO")
	IFS=, read -r -a extra <<<"${PFKEY_VM_BINDS:-}"
	for p in "${extra[@]}"; do
		binds+=,$(host_path "$p")
	done
	append+=" pfkey_userland=$(host_path "$PFKEY_VM_USERLAND") pfkey_binds=$binds"
elif [ -n "$mroot" ]; then
	append+=" pfkey_modules=$mroot/lib/modules/$kver"
fi
[ -z "${PFKEY_VM_WRITABLE_USR:-}" ] || append+=" pfkey_writable_usr"
qemu_status=0
timeout --foreground -k 10 "$limit" qemu-system-x86_64 -nographic -no-reboot \
	-machine q35 -cpu max -smp "${PFKEY_VM_SMP:-2}" -m 2048 -nic none \
	${PFKEY_VM_INSN_COUNT:+-plugin "$PFKEY_VM_INSN_COUNT,out=$out/insns"} \
	-kernel "$kernel" -initrd "$initrd" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-virtfs local,path="$out",mount_tag=results,security_model=none,multidevs=remap \
	-append "$append" \
	</dev/null 2>&1 | if [ -n "${PFKEY_VM_LIVE:-}" ]; then
		# Line by line: into a pipe, grep would hold the demo back
		# in 4 KiB blocks.
		sed -u -n '/^== \|^\x1b\[1m==/,$p' | grep --line-buffered -v 'reboot: ' |
			tee "$out/console.log"
	else
		cat >"$out/console.log"
	fi || qemu_status=${PIPESTATUS[0]}

failed() {
	echo "$1" >>"$out/failures"
	tail -n 30 "$out/console.log" >&2
	die "$1 ($out/console.log)"
}
case $qemu_status in
124 | 137) failed "VM timed out after $limit s" ;;
esac
[ -s "$out/rc" ] || failed "VM did not finish: no exit status from the guest (kernel panic?)"
rc=$(cat "$out/rc")
[ "$rc" = 0 ] || { echo "guest script exited $rc" >>"$out/failures"; exit "$rc"; }
