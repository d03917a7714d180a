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
cp "$HARNESS/bench-guest.sh" "$HARNESS/guest-lib.sh" "$CACHE/selftests/"
release=$(cmake_dir tools-release)
cmake -S "$REPO/tools" -B "$release" -DCMAKE_BUILD_TYPE=Release \
	-DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
cmake --build "$release" -j"$JOBS" >/dev/null
image=$("$HARNESS/kernel.sh")

# One VM run per kernel: the stock one gates events through compat/ (a
# netlink sink), the patched one through xfrm_aevent_km_subscribe().
# The time limits are generous guesses, not measurements: a benchmark that
# runs into one still ends, and says so.
bench_vm() {
	local name=$1 out=$CACHE/results/bench-$1
	shift
	rm -rf "$out"
	"$HARNESS/vm.sh" --timeout 900 "$@" "$out" \
		env PFKEY_REPLAY_BIN="$CACHE/selftests/bench-guest.sh" \
		SAREPLAY="$release/cli/sareplay" \
		"$HARNESS/guest-tier.sh" "$name" "$st" "$ko" || true
	sed -n '/^ESP flood/,$p' "$out/tap.txt"
}
echo "=== Debian's stock $kver + af_key module"
bench_vm module "/boot/vmlinuz-$kver" "$kver"
echo "=== patched 6.1 kernel (tinyconfig)"
bench_vm patched "$image" -

# The failover daemon with 10,000 SAs, PF_KEY extension and netlink.
echo "=== safailover, Debian's stock $kver + af_key module"
rm -rf "$CACHE/results/bench-failover"
"$HARNESS/vm.sh" --timeout 1800 "/boot/vmlinuz-$kver" "$kver" "$CACHE/results/bench-failover" \
	env FAILOVER_BENCH="${FAILOVER_SAS:-10000}" "$HARNESS/failover-guest.sh" module \
	"$release" "$ko" || true
sed -n '/^safailover/,$p' "$CACHE/results/bench-failover/tap.txt"

# The C++ codec, on the host, next to the kernel's notification rate above.
echo "PF_KEY codec (C++, host), messages per second"
"$release/lib/pfkey/pfkey_codec_bench" --benchmark_min_time=0.5 \
	--benchmark_format=csv 2>/dev/null |
	awk -F, '/notification/ { gsub(/"/, "", $1); printf "  %-28s %12.0f msg/s\n", $1, $7 }'

