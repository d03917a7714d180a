#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Run the pfkey_replay KUnit suite with kunit.py (UML) on the patched tree.
# Writes $CACHE/results/kunit.tap ("ok"/"not ok" per case) and the log.
. "$(dirname "$0")/lib.sh"

out=$CACHE/results
mkdir -p "$out" "$CACHE/build"	# kunit.py creates only the last level
rm -f "$out/kunit.tap"		# a run that dies early counts nothing old
tree=$("$HARNESS/series.sh")
log "kunit.py run (UML) on $tree"
(cd "$tree" && python3 tools/testing/kunit/kunit.py run \
	--build_dir="$CACHE/build/kunit" \
	--kunitconfig="$HARNESS/configs/kunit.config" \
	--make_options CC="ccache gcc" --jobs "$JOBS" --timeout 300) \
	>"$out/kunit.log" 2>&1 && rc=0 || rc=$?
# Test cases only: the suite's own line is framed by "====".
grep -v '====' "$out/kunit.log" |
	sed -n 's/.*\[PASSED\] \(.*\)/ok \1/p; s/.*\[FAILED\] \(.*\)/not ok \1/p' \
	>"$out/kunit.tap"
grep -E 'Testing complete|Elapsed time' "$out/kunit.log" >&2 || true
[ $rc -eq 0 ] || tail -n 40 "$out/kunit.log" >&2
exit $rc
