#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Apply the series to a kernel tree of yours (linux-source-6.1 or close):
# git am in a git tree, patch -p1 elsewhere.
# Usage: apply.sh TREE
. "$(dirname "$0")/lib.sh"

target=$(cd "${1:?usage: apply.sh TREE}" && pwd)
"$SCRIPTS/series.sh" >/dev/null
if git -C "$target" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$target" am "$CACHE"/series/*.patch
else
	# Each patch needs the previous ones, so only the first can be tried
	# dry; it catches a tree that has the series already, or another base.
	first=$(ls "$CACHE"/series/*.patch | head -n 1)
	patch -d "$target" -p1 --forward --quiet --dry-run <"$first" >/dev/null ||
		die "$(basename "$first") does not apply to $target: nothing changed"
	for p in "$CACHE"/series/*.patch; do
		patch -d "$target" -p1 --forward --quiet --reject-file=- <"$p" ||
			die "$(basename "$p") does not apply to $target"
	done
fi
log "applied $(ls "$CACHE"/series/*.patch | wc -l) patches to $target"
