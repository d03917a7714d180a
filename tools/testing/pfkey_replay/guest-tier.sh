#!/bin/bash
# Inside the VM: prepare the kernel side of one tier and run its tests, the
# TAP output going to /run/results/tap.txt.
# Usage: guest-tier.sh module|patched|netlink SELFTEST_DIR [MODULE.ko]
#   module: Debian's kernel with our af_key.ko; patched: our kernel;
#   netlink: Debian's kernel and its own af_key, no extension (no selftest).
# Optional C++ tests, each run in ns1 of pfkey_replay.sh:
#   PFKEY_SOCKET_TEST   pfkey::Socket integration test binary
#   PFKEY_BACKEND_TEST  replay::Backend integration test binary, run once per
#                       backend in PFKEY_BACKENDS ("pfkey,netlink")
#   PFKEY_CLI           sareplay, driven by cli-test.sh per backend
#   PFKEY_PROBE_EXPECTS the backend "auto" must pick on this kernel
set -u
tier=$1 bin=$2 ko=${3:-}
HARNESS_DIR=$(dirname "$0")
modprobe=/usr/sbin/modprobe
kver=$(uname -r)

# IV generation and the algorithms the tests use (built in on the patched
# kernel, where modprobe has nothing to do).
$modprobe -a drbg jitterentropy_rng sha3_generic esp4 esp6 xfrm_user \
	gcm aes cbc hmac sha256 authenc seqiv echainiv 2>/dev/null

# A socket that never registers must see what Debian's af_key shows it.
legacy_bytes_match_stock() {
	local ip=/usr/sbin/ip tool=$bin/legacy_bytes
	local enc="enc cbc(aes) 0x00112233445566778899aabbccddeeff"
	local auth="auth-trunc hmac(sha256) 0x$(printf '%064d' 7) 128"

	$ip xfrm state add src 10.9.0.1 dst 10.9.0.2 proto esp spi 0x5005 \
		mode transport $enc $auth replay-window 32 || return 1
	$ip xfrm policy add src 10.9.0.1 dst 10.9.0.2 dir out \
		tmpl proto esp mode transport || return 1
	$modprobe af_key && $tool 0x5005 10.9.0.1 10.9.0.2 >/tmp/stock.bin &&
		/usr/sbin/rmmod af_key || return 1
	install_module || return 1
	$tool 0x5005 10.9.0.1 10.9.0.2 >/tmp/ours.bin || return 1
	$ip xfrm state flush
	$ip xfrm policy flush
	cmp /tmp/stock.bin /tmp/ours.bin &&
		echo "# $(stat -c %s /tmp/ours.bin) bytes identical"
}

# Install as DKMS would, into updates/, and let modprobe pick it.
install_module() {
	mkdir -p "/lib/modules/$kver/updates"
	cp "$ko" "/lib/modules/$kver/updates/af_key.ko"
	/usr/sbin/depmod -a
	$modprobe af_key || return 1
	[ "$(cat /sys/module/af_key/srcversion)" = \
	  "$(/usr/sbin/modinfo -F srcversion "$ko")" ] || return 1
	echo "# af_key loaded from $(/usr/sbin/modinfo -n af_key)"
}

: >/run/results/tap.txt
if [ "$tier" = module ]; then
	if legacy_bytes_match_stock; then
		echo "ok 1 legacy socket bytes match Debian's af_key"
	else
		echo "not ok 1 legacy socket bytes match Debian's af_key"
	fi | tee -a /run/results/tap.txt
	/usr/sbin/lsmod | grep -q '^af_key' || install_module || exit 1
fi
rc=0
if [ "$tier" != netlink ]; then
	"$bin/pfkey_replay.sh" 2>&1 | tee -a /run/results/tap.txt
	rc=${PIPESTATUS[0]}
fi

# Runs a GoogleTest binary in ns1; "[       OK ] X (N ms)" and
# "[  FAILED  ] X (N ms)" become TAP lines prefixed with @label.
gtest_in_ns1() {
	local label=$1 log=/run/results/$1.log
	shift
	PFKEY_REPLAY_BIN="/usr/sbin/ip netns exec ns1 $*" \
		"$bin/pfkey_replay.sh" 2>&1 | tee "$log" |
		sed -n "s/^\[       OK \] \([^ ]*\) (.*/ok $label.\1/p
			s/^\[  FAILED  \] \([^ ]*\) (.*/not ok $label.\1/p" |
		tee -a /run/results/tap.txt
	[ "${PIPESTATUS[0]}" = 0 ] || rc=1
	grep -q '^\[       OK \]\|^\[  FAILED  \]' "$log" ||
		echo "not ok $label tests ran" | tee -a /run/results/tap.txt
}

# pfkey::Socket's tests need the extension.
if [ -n "${PFKEY_SOCKET_TEST:-}" ] && [ "$tier" != netlink ]; then
	gtest_in_ns1 socket "$PFKEY_SOCKET_TEST"
fi

backends=${PFKEY_BACKENDS:-auto}
for backend in ${backends//,/ }; do
	[ -n "${PFKEY_BACKEND_TEST:-}" ] || break
	filter=
	[ "$tier" != netlink ] || filter=--gtest_filter=-BothBackendsAgree.*
	gtest_in_ns1 "$backend" env PFKEY_BACKEND="$backend" \
		PFKEY_PROBE_EXPECTS="${PFKEY_PROBE_EXPECTS:-}" \
		"$PFKEY_BACKEND_TEST" $filter
done

if [ -n "${PFKEY_CLI:-}" ]; then
	for backend in ${backends//,/ }; do
		if [ -x "$PFKEY_CLI" ]; then
			PFKEY_REPLAY_BIN="/usr/sbin/ip netns exec ns1 env PFKEY_PROBE_EXPECTS=${PFKEY_PROBE_EXPECTS:-} $HARNESS_DIR/cli-test.sh $PFKEY_CLI $backend" \
				"$bin/pfkey_replay.sh" 2>&1 | tee -a /run/results/tap.txt
		else
			echo "not ok sareplay exists: $PFKEY_CLI" | tee -a /run/results/tap.txt
		fi
	done
fi
exit "$rc"
