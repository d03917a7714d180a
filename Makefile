# SPDX-License-Identifier: GPL-2.0
#
# PF_KEY replay-state failover: kernel patch series, out-of-tree af_key
# module for Debian's stock 6.1 kernel, and the QEMU test bed.
# (Kbuild, not this file, is what kbuild reads for the module itself.)

RUN := tools/testing/pfkey_replay/run
KVER ?= $(shell . tools/testing/pfkey_replay/lib.sh && target_kver)

.PHONY: demo test bench fuzz deps module install dkms patches apply refresh tools kernel kunit checkpatch

demo:			## the stock Debian kernel in QEMU, with the module
	$(RUN) demo

test:			## every tier: style, kunit, module, patched, netlink, userspace, failover, harness, trixie-module, trixie-patched, trixie-kunit
	$(RUN) test

bench:			## ESP rate and notification cost, side by side
	$(RUN) bench

fuzz:			## the parsers under libFuzzer, FUZZ_SECONDS (600) each
	$(RUN) fuzz

deps:
	$(RUN) deps

module:			## build af_key.ko for $(KVER)
	tools/testing/pfkey_replay/module.sh $(KVER)

install: module		## install af_key.ko into updates/ of $(KVER)
	install -D -m 0644 "$$(tools/testing/pfkey_replay/module.sh $(KVER))" \
		$(DESTDIR)/lib/modules/$(KVER)/updates/af_key.ko
	[ -n "$(DESTDIR)" ] || depmod -a $(KVER)

dkms:			## what dkms.conf runs: af_key.ko into this directory
	cp "$$(tools/testing/pfkey_replay/module.sh $(KVER))" af_key.ko

patches:		## the series, git format-patch style, into build/patches
	$(RUN) patches build/patches

apply:			## apply the series to TREE=/path/to/linux-6.1
	tools/testing/pfkey_replay/apply.sh $(TREE)

refresh:		## patches/ from the edited series in TREE (commits over tag base)
	tools/testing/pfkey_replay/refresh.sh $(TREE)

tools:			## the C++ library and sareplay, into build/tools
	cmake -S tools -B build/tools -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build build/tools -j

kernel:			## the patched x86_64 test kernel
	tools/testing/pfkey_replay/kernel.sh

kunit:
	$(RUN) test kunit

checkpatch:		## checkpatch.pl --strict over the generated series
	tools/testing/pfkey_replay/checkpatch.sh
