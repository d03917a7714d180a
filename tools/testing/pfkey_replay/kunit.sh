#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Run the pfkey_replay KUnit suite with kunit.py (UML) on the patched tree.
# Writes $CACHE/results/kunit.tap ("ok"/"not ok" per case) and the log;
# with 6.12, on the patched 6.12 tree, into trixie-kunit.tap and .log.
# Usage: kunit.sh [6.1|6.12]
. "$(dirname "$0")/../../../scripts/lib.sh"

out=$CACHE/results
case ${1:-6.1} in
6.1) name=kunit build=$CACHE/build/kunit ;;
6.12) name=trixie-kunit build=$CACHE/trixie/build/kunit ;;
*) die "usage: kunit.sh [6.1|6.12]" ;;
esac
mkdir -p "$out" "$(dirname "$build")"	# kunit.py creates only the last level
rm -f "$out/$name.tap"		# a run that dies early counts nothing old
tree=$(PFKEY_SERIES=${1:-6.1} "$SCRIPTS/series.sh")
log "kunit.py run (UML) on $tree"
(cd "$tree" && python3 tools/testing/kunit/kunit.py run \
	--build_dir="$build" \
	--kunitconfig="$HARNESS/configs/kunit.config" \
	--make_options CC="ccache gcc" --jobs "$JOBS" --timeout 300) \
	>"$out/$name.log" 2>&1 && rc=0 || rc=$?
# Test cases only: the suite's own line is framed by "====".
grep -v '====' "$out/$name.log" |
	sed -n 's/.*\[PASSED\] \(.*\)/ok \1/p; s/.*\[FAILED\] \(.*\)/not ok \1/p' \
	>"$out/$name.tap"
grep -E 'Testing complete|Elapsed time' "$out/$name.log" >&2 || true
[ $rc -eq 0 ] || tail -n 40 "$out/$name.log" >&2
exit $rc
