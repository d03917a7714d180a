// SPDX-License-Identifier: GPL-2.0
/*
 * Bench helpers, run inside the VM by bench-guest.sh:
 *   bench flood NS DST SECONDS        UDP through ESP as fast as possible;
 *                                     prints "pps N"
 *   bench listen pfkey|netlink NS SECONDS
 *                                     counts replay events a PF_KEY
 *                                     registered socket or an XFRM netlink
 *                                     AEVENTS member receives; prints
 *                                     "events N bytes N lost N"
 */
#define _GNU_SOURCE
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <time.h>

#include "../selftests/net/pfkey_replay_lib.h"

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
	printf("ready\n");
	fflush(stdout);
	end = now() + seconds;
	while (now() < end) {
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
	if (argc == 5 && !strcmp(argv[1], "listen"))
		return listen_events(argv[2], argv[3], atof(argv[4]));
	fprintf(stderr, "usage: see the top of bench.c\n");
	return 2;
}
