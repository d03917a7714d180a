#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# checkpatch.pl --strict over every patch of the generated series and the
# 6.12 variants in patches/6.12/, and sparse
# over the new kernel code in the stock-kernel module build. Writes one
# "ok"/"not ok" line per check to $CACHE/results/style.tap.
. "$(dirname "$0")/lib.sh"

# Emptied first: a run that dies early must not leave old results counted.
tap=$CACHE/results/style.tap
mkdir -p "$CACHE/results"
: >"$tap"
tree=$("$SCRIPTS/series.sh")
# spdxcheck.py needs Debian's python3-ply, not whatever python3 comes first.
export PATH=/usr/bin:$PATH

# The series, and the hunks that differ for Debian 13's 6.12
# (patches/6.12/, applied by module.sh and kernel.sh in place of 6.1's).
for p in "$CACHE"/series/*.patch "$REPO"/patches/6.12/*.diff; do
	name=$(basename "$p")
	[[ $p != "$REPO"/patches/6.12/* ]] || name=6.12/$name
	if (cd "$tree" && perl scripts/checkpatch.pl --strict --no-signoff -q \
		--ignore FILE_PATH_CHANGES "$p") >&2; then
		echo "ok checkpatch $name"
	else
		echo "not ok checkpatch $name"
	fi >>"$tap"
done

# Sparse rebuilds its own copy of the module tree: run test's other lane
# may be loading the af_key.ko of the real one into a VM (run:
# with_build_lock).
kver=$(stock_kver)
stage=$CACHE/module/$kver
copy=$CACHE/module/$kver-sparse
exec {lock}>"$CACHE/build.lock"
flock "$lock"
"$SCRIPTS/module.sh" "$kver" >/dev/null
rsync -a --delete "$stage/" "$copy/"
exec {lock}>&-
touch "$copy/net/key/af_key_replay.c" "$copy/compat/xfrm_aevent_gate.c"
findings=$(make -s --no-print-directory -C "/lib/modules/$kver/build" M="$copy" C=1 \
	CHECK="sparse -Wno-unknown-attribute" modules 2>&1 |
	grep -E 'af_key_replay|xfrm_aevent_gate' | grep -E 'warning|error' || true)
if [ -z "$findings" ]; then
	echo "ok sparse af_key_replay.c xfrm_aevent_gate.c" >>"$tap"
else
	echo "$findings" >&2
	echo "not ok sparse af_key_replay.c xfrm_aevent_gate.c" >>"$tap"
fi
cat "$tap" >&2
