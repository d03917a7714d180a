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

# ESP between ns1 and ns2 on the SPIs pfkey_fuzz leaves alone, the fuzzer in
# ns1 and, unprivileged, in a namespace of its own, then ESP again. Runs
# inside ns-pair.sh's namespaces.
cat >/tmp/esp_and_fuzz <<'EOF'
#!/bin/bash
ip=/usr/sbin/ip fuzz=$1
key=0x00112233445566778899aabbccddeeff01020304
ping_ok() { $ip netns exec ns1 ping -q -c 3 -i 0.2 -W 2 10.0.0.2 >/dev/null; }
for ns in ns1 ns2; do
	$ip -n $ns xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1001 \
		mode transport aead 'rfc4106(gcm(aes))' $key 128 replay-window 32
	$ip -n $ns xfrm state add src 10.0.0.2 dst 10.0.0.1 proto esp spi 0x2001 \
		mode transport aead 'rfc4106(gcm(aes))' $key 128 replay-window 32
done
# Templates name their SPI: the fuzzer adds ESP SAs between the same
# addresses, and a template without one lets output pick any of them.
for p in "ns1 10.0.0.1 10.0.0.2 out 0x1001" "ns1 10.0.0.2 10.0.0.1 in 0x2001" \
	 "ns2 10.0.0.2 10.0.0.1 out 0x2001" "ns2 10.0.0.1 10.0.0.2 in 0x1001"; do
	set -- $p
	$ip -n $1 xfrm policy add src $2 dst $3 dir $4 tmpl proto esp spi $5 mode transport
done
ping_ok && echo "ok hardened.esp_before_fuzz" || echo "not ok hardened.esp_before_fuzz"
# Bounded in time as well as count: under KASAN and TCG 100,000 messages
# took more than the step's 1200 s.
$ip netns exec ns1 "$fuzz" "${PFKEY_FUZZ_COUNT:-100000}" 1 600
# Any user may own a network namespace: the same paths, unprivileged.
# From /tmp: nobody cannot reach the build cache under /root. Its errors
# go to the log; checks it never printed count as missing.
install -m 755 "$fuzz" /tmp/pfkey_fuzz_userns
setpriv --reuid=65534 --regid=65534 --clear-groups unshare -Urn \
	/tmp/pfkey_fuzz_userns "${PFKEY_FUZZ_USERNS_COUNT:-20000}" 2 300 2>&1 |
	sed 's/ fuzz\./ fuzz.userns./'
status=${PIPESTATUS[0]}
[ "$status" = 0 ] || echo "# the unprivileged fuzzer exited with status $status"
ping_ok && echo "ok hardened.esp_after_fuzz" || echo "not ok hardened.esp_after_fuzz"
EOF
chmod +x /tmp/esp_and_fuzz
step fuzz 1200 tap "$(dirname "$0")/ns-pair.sh" /tmp/esp_and_fuzz "$bin/pfkey_fuzz"

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
