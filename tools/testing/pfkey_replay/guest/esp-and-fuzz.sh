#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Inside the VM, in ns-pair.sh's namespaces on the hardened kernel: ESP
# between ns1 and ns2 on the SPIs pfkey_fuzz leaves alone, the fuzzer in
# ns1 and, unprivileged, in a namespace of its own, then ESP again.
# Usage: esp-and-fuzz.sh PFKEY_FUZZ
set -u
ip=/usr/sbin/ip fuzz=$1
. "$(dirname "$0")/lib.sh"
ping_ok() { $ip netns exec ns1 ping -q -c 3 -i 0.2 -W 2 10.0.0.2 >/dev/null; }
esp_pair_sas
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
