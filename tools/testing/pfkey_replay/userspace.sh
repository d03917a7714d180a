#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The C++ user space: GoogleTest under ASan+UBSan, then the PF_KEY decoder
# under libFuzzer for FUZZ_SECONDS (default 60) from the committed corpus.
# Writes $CACHE/results/userspace.tap.
# "userspace.sh build" only builds, and prints the build directory (the VM
# tiers run its pfkey_socket_test against a real kernel).
. "$(dirname "$0")/lib.sh"

seconds=${FUZZ_SECONDS:-60}
out=$CACHE/results
tap=$out/userspace.tap
san="-fsanitize=address,undefined -fno-sanitize-recover=all"
mkdir -p "$out"
: >"$tap"		# a run that dies early counts nothing old
build=$(cmake_dir userspace)
fuzz=$(cmake_dir fuzz)

cmake -S "$REPO/tools" -B "$build" -DCMAKE_BUILD_TYPE=Debug \
	-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_FLAGS="$san" \
	-DCMAKE_EXE_LINKER_FLAGS="$san" >&2
cmake --build "$build" -j"$JOBS" >&2
if [ "${1:-}" = build ]; then
	echo "$build"
	exit 0
fi
(cd "$build" && ctest --output-on-failure) >"$out/ctest.log" 2>&1 || true
sed -n 's/.*Test *#[0-9]*: \([^ ]*\) \.*  *Passed.*/ok \1/p
	s/.*Test *#[0-9]*: \([^ ]*\) \.*\**\(Failed\|Not Run\|Exception\).*/not ok \1/p' \
	"$out/ctest.log" >>"$tap"

cmake -S "$REPO/tools" -B "$fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_CXX_COMPILER=clang++ -DPFKEY_FUZZ=ON \
	-DCMAKE_CXX_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" >&2
cmake --build "$fuzz" --target pfkey_decode_fuzz -j"$JOBS" >&2
corpus=$(mktemp -d)
if "$fuzz/lib/pfkey/pfkey_decode_fuzz" -max_total_time="$seconds" \
	-print_final_stats=1 "$corpus" "$REPO/tools/lib/pfkey/fuzz/corpus" \
	>"$out/fuzz.log" 2>&1; then
	echo "ok decode_fuzz $(sed -n 's/.*stat::number_of_executed_units: *//p' "$out/fuzz.log") executions"
else
	echo "not ok decode_fuzz (see $out/fuzz.log)"
fi | tee -a "$tap" >&2
rm -rf "$corpus"
