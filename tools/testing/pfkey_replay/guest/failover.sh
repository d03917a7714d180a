#!/bin/bash
# Inside the VM: the kernel side of one failover run, then failover-test.sh,
# its TAP going to /run/results/tap.txt.
# Usage: guest/failover.sh module|patched|netlink BUILD_DIR [MODULE.ko]
# With FAILOVER_BENCH=SAS, runs failover-bench.sh with that many SAs instead.
#   module: Debian's kernel with our af_key.ko (PF_KEY extension);
#   patched: our kernel; netlink: Debian's kernel, its own af_key.
set -u
tier=$1 build=$2 ko=${3:-}
here=$(dirname "$0")
. "$here/lib.sh"
modprobe=/usr/sbin/modprobe
guest_start

: >$tap
$modprobe -a drbg jitterentropy_rng sha3_generic esp4 xfrm_user cbc aes hmac \
	sha256 authenc echainiv seqiv gcm ghash_generic ctr xfrm_interface bridge veth \
	2>/dev/null
if [ "$tier" = module ] && ! /usr/sbin/insmod "$ko"; then
	record_failure "insmod $ko failed"
	exit 1
fi
# Time limits: about twice what a run took while a kernel built beside the
# VM (see the "# step" line of tap.txt); the benchmark's is a guess.
if [ -n "${FAILOVER_BENCH:-}" ]; then
	step failover-bench 1500 tap "$here/failover-bench.sh" "$build" "$FAILOVER_BENCH"
	exit
fi
backend=auto expected=pfkey
[ "$tier" != netlink ] || expected=netlink
step "failover.$tier" 480 tap "$here/failover-test.sh" "$build" "$tier" $backend $expected
