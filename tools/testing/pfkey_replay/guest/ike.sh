#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Inside the VM: the kernel side of one IKE run, then ike-test.sh twice:
# with safailover (sa_owner = "ike") and the baseline, strongSwan's HA
# alone. Its TAP goes to /run/results/tap.txt.
# Usage: ike.sh module|netlink BUILD_DIR [MODULE.ko]
#   module: Debian's kernel with our af_key.ko, safailover over the PF_KEY
#   extension (checks ike.pfkey.*); netlink: Debian's kernel and its own
#   af_key, safailover over XFRM netlink (ike.netlink.*).
set -u
side=$1 build=$2 ko=${3:-}
here=$(dirname "$0")
. "$here/lib.sh"
guest_start

: >$tap
/usr/sbin/modprobe -a drbg jitterentropy_rng sha3_generic esp4 xfrm_user gcm aes seqiv \
	echainiv bridge veth 2>/dev/null
if [ "$side" = module ] && ! /usr/sbin/insmod "$ko"; then
	record_failure "insmod $ko failed"
	exit 1
fi
backend=pfkey
[ "$side" = module ] || backend=netlink
# Each run took 2 minutes on an idle machine (see the "# step" lines).
step "ike.$backend" 480 tap "$here/ike-test.sh" "$build" $backend auto $backend safailover
step "ike.$backend.baseline" 480 tap "$here/ike-test.sh" "$build" $backend auto $backend baseline
