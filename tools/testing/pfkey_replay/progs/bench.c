// SPDX-License-Identifier: GPL-2.0
/*
 * Bench helpers, run inside the VM by guest/bench.sh:
 *   bench flood NS DST SECONDS        UDP through ESP as fast as possible;
 *                                     prints "pps N"
 *   bench flood-count NS DST PACKETS COUNTER
 *                                     sends PACKETS, waits 200 ms for the
 *                                     listeners to drain, and prints
 *                                     "insns N sent N": the guest
 *                                     instructions executed meanwhile, read
 *                                     from COUNTER (insn-count/insn_count.c)
 *   bench listen pfkey|netlink NS SECONDS
 *                                     counts replay events a PF_KEY
 *                                     registered socket or an XFRM netlink
 *                                     AEVENTS member receives until SECONDS
 *                                     pass or SIGTERM; prints
 *                                     "events N bytes N lost N"
 */
#define _GNU_SOURCE
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <signal.h>
#include <time.h>

#include "../../selftests/net/pfkey_replay_lib.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int flood(const char *ns, const char *dst, double seconds)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(9000) };
	double start, end;
	long sent = 0;
	int fd, i;

	fd = open_in_netns(ns, AF_INET, SOCK_DGRAM, 0);
	inet_pton(AF_INET, dst, &sin.sin_addr);
	if (fd < 0 || connect(fd, (void *)&sin, sizeof(sin))) {
		perror("flood socket");
		return 1;
	}
	start = now();
	end = start + seconds;
	while (now() < end)
		for (i = 0; i < 64; i++)
			sent += send(fd, "x", 1, 0) == 1;
	printf("pps %.0f\n", sent / (now() - start));
	return 0;
}

/* The running total insn_count.c publishes; -1 when it cannot be read. */
static long long guest_insns(const char *counter)
{
	FILE *f = fopen(counter, "r");
	long long n = -1;

	if (f) {
		if (fscanf(f, "%lld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

static int flood_count(const char *ns, const char *dst, long packets,
		       const char *counter)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(9000) };
	long long before, after;
	long sent = 0, i;
	int fd;

	fd = open_in_netns(ns, AF_INET, SOCK_DGRAM, 0);
	inet_pton(AF_INET, dst, &sin.sin_addr);
	if (fd < 0 || connect(fd, (void *)&sin, sizeof(sin))) {
		perror("flood socket");
		return 1;
	}
	before = guest_insns(counter);
	for (i = 0; i < packets; i++)
		sent += send(fd, "x", 1, 0) == 1;
	usleep(200 * 1000);
	after = guest_insns(counter);
	if (before < 0 || after < before) {
		fprintf(stderr, "flood-count: no instruction count in %s\n", counter);
		return 1;
	}
	printf("insns %lld sent %ld\n", after - before, sent);
	return 0;
}

static volatile sig_atomic_t stop_listening;

static void on_term(int sig)
{
	(void)sig;
	stop_listening = 1;
}

static int listen_events(const char *kind, const char *ns, double seconds)
{
	bool pfkey = !strcmp(kind, "pfkey");
	long events = 0, bytes = 0, lost = 0;
	static char buf[65536];
	double end;
	int fd;

	if (pfkey) {
		fd = pfkey_open(ns);
		if (fd < 0 || pfkey_register_replay(fd))
			return perror("PF_KEY"), 1;
	} else {
		struct sockaddr_nl nl = {
			.nl_family = AF_NETLINK,
			.nl_groups = 1 << (XFRMNLGRP_AEVENTS - 1),
		};

		fd = open_in_netns(ns, AF_NETLINK, SOCK_RAW, NETLINK_XFRM);
		if (fd < 0 || bind(fd, (void *)&nl, sizeof(nl)))
			return perror("netlink"), 1;
	}
	/* No SA_RESTART: poll() returns at SIGTERM. */
	sigaction(SIGTERM, &(struct sigaction){ .sa_handler = on_term }, NULL);
	printf("ready\n");
	fflush(stdout);
	end = now() + seconds;
	while (!stop_listening && now() < end) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			lost += errno == ENOBUFS;
			continue;
		}
		if (pfkey) {
			struct sadb_msg *hdr = (void *)buf;

			if (hdr->sadb_msg_type != SADB_X_REPLAY_NOTIFY)
				continue;
			events++;
			bytes += n;
		} else {
			struct nlmsghdr *nlh;
			int len = n;

			for (nlh = (void *)buf; NLMSG_OK(nlh, len);
			     nlh = NLMSG_NEXT(nlh, len)) {
				if (nlh->nlmsg_type != XFRM_MSG_NEWAE)
					continue;
				events++;
				bytes += nlh->nlmsg_len;
			}
		}
	}
	printf("events %ld bytes %ld lost %ld\n", events, bytes, lost);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "flood"))
		return flood(argv[2], argv[3], atof(argv[4]));
	if (argc == 6 && !strcmp(argv[1], "flood-count"))
		return flood_count(argv[2], argv[3], atol(argv[4]), argv[5]);
	if (argc == 5 && !strcmp(argv[1], "listen"))
		return listen_events(argv[2], argv[3], atof(argv[4]));
	fprintf(stderr, "usage: see the top of bench.c\n");
	return 2;
}
