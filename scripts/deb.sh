#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the Debian packages with Debian's own tooling (debian/: debhelper,
# dh-dkms): pfkey-replay-dkms (the module's source for DKMS) and
# pfkey-replay-tools (sareplay, safailover, man pages, the systemd unit, an
# example configuration), from the files git tracks, as they are in the
# work tree. Prints the paths of the two packages.
# Usage: deb.sh [OUTDIR]   (default: build/deb)
. "$(dirname "$0")/lib.sh"

out=${1:-$REPO/build/deb}
work=$CACHE/deb
version=$(dpkg-parsechangelog -l "$REPO/debian/changelog" -S Version)
dkms_version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$REPO/dkms.conf")
# DKMS finds the source in /usr/src/pfkey-replay-VERSION by dkms.conf's.
[ "$dkms_version" = "${version%%-*}" ] ||
	die "dkms.conf says version $dkms_version, debian/changelog $version: make them agree"

rm -rf "$work"
mkdir -p "$work/src" "$out"
(cd "$REPO" && git ls-files -z -co --exclude-standard) |
	rsync -a --from0 --files-from=- "$REPO/" "$work/src/"
log "building pfkey-replay $version packages"
# CMake takes its compiler launcher from the environment.
(cd "$work/src" && CMAKE_CXX_COMPILER_LAUNCHER=ccache \
	dpkg-buildpackage -us -uc -b -j"$JOBS" >"$work/build.log" 2>&1) ||
	die "dpkg-buildpackage failed: $(tail -n 20 "$work/build.log")"
for p in pfkey-replay-dkms_"${version}"_all pfkey-replay-tools_"${version}"_amd64; do
	cp "$work/$p.deb" "$out/"
	echo "$out/$p.deb"
done
