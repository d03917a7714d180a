#!/bin/bash
# Inside the VM: the kernel side of one failover run, then failover-test.sh,
# its TAP going to /run/results/tap.txt.
# Usage: failover-guest.sh module|patched|netlink BUILD_DIR [MODULE.ko]
# With FAILOVER_BENCH=SAS, runs failover-bench.sh with that many SAs instead.
#   module: Debian's kernel with our af_key.ko (PF_KEY extension);
#   patched: our kernel; netlink: Debian's kernel, its own af_key.
set -u
tier=$1 build=$2 ko=${3:-}
here=$(dirname "$0")
modprobe=/usr/sbin/modprobe

$modprobe -a drbg jitterentropy_rng sha3_generic esp4 xfrm_user cbc aes hmac \
	sha256 authenc echainiv seqiv bridge veth 2>/dev/null
if [ "$tier" = module ]; then
	/usr/sbin/insmod "$ko" || { echo "not ok failover.module.loaded" >/run/results/tap.txt; exit 1; }
fi
: >/run/results/tap.txt
if [ -n "${FAILOVER_BENCH:-}" ]; then
	"$here/failover-bench.sh" "$build" "$FAILOVER_BENCH" 2>&1 | tee /run/results/tap.txt
	exit
fi
backend=auto expected=pfkey
[ "$tier" != netlink ] || expected=netlink
"$here/failover-test.sh" "$build" "$tier" $backend $expected 2>&1 |
	tee /run/results/tap.txt
