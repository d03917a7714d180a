// SPDX-License-Identifier: GPL-2.0
/*
 * A QEMU TCG plugin that counts the guest instructions executed and
 * publishes the running total for the guest to read: wall-clock rates
 * under TCG move by tens of percent with the host's load, instruction
 * counts repeat.
 *
 *   qemu-system-x86_64 -smp 1 -plugin insn_count.so,out=FILE ...
 *
 * Every translated block adds its instruction count to one counter when
 * it starts executing (inline, no helper call): exact at -smp 1, where a
 * single vCPU thread adds; with more vCPUs concurrent adds may be lost, so
 * the bench runs its VM with one. A block left early (an exception, an
 * interrupt) still counts whole: a few instructions per event.
 *
 * A thread writes the total to FILE, a decimal number and a newline,
 * every millisecond (to FILE.tmp, then renamed: a reader never sees half
 * a number). FILE lies in a directory the guest mounts over 9p without a
 * cache, so a reader sees a total at most about a millisecond old.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qemu_plugin_abi.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_ABI_VERSION;

static uint64_t executed;
static char *out, *out_tmp;
static pthread_t publisher;
static volatile int stopping;

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	(void)id;
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64,
						 &executed,
						 qemu_plugin_tb_n_insns(tb));
}

static void publish(void)
{
	/* An aligned 64-bit load is atomic on the hosts QEMU runs on. */
	uint64_t now = __atomic_load_n(&executed, __ATOMIC_RELAXED);
	FILE *f = fopen(out_tmp, "w");

	if (!f)
		return;
	fprintf(f, "%" PRIu64 "\n", now);
	if (fclose(f) == 0)
		rename(out_tmp, out);
}

static void *publish_loop(void *unused)
{
	const struct timespec period = { .tv_nsec = 1000 * 1000 };

	(void)unused;
	while (!stopping) {
		publish();
		nanosleep(&period, NULL);
	}
	return NULL;
}

static void at_exit(qemu_plugin_id_t id, void *unused)
{
	(void)id;
	(void)unused;
	stopping = 1;
	pthread_join(publisher, NULL);
	publish();
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
					   const qemu_info_t *info,
					   int argc, char **argv)
{
	(void)info;
	for (int i = 0; i < argc; i++)
		if (!strncmp(argv[i], "out=", 4))
			out = argv[i] + 4;
	if (!out || !*out) {
		fprintf(stderr, "insn_count: usage: -plugin insn_count.so,out=FILE\n");
		return -1;
	}
	if (asprintf(&out_tmp, "%s.tmp", out) < 0)
		return -1;
	if (pthread_create(&publisher, NULL, publish_loop, NULL)) {
		fprintf(stderr, "insn_count: cannot start its thread\n");
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
