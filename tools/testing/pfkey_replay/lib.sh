# SPDX-License-Identifier: GPL-2.0
# Shared by the pfkey_replay build and test scripts; sourced, not run.

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
HARNESS="$REPO/tools/testing/pfkey_replay"
CACHE=${PFKEY_REPLAY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pfkey-replay}
export CCACHE_DIR=${CCACHE_DIR:-$CACHE/ccache}
JOBS=$(( $(nproc) + 1 ))
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

source_tarball() {
	local t
	t=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n1)
	[ -n "$t" ] || die "linux-source-6.1 is not installed (run deps.sh)"
	echo "$t"
}

# Pristine linux-source-6.1, unpacked once per tarball.
pristine_tree() {
	local t stamp dir=$CACHE/linux-source-6.1
	t=$(source_tarball)
	stamp=$(stat -c '%s-%Y' "$t")
	if [ "$(cat "$dir.stamp" 2>/dev/null)" != "$stamp" ]; then
		log "unpacking $t"
		rm -rf "$dir"
		tar -C "$CACHE" -xf "$t"
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
