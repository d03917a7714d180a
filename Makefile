# SPDX-License-Identifier: GPL-2.0
#
# PF_KEY replay-state failover: kernel patch series, out-of-tree af_key
# module for Debian's stock 6.1 kernel, and the QEMU test bed.
# (scripts/module.sh stages the module's sources with scripts/module/Kbuild
# and builds there: kbuild never reads this file.)

RUN := tools/testing/pfkey_replay/run
# lib.sh is bash; make's shell is /bin/sh (dash on Debian).
KVER ?= $(shell bash -c '. scripts/lib.sh && target_kver')

.PHONY: demo test bench fuzz deps deb module install dkms patches apply refresh tools kernel kunit checkpatch

demo:			## the stock Debian kernel in QEMU, with the module
	$(RUN) demo

test:			## the default tiers: style, kunit, module, patched, netlink, userspace, failover, ike, packages, harness
	$(RUN) test

bench:			## ESP rate and notification cost, side by side
	$(RUN) bench

fuzz:			## the parsers under libFuzzer, FUZZ_SECONDS (600) each
	$(RUN) fuzz

deps:
	$(RUN) deps

deb:			## Debian packages (DKMS module, tools) into build/deb
	scripts/deb.sh

module:			## build af_key.ko for $(KVER)
	scripts/module.sh $(KVER)

install: module		## install af_key.ko into updates/ of $(KVER)
	@[ -n "$(KVER)" ] || { echo "error: which kernel? (KVER=...)" >&2; exit 1; }
	install -D -m 0644 "$$(scripts/module.sh $(KVER))" \
		$(DESTDIR)/lib/modules/$(KVER)/updates/af_key.ko
	[ -n "$(DESTDIR)" ] || depmod -a $(KVER)

dkms:			## what dkms.conf runs: af_key.ko into this directory
	cp "$$(PFKEY_REPLAY_CACHE="$${PFKEY_REPLAY_CACHE:-$(CURDIR)/.cache}" \
		scripts/module.sh $(KVER))" af_key.ko

patches:		## the series, git format-patch style, into build/patches
	$(RUN) patches build/patches

apply:			## apply the series to TREE=/path/to/linux-6.1
	scripts/apply.sh $(TREE)

refresh:		## patches/ from the edited series in TREE (commits over tag base)
	scripts/refresh.sh $(TREE)

tools:			## the C++ library and sareplay, into build/tools
	cmake -S tools -B build/tools -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build build/tools -j

kernel:			## the patched x86_64 test kernel
	scripts/kernel.sh

kunit:
	$(RUN) test kunit

checkpatch:		## checkpatch.pl --strict over the generated series
	scripts/checkpatch.sh
