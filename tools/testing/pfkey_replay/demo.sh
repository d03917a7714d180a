#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot Debian's stock 6.1 kernel in QEMU with the module and show a failover:
# traffic through gw1, gw1 dies, gw2 takes over; the outage and the peer's
# replay errors (+0 across the takeover) at the end, then a one-line
# verdict: "demo: PASS ..." or "demo: FAIL ..." (and a non-zero exit) when
# what it shows did not happen:
# a failed or missing check (the failover.module line of the plan), replay
# or sequence errors at the peer, an outage over max_outage_ms, a VM that
# did not finish.
# "demo.sh replay" shows the kernel extension alone instead: ESP, replay
# notifications as they arrive, a set-replay and its effect.
# "demo.sh verdict DIR" gives the verdict on a failover.module run's
# results in DIR (the harness tier reads the failover tier's with it).
. "$(dirname "$0")/../../../scripts/lib.sh"

# VRRP at 100 ms adverts takes over in about 0.4 s on an idle machine and
# in about 2 s while a kernel builds beside the VM; much more than that
# means keepalived flapped. PFKEY_DEMO_MAX_OUTAGE_MS=unbounded: no bound
# (the harness tier's reading, as CI does not gate on durations).
max_outage_ms=${PFKEY_DEMO_MAX_OUTAGE_MS:-5000}
out=$CACHE/results/demo

# The verdict on the results in @1 (tap.txt, failures): one line, and the
# exit status.
verdict() {
	local out=$1 tap=$1/tap.txt planned reported failed outage
	local seq_errors seq_before replay_errors replay_before
	local -a problems=()
	[ -e "$tap" ] || tap=/dev/null
	planned=$(awk '$1 == "failover.module" { print $2 }' "$HARNESS/plan")
	reported=$(grep -c '^ok \|^not ok ' "$tap" || true)
	failed=$(sed -n 's/^not ok failover\.module\.//p' "$tap" | paste -sd, | sed 's/,/, /g')
	outage=$(sed -n 's/^# outage \([0-9]*\) ms.*/\1/p' "$tap")
	# failover-test.sh's line, counts after gw1 died and before it:
	# "# peer XfrmInStateSeqError A (before gw1 died: B), replay errors on
	# 0x2001 C (before: D)".
	read -r seq_errors seq_before replay_errors replay_before < <(sed -n \
		's/^# peer XfrmInStateSeqError \([0-9]*\) (before gw1 died: \([0-9]*\)), replay errors on 0x2001 \([0-9]*\) (before: \([0-9]*\)).*/\1 \2 \3 \4/p' "$tap") || true
	[ ! -s "$out/failures" ] || problems+=("$(paste -sd';' "$out/failures" | sed 's/;/; /g')")
	[ "$reported" = "$planned" ] || problems+=("$reported of $planned checks reported")
	[ -z "$failed" ] || problems+=("failed: $failed")
	if [ -z "$outage" ]; then
		problems+=("no outage measured")
	elif [ "$max_outage_ms" != unbounded ] && [ "$outage" -gt "$max_outage_ms" ]; then
		problems+=("outage $outage ms over $max_outage_ms ms")
	fi
	if [ -z "${replay_before:-}" ]; then
		problems+=("no peer error counts")
	else
		[ "$replay_errors" = "$replay_before" ] ||
			problems+=("peer replay errors +$((replay_errors - replay_before))")
		[ "$seq_errors" = "$seq_before" ] ||
			problems+=("peer sequence errors +$((seq_errors - seq_before))")
	fi
	if [ ${#problems[@]} -eq 0 ]; then
		echo "demo: PASS — outage $outage ms, peer replay errors +0, sequence errors +0 across the takeover"
	else
		echo "demo: FAIL — $(printf '%s; ' "${problems[@]}" | sed 's/; $//')"
		return 1
	fi
}
if [ "${1:-}" = verdict ]; then
	[ -d "${2:-}" ] || die "usage: demo.sh verdict RESULTS_DIR"
	verdict "$2"
	exit
fi

kver=$(stock_kver)
ko=$("$SCRIPTS/module.sh" "$kver")
if [ "${1:-}" = replay ]; then
	st=$("$HARNESS/selftest.sh")
	gcc -O2 -Wall -Werror -I"$REPO/include/uapi" -o "$CACHE/selftests/demo" \
		"$HARNESS/progs/demo.c"
	# Next to the demo program, which it finds by its own directory.
	cp "$HARNESS"/guest/{demo,lib}.sh "$CACHE/selftests/"
	log "booting Debian's $kver in QEMU (software emulation: ~30 s)"
	PFKEY_VM_LIVE=1 exec "$HARNESS/vm.sh" --timeout 300 "/boot/vmlinuz-$kver" "$kver" \
		"$out" env PFKEY_GUEST_ONLY="$CACHE/selftests/demo.sh" \
		"$HARNESS/guest/tier.sh" module "$st" "$ko"
fi
release=$(cmake_dir tools-release)
cmake -S "$REPO/tools" -B "$release" -DCMAKE_BUILD_TYPE=Release \
	-DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
cmake --build "$release" -j"$JOBS" >/dev/null
log "booting Debian's $kver in QEMU (software emulation: ~2 minutes)"
PFKEY_VM_LIVE=1 "$HARNESS/vm.sh" --timeout 420 "/boot/vmlinuz-$kver" "$kver" "$out" \
	"$HARNESS/guest/failover.sh" module "$release" "$ko" || true

verdict "$out"
