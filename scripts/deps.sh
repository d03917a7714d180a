#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install the Debian packages the build, the VM and the tests use. Cheap when
# everything is there already.
. "$(dirname "$0")/lib.sh"

packages=(linux-image-amd64 linux-headers-amd64 linux-source-6.1
	qemu-system-x86 busybox-static ccache gcc make bc flex bison libelf-dev
	libssl-dev dwarves cpio kmod iproute2 iputils-ping rsync xz-utils git
	python3 python3-ply python3-git sparse
	g++ cmake libgtest-dev clang libclang-rt-14-dev libcli11-dev
	nlohmann-json3-dev jq libbenchmark-dev libmnl-dev
	libtoml11-dev libcpp-httplib-dev keepalived openssl tcpdump
	debhelper dh-dkms dkms pkgconf systemd man-db
	strongswan-charon strongswan-swanctl libcharon-extra-plugins iputils-arping
	nftables libnftables-dev mmdebstrap)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing ${missing[*]}"
	[ "$(id -u)" = 0 ] || die "need root to install: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
# The meta packages move on; the image must come with its headers.
stock_kver >/dev/null
