#!/bin/bash
# Inside the VM, on the hardened kernel (KASAN, UBSAN, lockdep, kmemleak):
# the kselftest with a longer DUMP-vs-NEWAE stress, the PF_KEY fuzzer as
# root and as an unprivileged user in its own user namespace, ESP still
# flowing after it, then the kernel's own verdict: no sanitizer, lockdep or
# kmemleak report. TAP to /run/results/tap.txt.
# Usage: hardened-guest.sh SELFTEST_DIR   (pfkey_replay, pfkey_fuzz; selftest.sh)
set -u
bin=$1 fuzz=$1/pfkey_fuzz
tap=/run/results/tap.txt
here=$(dirname "$0")
ip=/usr/sbin/ip
: >$tap

check() {
	local name=$1
	shift
	if "$@"; then echo "ok $name"; else echo "not ok $name"; fi | tee -a $tap
}

mount -t debugfs none /sys/kernel/debug 2>/dev/null

PFKEY_REPLAY_STRESS_SECONDS=${PFKEY_REPLAY_STRESS_SECONDS:-30} \
	"$bin/pfkey_replay.sh" 2>&1 | tee -a $tap

# ESP between ns1 and ns2 on the SPIs the fuzzer leaves alone, the fuzzer
# in ns1, then ESP again.
esp_and_fuzz() {
	local key=0x00112233445566778899aabbccddeeff01020304 ns
	for ns in ns1 ns2; do
		$ip -n $ns xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp \
			spi 0x1001 mode transport aead 'rfc4106(gcm(aes))' $key 128 \
			replay-window 32 || return 1
		$ip -n $ns xfrm state add src 10.0.0.2 dst 10.0.0.1 proto esp \
			spi 0x2001 mode transport aead 'rfc4106(gcm(aes))' $key 128 \
			replay-window 32 || return 1
	done
	$ip -n ns1 xfrm policy add src 10.0.0.1 dst 10.0.0.2 dir out tmpl proto esp mode transport
	$ip -n ns1 xfrm policy add src 10.0.0.2 dst 10.0.0.1 dir in tmpl proto esp mode transport
	$ip -n ns2 xfrm policy add src 10.0.0.2 dst 10.0.0.1 dir out tmpl proto esp mode transport
	$ip -n ns2 xfrm policy add src 10.0.0.1 dst 10.0.0.2 dir in tmpl proto esp mode transport
	$ip netns exec ns1 ping -q -c 3 -i 0.2 -W 2 10.0.0.2 >/dev/null &&
		echo "ok hardened.esp_before_fuzz" || echo "not ok hardened.esp_before_fuzz"
	timeout 900 $ip netns exec ns1 "$fuzz" "${PFKEY_FUZZ_COUNT:-100000}" 1 ||
		echo "# fuzzer as root exited $?"
	# Any user may own a network namespace: the same paths, unprivileged.
	timeout 300 setpriv --reuid=65534 --regid=65534 --clear-groups \
		unshare -Urn "$fuzz" "${PFKEY_FUZZ_USERNS_COUNT:-20000}" 2 |
		sed 's/fuzz\./fuzz.userns./'
	$ip netns exec ns1 ping -q -c 3 -i 0.2 -W 2 10.0.0.2 >/dev/null &&
		echo "ok hardened.esp_after_fuzz" || echo "not ok hardened.esp_after_fuzz"
}
export -f esp_and_fuzz
export ip fuzz
PFKEY_REPLAY_BIN="bash -c esp_and_fuzz" "$bin/pfkey_replay.sh" 2>&1 | tee -a $tap

# The kernel's verdict, after two kmemleak scans (objects must be seen
# unreferenced twice).
for _ in 1 2; do echo scan >/sys/kernel/debug/kmemleak 2>/dev/null; done
leaks=$(grep -c '^unreferenced object' /sys/kernel/debug/kmemleak 2>/dev/null || echo 0)
[ -e /sys/kernel/debug/kmemleak ] || leaks=unavailable
dmesg >/run/results/dmesg.txt
report() { grep -cE "$1" /run/results/dmesg.txt; }
check hardened.no_kasan_reports test "$(report 'BUG: KASAN')" = 0
check hardened.no_ubsan_reports test "$(report 'UBSAN:')" = 0
check hardened.no_lockdep_reports test "$(report 'possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage')" = 0
check hardened.no_sleep_in_atomic test "$(report 'BUG: sleeping function called from invalid context|scheduling while atomic')" = 0
check hardened.no_warnings_or_oopses test "$(report 'WARNING:|Oops|general protection fault|divide error')" = 0
check hardened.no_kmemleak_reports test "$leaks" = 0
cat /sys/kernel/debug/kmemleak >/run/results/kmemleak.txt 2>/dev/null
exit 0
