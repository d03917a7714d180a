#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Benchmarks; figures, never gates.
# Usage: bench.sh [PART...]   (default: all, in this order)
#   insns     guest instructions per ESP packet and per event, stock kernel
#             + module and patched kernel, one vCPU (guest/bench-insns.sh)
#   rates     ESP flood and event rates, TCG wall clock on this host
#             (guest/bench.sh), both kernels
#   failover  safailover with 10,000 SAs (FAILOVER_SAS), PF_KEY and netlink
#   codec     the C++ PF_KEY codec on the host
. "$(dirname "$0")/../../../scripts/lib.sh"

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(insns rates failover codec)
for part in "${parts[@]}"; do
	case $part in
	insns | rates | failover | codec) ;;
	*) die "bench.sh: unknown part '$part' (insns, rates, failover, codec)" ;;
	esac
done

kver=$(stock_kver)
ko=$("$SCRIPTS/module.sh" "$kver")
st=$("$HARNESS/selftest.sh")
for tool in bench demo; do
	gcc -O2 -Wall -Werror -I"$REPO/include/uapi" -o "$CACHE/selftests/$tool" \
		"$HARNESS/progs/$tool.c"
done
# Next to the programs they run, which they find by their own directory.
cp "$HARNESS"/guest/{bench,bench-insns,bench-lib,lib}.sh "$CACHE/selftests/"
gcc -O2 -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden \
	-o "$CACHE/insn_count.so" "$HARNESS/insn-count/insn_count.c" -lpthread
release=$(cmake_dir tools-release)
cmake -S "$REPO/tools" -B "$release" -DCMAKE_BUILD_TYPE=Release \
	-DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
cmake --build "$release" -j"$JOBS" >/dev/null
image=$("$SCRIPTS/kernel.sh")

# One VM run per kernel and part: the stock kernel gates events through
# compat/ (a netlink sink), the patched one through
# xfrm_aevent_km_subscribe(). The time limits are generous guesses, not
# measurements: a benchmark that runs into one still ends, and says so.
# Usage: bench_vm NAME GUEST_SCRIPT FROM_LINE KERNEL KVER [ENV...]
bench_vm() {
	local name=$1 script=$2 from=$3 kernel=$4 kv=$5 out=$CACHE/results/bench-$1
	shift 5
	rm -rf "$out"
	env "$@" "$HARNESS/vm.sh" --timeout 900 "$kernel" "$kv" "$out" \
		env PFKEY_GUEST_ONLY="$CACHE/selftests/$script" PFKEY_GUEST_ONLY_SECONDS=840 \
		SAREPLAY="$release/cli/sareplay" \
		"$HARNESS/guest/tier.sh" "${name%%-*}" "$st" "$ko" || true
	sed -n "/^$from/,\$p" "$out/tap.txt"
}

for part in "${parts[@]}"; do
	case $part in
	insns)
		echo "=== Debian's stock $kver + af_key module"
		bench_vm module-insns bench-insns.sh "guest instructions" \
			"/boot/vmlinuz-$kver" "$kver" PFKEY_VM_SMP=1 \
			PFKEY_VM_INSN_COUNT="$CACHE/insn_count.so"
		echo "=== patched 6.1 kernel (tinyconfig)"
		bench_vm patched-insns bench-insns.sh "guest instructions" \
			"$image" - PFKEY_VM_SMP=1 PFKEY_VM_INSN_COUNT="$CACHE/insn_count.so"
		;;
	rates)
		echo "=== Debian's stock $kver + af_key module (TCG wall clock, this host)"
		bench_vm module bench.sh "ESP flood" "/boot/vmlinuz-$kver" "$kver"
		echo "=== patched 6.1 kernel (tinyconfig) (TCG wall clock, this host)"
		bench_vm patched bench.sh "ESP flood" "$image" -
		;;
	failover)
		echo "=== safailover, Debian's stock $kver + af_key module"
		rm -rf "$CACHE/results/bench-failover"
		"$HARNESS/vm.sh" --timeout 1800 "/boot/vmlinuz-$kver" "$kver" \
			"$CACHE/results/bench-failover" \
			env FAILOVER_BENCH="${FAILOVER_SAS:-10000}" "$HARNESS/guest/failover.sh" \
			module "$release" "$ko" || true
		sed -n '/^safailover/,$p' "$CACHE/results/bench-failover/tap.txt"
		;;
	codec)
		# The C++ codec, on the host, next to the kernel's notification rate.
		echo "PF_KEY codec (C++, host), messages per second"
		"$release/lib/pfkey/pfkey_codec_bench" --benchmark_min_time=0.5 \
			--benchmark_format=csv 2>/dev/null |
			awk -F, '/notification/ { gsub(/"/, "", $1); printf "  %-28s %12.0f msg/s\n", $1, $7 }'
		;;
	esac
done
