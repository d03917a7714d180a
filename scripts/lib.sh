# SPDX-License-Identifier: GPL-2.0
# Shared by the pfkey_replay build and test scripts; sourced, not run.

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCRIPTS="$REPO/scripts"
HARNESS="$REPO/tools/testing/pfkey_replay"
CACHE=${PFKEY_REPLAY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pfkey-replay}
export CCACHE_DIR=${CCACHE_DIR:-$CACHE/ccache}
JOBS=${PFKEY_JOBS:-$(( $(nproc) + 1 ))}
mkdir -p "$CACHE"

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Newest installed Debian 6.1 image that also has its headers.
stock_kver() {
	local v kver=""
	for v in $(ls /boot | sed -n 's/^vmlinuz-\(6\.1\..*\)$/\1/p' | sort -V); do
		[ -d "/lib/modules/$v/build" ] && kver=$v
	done
	[ -n "$kver" ] || die "no linux-image 6.1 with headers installed (run deps.sh)"
	echo "$kver"
}

# What `make module` / `make install` build for: the running kernel when it
# is a 6.1 or 6.12 with its headers (Debian 12 or 13), else stock_kver.
target_kver() {
	local k
	k=$(uname -r)
	case $k in
	6.1.* | 6.12.*) [ -d "/lib/modules/$k/build" ] && echo "$k" && return ;;
	esac
	stock_kver
}

# The kernel series a kernel release belongs to: 6.1 (Debian 12) or 6.12
# (Debian 13). patches/ serves both; patches/6.12/NAME.diff replaces
# patches/NAME.diff where 6.12's hunks differ (patch_diff).
series_of() {
	case $1 in
	6.1.*) echo 6.1 ;;
	6.12.*) echo 6.12 ;;
	*) die "kernel $1 is neither 6.1 nor 6.12, the two this project supports" ;;
	esac
}

# Usage: patch_diff NAME SERIES; prints the diff of patch NAME for SERIES
# (which may not exist: a patch of new files alone has none).
patch_diff() {
	local d=$REPO/patches/$2/$1.diff
	[ "$2" != 6.1 ] && [ -f "$d" ] || d=$REPO/patches/$1.diff
	echo "$d"
}

# linux-source-SERIES (default 6.1): the installed package's tarball, or
# for 6.12 on a Debian 12 host the one trixie.sh fetched.
source_tarball() {
	local v=${1:-6.1} t
	t=$(ls /usr/src/linux-source-"$v".tar.* \
		"$CACHE"/trixie/root/usr/src/linux-source-"$v".tar.* 2>/dev/null | head -n1)
	[ -n "$t" ] || die "linux-source-$v is not there (deps.sh installs 6.1, trixie.sh fetches 6.12)"
	echo "$t"
}

# Pristine linux-source-SERIES (default 6.1), unpacked once per tarball.
pristine_tree() {
	local v=${1:-6.1} t stamp dir
	dir=$CACHE/linux-source-$v
	t=$(source_tarball "$v")
	stamp=$(stat -c '%s-%Y' "$t")
	if [ "$(cat "$dir.stamp" 2>/dev/null)" != "$stamp" ]; then
		log "unpacking $t"
		rm -rf "$dir"
		tar -C "$CACHE" -xf "$t"
		echo "$stamp" >"$dir.stamp"
	fi
	echo "$dir"
}

# What the module needs of linux-source-SERIES: its top Makefile and
# net/key/af_key.c. The unpacked tree when there is one; else only those
# two files, so that a DKMS build does not put 1.5 GB on a small machine.
module_source() {
	local v=${1:-6.1} t stamp dir
	t=$(source_tarball "$v")
	stamp=$(stat -c '%s-%Y' "$t")
	dir=$CACHE/linux-source-$v
	if [ "$(cat "$dir.stamp" 2>/dev/null)" = "$stamp" ]; then
		echo "$dir"
		return
	fi
	dir=$CACHE/af_key-source-$v
	if [ "$(cat "$dir.stamp" 2>/dev/null)" != "$stamp" ]; then
		log "taking af_key.c from $t"
		rm -rf "$dir"
		mkdir -p "$dir"
		tar -C "$dir" --strip-components=1 -xf "$t" \
			"linux-source-$v/Makefile" "linux-source-$v/net/key/af_key.c"
		echo "$stamp" >"$dir.stamp"
	fi
	echo "$dir"
}

# Hash of the repository files a build depends on, to skip unchanged work.
inputs_hash() {
	(cd "$REPO" && git ls-files -co --exclude-standard "$@" | sort |
		xargs -r sha1sum) | sha1sum | cut -c1-16
}

# A CMake build directory for this checkout's tools/: CMake refuses one
# configured for another source directory, and CI clones anew each run.
cmake_dir() {
	local dir=$CACHE/$1
	if [ -f "$dir/CMakeCache.txt" ] && ! grep -qx \
		"CMAKE_HOME_DIRECTORY:INTERNAL=$REPO/tools" "$dir/CMakeCache.txt"; then
		rm -rf "$dir"
	fi
	echo "$dir"
}
