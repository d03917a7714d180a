#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot Debian's stock 6.1 kernel in QEMU with the module and run the demo.
. "$(dirname "$0")/lib.sh"

kver=$(stock_kver)
ko=$("$HARNESS/module.sh" "$kver")
st=$("$HARNESS/selftest.sh")
gcc -O2 -Wall -Werror -I"$REPO/include/uapi" -o "$CACHE/selftests/demo" \
	"$HARNESS/demo.c"
cp "$HARNESS/demo-guest.sh" "$CACHE/selftests/"
log "booting Debian's $kver in QEMU (software emulation: ~30 s)"
PFKEY_VM_LIVE=1 "$HARNESS/vm.sh" "/boot/vmlinuz-$kver" "$kver" \
	"$CACHE/results/demo" env PFKEY_REPLAY_BIN="$CACHE/selftests/demo-guest.sh" \
	"$HARNESS/guest-tier.sh" module "$st" "$ko"
