#!/bin/bash
# Inside the VM, on the hardened kernel (KASAN, UBSAN, lockdep, kmemleak,
# SMP): the kselftest's DUMP-vs-NEWAE stress for longer, the PF_KEY fuzzer
# as root and as an unprivileged user in a user namespace of its own, ESP
# still flowing after it, then the kernel's own verdict: no sanitizer,
# lockdep or kmemleak report. Each step bounded (lib.sh).
# Usage: guest/hardened.sh SELFTEST_DIR   (pfkey_replay*, pfkey_fuzz)
set -u
bin=$1
. "$(dirname "$0")/lib.sh"
guest_start
: >$tap

check() {
	local name=$1
	shift
	if "$@"; then echo "ok $name"; else echo "not ok $name"; fi | tee -a $tap
}

mount -t debugfs none /sys/kernel/debug 2>/dev/null

# The whole kselftest is too slow here for its 30 s per test: its stress
# program alone, for longer than the other tiers run it.
PFKEY_REPLAY_STRESS_SECONDS=${PFKEY_REPLAY_STRESS_SECONDS:-30} \
step stress 600 tap "$(dirname "$0")/ns-pair.sh" "$bin/pfkey_replay_stress"

# ESP, the fuzzer as root and unprivileged, ESP again (esp-and-fuzz.sh).
step fuzz 1200 tap "$(dirname "$0")/ns-pair.sh" "$(dirname "$0")/esp-and-fuzz.sh" "$bin/pfkey_fuzz"

# The kernel's verdict, after two kmemleak scans (an object is reported once
# it was seen unreferenced twice).
for _ in 1 2; do echo scan >/sys/kernel/debug/kmemleak; done
cp /sys/kernel/debug/kmemleak $results/kmemleak.txt
dmesg >$results/dmesg.txt
reports() { grep -cE "$1" $results/dmesg.txt; }
check hardened.no_kasan_reports test "$(reports 'BUG: KASAN')" = 0
check hardened.no_ubsan_reports test "$(reports 'UBSAN:')" = 0
check hardened.no_lockdep_reports test "$(reports 'possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|lock held when returning')" = 0
check hardened.no_sleep_in_atomic test "$(reports 'BUG: sleeping function called from invalid context|scheduling while atomic')" = 0
check hardened.no_warnings_or_oopses test "$(reports 'WARNING:|Oops|general protection fault|divide error')" = 0
check hardened.kmemleak_available test -e /sys/kernel/debug/kmemleak
check hardened.no_kmemleak_reports test "$(grep -c '^unreferenced object' $results/kmemleak.txt)" = 0
exit 0
