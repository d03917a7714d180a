// SPDX-License-Identifier: GPL-2.0
/*
 * The demo's PF_KEY side: registers for replay notifications and prints
 * them, sets thresholds and replay state. Not a product CLI: just enough to
 * show the kernel extension at work.
 *   demo monitor NS SECONDS
 *   demo thresh NS SPI SRC DST N T_MS
 *   demo set-oseq NS SPI SRC DST OSEQ
 */
#define _GNU_SOURCE
#include <time.h>

#include "../../selftests/net/pfkey_replay_lib.h"

static const char *const causes[] = { "-", "count", "timer", "update" };

static void print_state(const char *what, const struct msg *m)
{
	const struct sadb_x_replay_thresh *t;
	const struct sadb_x_replay_state *st;
	const struct sadb_sa *sa;

	sa = msg_ext(m, SADB_EXT_SA);
	t = msg_ext(m, SADB_X_EXT_REPLAY_THRESH);
	st = msg_ext(m, SADB_X_EXT_REPLAY_STATE);
	if (!sa || !t || !st)
		return;
	printf("%-7s spi 0x%08x cause %-6s oseq %llu seq %llu window %u "
	       "bitmap 0x%08x N %u T %ums\n", what, ntohl(sa->sadb_sa_spi),
	       causes[st->sadb_x_replay_state_cause & 3],
	       (unsigned long long)st->sadb_x_replay_state_oseq,
	       (unsigned long long)st->sadb_x_replay_state_seq,
	       st->sadb_x_replay_state_window,
	       st->sadb_x_replay_state_window ?
			st->sadb_x_replay_state_bitmap[0] : 0,
	       t->sadb_x_replay_thresh_packets, t->sadb_x_replay_thresh_msecs);
	fflush(stdout);
}

static int monitor(int fd, int seconds)
{
	time_t end = time(NULL) + seconds;
	struct msg m;

	/* Registered already: guest/demo.sh sends traffic once it sees this. */
	printf("listening for replay notifications for %d s\n", seconds);
	fflush(stdout);
	while (time(NULL) < end)
		if (pfkey_recv(fd, &m, 200) == 1 &&
		    m.hdr.sadb_msg_type == SADB_X_REPLAY_NOTIFY)
			print_state("notify", &m);
	return 0;
}

static int set_replay(int fd, char **argv, bool oseq)
{
	int family = strchr(argv[1], ':') ? AF_INET6 : AF_INET;
	struct msg req, reply, get;
	const struct sadb_x_replay_state *now;
	struct sadb_x_replay_state *st;
	int err;

	msg_init(&get, SADB_GET, SADB_SATYPE_ESP);
	msg_add_sa_id(&get, strtoul(argv[0], NULL, 0), family, argv[1],
		      argv[2]);
	msg_init(&req, SADB_X_SET_REPLAY, SADB_SATYPE_ESP);
	msg_add_sa_id(&req, strtoul(argv[0], NULL, 0), family, argv[1],
		      argv[2]);
	if (oseq) {
		err = pfkey_request(fd, &get, &reply);
		now = err ? NULL : msg_ext(&reply, SADB_X_EXT_REPLAY_STATE);
		if (!now) {
			fprintf(stderr, "GET: %s\n", strerror(err));
			return 1;
		}
		st = msg_add_state(&req, now->sadb_x_replay_state_flags,
				   strtoull(argv[3], NULL, 0),
				   now->sadb_x_replay_state_seq,
				   now->sadb_x_replay_state_window);
		memcpy(st->sadb_x_replay_state_bitmap,
		       now->sadb_x_replay_state_bitmap,
		       (now->sadb_x_replay_state_window + 31) / 32 * 4);
	} else {
		msg_add_thresh(&req, strtoul(argv[3], NULL, 0),
			       strtoul(argv[4], NULL, 0));
	}
	err = pfkey_request(fd, &req, &reply);
	if (err) {
		printf("refused: %s\n", err > 0 ? strerror(err) : "no reply");
		return 1;
	}
	print_state("set", &reply);
	return 0;
}

int main(int argc, char **argv)
{
	int fd;

	if (argc < 4) {
		fprintf(stderr, "usage: see the top of demo.c\n");
		return 2;
	}
	fd = pfkey_open(argv[2]);
	if (fd < 0 || pfkey_register_replay(fd)) {
		perror("PF_KEY replay registration");
		return 1;
	}
	if (!strcmp(argv[1], "monitor"))
		return monitor(fd, atoi(argv[3]));
	if (!strcmp(argv[1], "thresh") && argc == 8)
		return set_replay(fd, argv + 3, false);
	if (!strcmp(argv[1], "set-oseq") && argc == 7)
		return set_replay(fd, argv + 3, true);
	fprintf(stderr, "usage: see the top of demo.c\n");
	return 2;
}
