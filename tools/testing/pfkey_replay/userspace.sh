#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The C++ user space: GoogleTest under ASan+UBSan, then the PF_KEY decoder,
# the XFRM netlink parsers and the sync-frame decoder under libFuzzer, side
# by side for FUZZ_SECONDS (default 60) each from their committed corpora.
# Writes $CACHE/results/userspace.tap.
# "userspace.sh build" only builds, and prints the build directory (the VM
# tiers run its pfkey_socket_test against a real kernel).
. "$(dirname "$0")/../../../scripts/lib.sh"

seconds=${FUZZ_SECONDS:-60}
out=$CACHE/results
tap=$out/userspace.tap
san="-fsanitize=address,undefined -fno-sanitize-recover=all"
mkdir -p "$out"
# A run that dies early counts nothing old; "build" (for the VM tiers)
# leaves the last run's results alone.
[ "${1:-}" = build ] || : >"$tap"
fuzz=$(cmake_dir fuzz)

# The VM tiers run this build, and run test's other lane may be building
# it at the same time (run: with_build_lock).
exec {lock}>"$CACHE/build.lock"
flock "$lock"
build=$(cmake_dir userspace)
cmake -S "$REPO/tools" -B "$build" -DCMAKE_BUILD_TYPE=Debug \
	-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_FLAGS="$san" \
	-DCMAKE_EXE_LINKER_FLAGS="$san" >&2
cmake --build "$build" -j"$JOBS" >&2
exec {lock}>&-
if [ "${1:-}" = build ]; then
	echo "$build"
	exit 0
fi
(cd "$build" && ctest --output-on-failure --timeout 300) >"$out/ctest.log" 2>&1 || true

# What make demo and make bench build: optimised, warnings still errors.
release=$(cmake_dir tools-release)
if cmake -S "$REPO/tools" -B "$release" -DCMAKE_BUILD_TYPE=Release \
	-DCMAKE_CXX_COMPILER_LAUNCHER=ccache >&2 &&
	cmake --build "$release" -j"$JOBS" >&2; then
	echo "ok release_build"
else
	echo "not ok release_build"
fi >>"$tap"
sed -n 's/.*Test *#[0-9]*: \([^ ]*\) \.*  *Passed.*/ok \1/p
	s/.*Test *#[0-9]*: \([^ ]*\) \.*\**\(Failed\|Not Run\|Exception\|Timeout\).*/not ok \1/p' \
	"$out/ctest.log" >>"$tap"

cmake -S "$REPO/tools" -B "$fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_CXX_COMPILER=clang++ -DPFKEY_FUZZ=ON \
	-DCMAKE_CXX_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" >&2
cmake --build "$fuzz" --target pfkey_decode_fuzz replay_xfrm_fuzz failover_frame_fuzz \
	-j"$JOBS" >&2

# Both parsers at once, one core each. Usage: fuzz NAME BINARY CORPUS
fuzz() {
	local name=$1 binary=$2 seeds=$3 corpus log=$out/$1.log
	corpus=$(mktemp -d)
	if "$binary" -max_total_time="$seconds" -print_final_stats=1 \
		-artifact_prefix="$out/$name-" \
		"$corpus" "$seeds" >"$log" 2>&1; then
		echo "ok $name $(sed -n 's/.*stat::number_of_executed_units: *//p' "$log") executions"
	else
		echo "not ok $name (see $log)"
	fi >"$out/$name.result"
	rm -rf "$corpus"
}
fuzz decode_fuzz "$fuzz/lib/pfkey/pfkey_decode_fuzz" "$REPO/tools/lib/pfkey/fuzz/corpus" &
fuzz xfrm_fuzz "$fuzz/lib/replay/replay_xfrm_fuzz" "$REPO/tools/lib/replay/fuzz/corpus" &
fuzz frame_fuzz "$fuzz/failover/failover_frame_fuzz" "$REPO/tools/failover/fuzz/corpus" &
wait
for name in decode_fuzz xfrm_fuzz frame_fuzz; do
	cat "$out/$name.result" 2>/dev/null || echo "not ok $name ran"
done | tee -a "$tap" >&2
rm -f "$out"/*.result
