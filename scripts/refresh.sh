#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The way back from a kernel tree to patches/: after editing the series as
# git commits (e.g. a clone of the tree series.sh prints, changed with
# "git rebase -i base" and fixups), regenerate each patches/NAME.diff and
# NAME.msg from its commit and copy NAME.files back into this repository.
# A 6.12 tree (its Makefile says which) writes patches/6.12/NAME.diff, and
# only where 6.1's NAME.diff does not give the commit as it is; the new
# files and the messages are one copy for both kernels.
# Usage: refresh.sh TREE   (TREE's commits base..HEAD are the series, in order)
. "$(dirname "$0")/lib.sh"

tree=$(cd "${1:?usage: refresh.sh TREE}" && pwd)
v=$(series_of "$(awk '$1 == "VERSION" { v = $3 } $1 == "PATCHLEVEL" { p = $3 }
	$1 == "SUBLEVEL" { print v "." p "." $3; exit }' "$tree/Makefile")")
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

# Usage: applies_as_is COMMIT DIFF PATHSPEC...: DIFF applied to COMMIT's
# parent, as series.sh applies it, gives COMMIT within PATHSPEC.
applies_as_is() {
	local c=$1 diff=$2 index result
	shift 2
	[ -f "$diff" ] || return 1
	index=$(mktemp)
	GIT_INDEX_FILE=$index git -C "$tree" read-tree "$c~1" &&
		GIT_INDEX_FILE=$index git -C "$tree" apply --cached "$diff" 2>/dev/null &&
		result=$(GIT_INDEX_FILE=$index git -C "$tree" write-tree)
	rm -f "$index"
	[ -n "${result:-}" ] && git -C "$tree" diff --quiet "$result" "$c" -- "$@"
}

# Usage: write_diff NAME COMMIT PATHSPEC...: NAME's hunks for this tree's
# kernel, from the new diff in patches/NAME.diff.new.
write_diff() {
	local name=$1 c=$2 new=$REPO/patches/$1.diff.new
	local default=$REPO/patches/$1.diff own=$REPO/patches/$v/$1.diff
	shift 2
	if [ "$v" = 6.1 ]; then
		own=$default
	elif [ ! -s "$new" ] && [ -f "$default" ]; then
		rm -f "$new"
		die "$name has no hunks on $v but has on 6.1: patch_diff cannot say that"
	elif applies_as_is "$c" "$default" "$@"; then
		rm -f "$new" "$own"
		return
	fi
	if [ -s "$new" ]; then
		mkdir -p "$(dirname "$own")"
		mv "$new" "$own"
	else
		rm -f "$new" "$own"
	fi
}

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
	# Blob names of one length for both trees (git's default grows with a
	# repository's object count).
	git -C "$tree" diff --abbrev=9 -M "$c~1" "$c" -- . "${excludes[@]}" >"$p.diff.new"
	write_diff "$name" "$c" . "${excludes[@]}"
	git -C "$tree" log -1 --format=%B "$c" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' >"$p.msg"
done
log "patches/ refreshed from $tree ($v); review with git diff"
