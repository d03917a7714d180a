#!/bin/bash
# Inside the VM: prepare the kernel side of one tier and run the selftest,
# its TAP output going to /run/results/tap.txt.
# Usage: guest-tier.sh module|patched SELFTEST_DIR [MODULE.ko]
set -u
tier=$1 bin=$2 ko=${3:-}
modprobe=/usr/sbin/modprobe
kver=$(uname -r)

# IV generation and the algorithms the tests use (built in on the patched
# kernel, where modprobe has nothing to do).
$modprobe -a drbg jitterentropy_rng sha3_generic esp4 esp6 xfrm_user \
	gcm aes cbc hmac sha256 authenc seqiv echainiv 2>/dev/null

if [ "$tier" = module ]; then
	# Install as DKMS would, into updates/, and let modprobe pick it.
	mkdir -p "/lib/modules/$kver/updates"
	cp "$ko" "/lib/modules/$kver/updates/af_key.ko"
	/usr/sbin/depmod -a
	$modprobe af_key || exit 1
	loaded=$(cat /sys/module/af_key/srcversion)
	built=$(/usr/sbin/modinfo -F srcversion "$ko")
	if [ "$loaded" != "$built" ]; then
		echo "not ok 1 af_key from updates/ is loaded" >/run/results/tap.txt
		exit 1
	fi
	echo "# af_key loaded from $(/usr/sbin/modinfo -n af_key)"
fi
"$bin/pfkey_replay.sh" 2>&1 | tee /run/results/tap.txt
exit "${PIPESTATUS[0]}"
