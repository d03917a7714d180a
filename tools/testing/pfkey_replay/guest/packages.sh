#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Inside the VM, on Debian's stock kernel with /usr writable: the two Debian
# packages as a user installs them. DKMS builds af_key for this kernel when
# pfkey-replay-dkms is installed, modprobe then loads ours, sareplay finds
# the extension; removing the package brings Debian's af_key back. Then
# `make install` from this repository, as the README tells a user without
# the packages, and its removal by hand.
# Usage: packages.sh LABEL DEB_DIR
#   LABEL: packages (Debian 12: the host's root) or trixie-packages (Debian
#   13: trixie-userland.sh's root, packages built in it)
set -u
label=$1 debs=$2
repo=$(cd "$(dirname "$0")/../../../.." && pwd)
. "$(dirname "$0")/lib.sh"
guest_start
: >$tap
export DEBIAN_FRONTEND=noninteractive
kver=$(uname -r)
version=$(dpkg-deb -f "$debs"/pfkey-replay-dkms_*.deb Version)
modprobe=/usr/sbin/modprobe
check() { tap_check $label "$@" | tee -a $tap; }

# COMMAND within SECONDS, its output in /run/results/NAME.log.
# Usage: logged NAME SECONDS COMMAND...
logged() {
	local name=$1 limit=$2
	shift 2
	timeout -k 5 "$limit" "$@" >"$results/$name.log" 2>&1
}
# Whether af_key, loaded fresh, is the module at PATH (by srcversion).
loads() {
	/usr/sbin/rmmod af_key 2>/dev/null
	$modprobe af_key &&
		[ "$(/usr/sbin/modinfo -n af_key)" = "$1" ] &&
		[ "$(cat /sys/module/af_key/srcversion)" = "$(/usr/sbin/modinfo -F srcversion "$1")" ]
}
probe_says() {
	[ "$(sareplay --json probe 2>>"$results/probe.log" | tee -a "$results/probe.log" |
	     jq -r .backend)" = "$1" ]
}
dkms_has() { dkms status "pfkey-replay/$version" -k "$kver" | grep -q ": installed"; }
stock=/lib/modules/$kver/kernel/net/key/af_key.ko
ours=/lib/modules/$kver/updates/dkms/af_key.ko
[ -e $stock ] || stock=$stock.xz

$modprobe -a drbg jitterentropy_rng sha3_generic xfrm_user 2>/dev/null
check stock_af_key_before loads $stock
# The DKMS build (linux-source's af_key.c, patched) runs in the postinst:
# about 2 minutes here, most of it unpacking af_key.c from the tarball.
check dkms_package_installs logged dkms-install 600 dpkg -i "$debs"/pfkey-replay-dkms_*.deb
check dkms_built_for_this_kernel dkms_has
# DKMS compresses as the kernel's own modules are (Debian 13's: xz).
[ -e $ours ] || ours=$ours.xz
check modprobe_loads_ours loads "$ours"
check tools_package_installs logged tools-install 120 dpkg -i "$debs"/pfkey-replay-tools_*.deb
check sareplay_finds_the_extension probe_says pfkey
check example_config_parses safailover check-config \
	/usr/share/doc/pfkey-replay-tools/examples/safailover.toml.example
check man_pages_installed man -w sareplay safailover
check unit_verifies systemd-analyze verify /lib/systemd/system/safailover.service
check unit_not_enabled test ! -e /etc/systemd/system/multi-user.target.wants/safailover.service
check dkms_package_removes logged dkms-remove 300 dpkg -r pfkey-replay-dkms
check dkms_forgets_it sh -c "! dkms status pfkey-replay | grep -q ."
check stock_af_key_after_removal loads $stock
check sareplay_falls_back_to_netlink probe_says netlink
# make install: module.sh's cache in a new directory (the host's own may
# show through the overlays), the module into updates/, depmod; sareplay
# (still installed) finds the extension in it.
PFKEY_REPLAY_CACHE=$(mktemp -d)
export PFKEY_REPLAY_CACHE
check make_install_builds_and_installs logged make-install 600 make -C "$repo" install
check modprobe_loads_make_install loads /lib/modules/$kver/updates/af_key.ko
check sareplay_finds_make_install probe_says pfkey
rm -f /lib/modules/$kver/updates/af_key.ko
/usr/sbin/depmod -a "$kver"
check stock_af_key_after_uninstall loads $stock
check tools_package_removes logged tools-remove 120 dpkg -r pfkey-replay-tools
check tools_gone test ! -e /usr/bin/sareplay -a ! -e /usr/sbin/safailover
