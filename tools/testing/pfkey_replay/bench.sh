#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Benchmarks in one VM run on the stock kernel + module (bench-guest.sh).
. "$(dirname "$0")/lib.sh"

kver=$(stock_kver)
ko=$("$HARNESS/module.sh" "$kver")
st=$("$HARNESS/selftest.sh")
for tool in bench demo; do
	gcc -O2 -Wall -Werror -I"$REPO/include/uapi" -o "$CACHE/selftests/$tool" \
		"$HARNESS/$tool.c"
done
cp "$HARNESS/bench-guest.sh" "$CACHE/selftests/"
rm -rf "$CACHE/results/bench"
"$HARNESS/vm.sh" "/boot/vmlinuz-$kver" "$kver" "$CACHE/results/bench" \
	env PFKEY_REPLAY_BIN="$CACHE/selftests/bench-guest.sh" \
	"$HARNESS/guest-tier.sh" module "$st" "$ko" || true
sed -n '/^ESP flood/,$p' "$CACHE/results/bench/tap.txt"
