#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the pfkey_replay selftest and the core fix's xfrm_replay_period
# with the kselftest harness of linux-source-6.1, and the harness's PF_KEY
# programs (legacy_bytes, pfkey_fuzz). Prints the directory holding pfkey_replay(.sh).
. "$(dirname "$0")/../../../scripts/lib.sh"

src=$(pristine_tree)
out=$CACHE/selftests
mkdir -p "$out/net"
cp "$src/tools/testing/selftests/kselftest_harness.h" \
	"$src/tools/testing/selftests/kselftest.h" "$out/"
cp "$REPO"/tools/testing/selftests/net/{pfkey_replay{.c,.sh,_lib.h,_stress.c},xfrm_replay_period.c} \
	"$out/net/"
for prog in pfkey_replay pfkey_replay_stress xfrm_replay_period; do
	gcc -O2 -Wall -Werror -pthread -I"$REPO/include/uapi" \
		-o "$out/net/$prog" "$out/net/$prog.c" >&2
done
gcc -O2 -Wall -Werror -I"$REPO/include/uapi" -o "$out/net/legacy_bytes" \
	"$HARNESS/progs/legacy_bytes.c" >&2
gcc -O2 -Wall -Werror -I"$REPO/include/uapi" -I"$out/net" \
	-o "$out/net/pfkey_fuzz" "$HARNESS/progs/pfkey_fuzz.c" >&2
echo "$out/net"
