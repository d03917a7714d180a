#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The way back from a kernel tree to patches/: after editing the series as
# git commits (e.g. a clone of the tree series.sh prints, changed with
# "git rebase -i base" and fixups), regenerate each patches/NAME.diff and
# NAME.msg from its commit and copy NAME.files back into this repository.
# Usage: refresh.sh TREE   (TREE's commits base..HEAD are the series, in order)
. "$(dirname "$0")/lib.sh"

tree=$(cd "${1:?usage: refresh.sh TREE}" && pwd)
mapfile -t names < <(grep -v '^$' "$REPO/patches/series")
mapfile -t commits < <(git -C "$tree" rev-list --reverse base..HEAD)
[ ${#names[@]} -eq ${#commits[@]} ] ||
	die "$tree has ${#commits[@]} commits over base, the series ${#names[@]}"

# Check everything before writing anything.
for i in "${!names[@]}"; do
	p=$REPO/patches/${names[$i]}
	[ -f "$p.files" ] || continue
	while read -r f; do
		git -C "$tree" diff --quiet "${commits[$i]}" HEAD -- "$f" ||
			die "$f is added by ${names[$i]} and changed by a later commit"
		# Never overwrite work here that the tree does not have.
		if ! git -C "$REPO" diff --quiet HEAD -- "$f" &&
		   ! git -C "$tree" show "HEAD:$f" | cmp -s - "$REPO/$f"; then
			die "$f has uncommitted changes here that $tree lacks"
		fi
	done <"$p.files"
done

for i in "${!names[@]}"; do
	name=${names[$i]} c=${commits[$i]} p=$REPO/patches/${names[$i]}
	excludes=()
	if [ -f "$p.files" ]; then
		while read -r f; do
			# The repository keeps one copy: the series' last word on it.
			git -C "$tree" show "$c:$f" >"$REPO/$f"
			excludes+=(":(exclude)$f")
		done <"$p.files"
	fi
	git -C "$tree" diff -M "$c~1" "$c" -- . "${excludes[@]}" >"$p.diff.new"
	if [ -s "$p.diff.new" ]; then
		mv "$p.diff.new" "$p.diff"
	else
		rm -f "$p.diff.new" "$p.diff"
	fi
	git -C "$tree" log -1 --format=%B "$c" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' >"$p.msg"
done
log "patches/ refreshed from $tree; review with git diff"
