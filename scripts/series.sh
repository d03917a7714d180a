#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Turn patches/ into a git branch on top of linux-source-6.1 (or, with
# PFKEY_SERIES=6.12, linux-source-6.12 and patches/6.12/'s hunks where they
# differ) and a git-format-patch series. Each patches/NAME is a commit: NAME.msg is its
# message, NAME.diff its hunks to upstream files, NAME.files the files of
# this repository it adds. The branch is also the patched tree the kernel
# and KUnit builds use.
# Usage: series.sh [OUTDIR]; prints the tree's path.
. "$(dirname "$0")/lib.sh"

out=${1:-}
v=${PFKEY_SERIES:-6.1}
case $v in
6.1) tree=$CACHE/tree series=$CACHE/series ;;
6.12) tree=$CACHE/trixie/tree series=$CACHE/trixie/series
	# On a Debian 12 host linux-source-6.12 comes with trixie.sh.
	ls /usr/src/linux-source-6.12.tar.* >/dev/null 2>&1 ||
		"$SCRIPTS/trixie.sh" >/dev/null ;;
*) die "PFKEY_SERIES is 6.1 or 6.12, not $v" ;;
esac
stamp=$(inputs_hash patches include net tools/testing/selftests Documentation \
	scripts/series.sh)

if [ ! -d "$tree/.git" ]; then
	log "making a git tree of linux-source-$v (once)"
	rm -rf "$tree"
	mkdir -p "$(dirname "$tree")"
	cp -a "$(pristine_tree "$v")" "$tree"
	git -C "$tree" init -q
	git -C "$tree" add -A -f
	git -C "$tree" -c user.name=linux-source -c user.email=linux-source@debian \
		commit -qm "linux-source-$v as shipped by Debian"
	git -C "$tree" tag base
fi

if [ "$(cat "$series.stamp" 2>/dev/null)" != "$stamp" ]; then
	log "applying patches/ to linux-source-$v"
	author=$(git -C "$REPO" log -1 --format='%an <%ae>' 2>/dev/null ||
		echo 'pfkey-replay <pfkey-replay@localhost>')
	git -C "$tree" checkout -q -f -B replay base
	git -C "$tree" clean -qfdx -e '.git'
	while read -r name; do
		[ -n "$name" ] || continue
		p=$REPO/patches/$name
		diff=$(patch_diff "$name" "$v")
		if [ -f "$diff" ]; then
			git -C "$tree" apply --index "$diff" ||
				die "${diff#"$REPO/"} does not apply to linux-source-$v"
		fi
		if [ -f "$p.files" ]; then
			while read -r f; do
				mkdir -p "$tree/$(dirname "$f")"
				cp "$REPO/$f" "$tree/$f"
				git -C "$tree" add -f "$f"
			done <"$p.files"
		fi
		git -C "$tree" -c user.name="${author% <*}" \
			-c user.email="$(echo "$author" | sed 's/.*<\(.*\)>/\1/')" \
			commit -q -F "$p.msg" || die "$name: nothing to commit"
	done <"$REPO/patches/series"
	rm -rf "$series"
	git -C "$tree" format-patch -q -M -o "$series" base..replay
	# What users get must git-am onto pristine linux-source-$v as is.
	git -C "$tree" checkout -q -B am-check base
	git -C "$tree" am -q "$series"/*.patch || die "the series does not git-am"
	git -C "$tree" diff --quiet replay am-check || die "git am gave another tree"
	git -C "$tree" checkout -q replay
	echo "$stamp" >"$series.stamp"
fi

if [ -n "$out" ]; then
	mkdir -p "$out"
	cp "$series"/*.patch "$out/"
fi
echo "$tree"
