#!/bin/bash
# Inside the VM: prepare the kernel side of one tier and run its tests, the
# TAP output going to /run/results/tap.txt, each step within a time limit
# (lib.sh).
# Usage: guest/tier.sh module|patched|netlink SELFTEST_DIR [MODULE.ko]
#   module: Debian's kernel with our af_key.ko; patched: our kernel;
#   netlink: Debian's kernel and its own af_key, no extension (no selftest).
# Optional C++ tests, each run in ns1 of ns-pair.sh:
#   PFKEY_SOCKET_TEST   pfkey::Socket integration test binary
#   PFKEY_BACKEND_TEST  replay::Backend integration test binary, run once per
#                       backend in PFKEY_BACKENDS ("pfkey,netlink")
#   PFKEY_CLI           sareplay, driven by cli-test.sh per backend
#   PFKEY_PROBE_EXPECTS the backend "auto" must pick on this kernel
#   PFKEY_GUEST_ONLY    instead of the tests, this command (a demo or bench
#                       script) in ns-pair.sh's namespaces, as step "only"
#                       within PFKEY_GUEST_ONLY_SECONDS (600)
# Exits non-zero only when the tier could not go on; failed checks and
# steps speak for themselves.
set -u
tier=$1 bin=$2 ko=${3:-}
HARNESS_DIR=$(dirname "$0")
. "$HARNESS_DIR/lib.sh"
modprobe=/usr/sbin/modprobe
kver=$(uname -r)
guest_start

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

: >$tap
if [ "$tier" = module ]; then
	if legacy_bytes_match_stock; then
		echo "ok 1 legacy socket bytes match Debian's af_key"
	else
		echo "not ok 1 legacy socket bytes match Debian's af_key"
	fi | tee -a $tap
	if ! /usr/sbin/lsmod | grep -q '^af_key' && ! install_module; then
		record_failure "af_key.ko from updates/ did not load"
		exit 1
	fi
fi
if [ -n "${PFKEY_GUEST_ONLY:-}" ]; then
	step only "${PFKEY_GUEST_ONLY_SECONDS:-600}" tap "$HARNESS_DIR/ns-pair.sh" $PFKEY_GUEST_ONLY
	exit
fi
# Time limits: about twice what each step took while another VM shared
# the 2 cores (see the "# step" lines of tap.txt): a hang is a named
# failure in a minute or two, and a loaded machine is not one.
if [ "$tier" != netlink ]; then
	step kselftest 900 tap "$bin/pfkey_replay.sh"
fi
# The series' NEWAE fixes to the xfrm core (0002: no window 0 for ESN SAs;
# 0003: new thresholds start a new period) are in the patched kernel only:
# Debian's fails this test (checked by hand).
if [ "$tier" = patched ]; then
	step xfrm_replay_period 60 tap "$bin/xfrm_replay_period"
fi

# Runs a GoogleTest binary in ns1 of ns-pair.sh.
# Usage: gtest_in_ns1 STEP LABEL SECONDS COMMAND...
gtest_in_ns1() {
	local name=$1 label=$2 limit=$3
	shift 3
	step "$name" "$limit" "gtest:$label" "$HARNESS_DIR/ns-pair.sh" \
		/usr/sbin/ip netns exec ns1 "$@"
}

# pfkey::Socket's tests need the extension.
if [ -n "${PFKEY_SOCKET_TEST:-}" ] && [ "$tier" != netlink ]; then
	gtest_in_ns1 socket socket 60 "$PFKEY_SOCKET_TEST"
fi

backends=${PFKEY_BACKENDS:-auto}
for backend in ${backends//,/ }; do
	[ -n "${PFKEY_BACKEND_TEST:-}" ] || break
	filter=
	[ "$tier" != netlink ] || filter=--gtest_filter=-BothBackendsAgree.*
	gtest_in_ns1 "backend.$backend" "$backend" 60 env PFKEY_BACKEND="$backend" \
		PFKEY_PROBE_EXPECTS="${PFKEY_PROBE_EXPECTS:-}" \
		"$PFKEY_BACKEND_TEST" $filter
done

if [ -n "${PFKEY_CLI:-}" ]; then
	for backend in ${backends//,/ }; do
		if [ -x "$PFKEY_CLI" ]; then
			step "cli.$backend" 90 tap "$HARNESS_DIR/ns-pair.sh" \
				/usr/sbin/ip netns exec ns1 \
				env PFKEY_PROBE_EXPECTS="${PFKEY_PROBE_EXPECTS:-}" \
				"$HARNESS_DIR/cli-test.sh" "$PFKEY_CLI" "$backend"
		else
			record_failure "sareplay is not executable: $PFKEY_CLI"
		fi
	done
fi
