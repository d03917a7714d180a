#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# checkpatch.pl --strict over every patch of the generated series, and sparse
# over the new kernel code in the stock-kernel module build.
. "$(dirname "$0")/lib.sh"

tree=$("$HARNESS/series.sh")
status=0
for p in "$CACHE"/series/*.patch; do
	if ! (cd "$tree" && perl scripts/checkpatch.pl --strict --no-signoff \
		-q --ignore FILE_PATH_CHANGES "$p"); then
		echo "checkpatch: $(basename "$p") has findings" >&2
		status=1
	fi
done
kver=$(stock_kver)
"$HARNESS/module.sh" "$kver" >/dev/null
touch "$CACHE/module/$kver/net/key/af_key_replay.c" \
	"$CACHE/module/$kver/compat/xfrm_aevent_gate.c"
if make -s -C "/lib/modules/$kver/build" M="$CACHE/module/$kver" C=1 \
	CHECK="sparse -Wno-unknown-attribute" modules 2>&1 |
	grep -E 'af_key_replay|xfrm_aevent_gate' | grep -E 'warning|error'; then
	echo "sparse: findings in the new code" >&2
	status=1
fi
exit $status
