#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot Debian's stock 6.1 kernel in QEMU with the module and show a failover:
# traffic through gw1, gw1 dies, gw2 takes over; the outage and the peer's
# replay errors (0) at the end.
# "demo.sh replay" shows the kernel extension alone instead: ESP, replay
# notifications as they arrive, a set-replay and its effect.
. "$(dirname "$0")/lib.sh"

kver=$(stock_kver)
ko=$("$HARNESS/module.sh" "$kver")
if [ "${1:-}" = replay ]; then
	st=$("$HARNESS/selftest.sh")
	gcc -O2 -Wall -Werror -I"$REPO/include/uapi" -o "$CACHE/selftests/demo" \
		"$HARNESS/demo.c"
	cp "$HARNESS/demo-guest.sh" "$CACHE/selftests/"
	log "booting Debian's $kver in QEMU (software emulation: ~30 s)"
	PFKEY_VM_LIVE=1 exec "$HARNESS/vm.sh" "/boot/vmlinuz-$kver" "$kver" \
		"$CACHE/results/demo" env PFKEY_REPLAY_BIN="$CACHE/selftests/demo-guest.sh" \
		"$HARNESS/guest-tier.sh" module "$st" "$ko"
fi
release=$(cmake_dir tools-release)
cmake -S "$REPO/tools" -B "$release" -DCMAKE_BUILD_TYPE=Release \
	-DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
cmake --build "$release" -j"$JOBS" >/dev/null
log "booting Debian's $kver in QEMU (software emulation: ~2 minutes)"
PFKEY_VM_LIVE=1 "$HARNESS/vm.sh" "/boot/vmlinuz-$kver" "$kver" "$CACHE/results/demo" \
	"$HARNESS/failover-guest.sh" module "$release" "$ko"
