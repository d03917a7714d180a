// SPDX-License-Identifier: GPL-2.0
/*
 * XFRM_MSG_NEWAE that sets new replay notification thresholds starts a new
 * period: an expiry that the SA's timer deferred under the old thresholds
 * (XFRM_TIME_DEFER) does not turn the packets after it into notifications.
 *
 * Two ESP SAs over loopback in a network namespace of the test's own (each
 * packet goes out and comes back in through its SA), both with a 100 ms
 * timer (net.core.xfrm_aevent_etime = 1) that expires with nothing to
 * report. SA A then gets new thresholds (no timer, 1000 packets) and 20
 * packets: no notification. SA B, left alone, is the control: its first
 * packet notifies at once and its timer once more, two notifications,
 * where an SA whose timer had not expired yet would give one: so the wait
 * was long enough for both timers to expire unheard.
 *
 * Also here, for the fix before it in the series: NEWAE refuses a replay
 * window of 0 for an ESN SA, as the SA's creation does.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../kselftest_harness.h"

#define SPI_A		0x5001
#define SPI_B		0x5002
#define PERIODS_WAITED	5	/* of 100 ms each */

static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* An outbound transport-mode SA to @dst and the policy that uses it. */
static int add_sa(uint32_t spi, const char *dst)
{
	static const char *const gcm =
		"aead 'rfc4106(gcm(aes))' 0x00112233445566778899aabbccddeeff01020304 128";

	if (sh("ip xfrm state add src 127.0.0.1 dst %s proto esp spi 0x%x %s %s",
	       dst, spi, "mode transport replay-window 32", gcm))
		return -1;
	return sh("ip xfrm policy add src 127.0.0.1 dst %s %s %s dst %s %s 0x%x %s",
		  dst, "proto udp dir out", "tmpl src 127.0.0.1", dst,
		  "proto esp spi", spi, "mode transport");
}

/* From 127.0.0.1, which the policies name: to a local address the kernel
 * would otherwise pick the destination itself as the source.
 */
static int send_udp(const char *dst, int n)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	struct sockaddr_in from = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), i;

	if (fd < 0)
		return -1;
	inet_pton(AF_INET, "127.0.0.1", &from.sin_addr);
	if (bind(fd, (struct sockaddr *)&from, sizeof(from)) < 0) {
		close(fd);
		return -1;
	}
	inet_pton(AF_INET, dst, &to.sin_addr);
	for (i = 0; i < n; i++)
		if (sendto(fd, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
			break;
	close(fd);
	return i == n ? 0 : -1;
}

/* The header and SA of a NEWAE request @len bytes long. */
static void newae_init(struct nlmsghdr *nh, struct xfrm_aevent_id *id,
		       size_t len, uint32_t spi, const char *dst)
{
	nh->nlmsg_len = len;
	nh->nlmsg_type = XFRM_MSG_NEWAE;
	nh->nlmsg_flags = NLM_F_REQUEST | NLM_F_REPLACE | NLM_F_ACK;
	id->sa_id.spi = htonl(spi);
	id->sa_id.family = AF_INET;
	id->sa_id.proto = IPPROTO_ESP;
	inet_pton(AF_INET, dst, &id->sa_id.daddr);
	inet_pton(AF_INET, "127.0.0.1", &id->saddr);
}

/* Sends the request and reads its ack: 0 or -errno. */
static int newae_send(int nl, const struct nlmsghdr *nh)
{
	struct {
		struct nlmsghdr nh;
		struct nlmsgerr err;
	} ack;

	if (send(nl, nh, nh->nlmsg_len, 0) < 0)
		return -errno;
	if (recv(nl, &ack, sizeof(ack), 0) < (ssize_t)sizeof(ack))
		return -EIO;
	return ack.nh.nlmsg_type == NLMSG_ERROR ? ack.err.error : -EIO;
}

/* NEWAE with XFRMA_ETIMER_THRESH and XFRMA_REPLAY_THRESH; 0 or -errno. */
static int newae_thresholds(int nl, uint32_t spi, const char *dst,
			    uint32_t etime, uint32_t rthresh)
{
	struct {
		struct nlmsghdr nh;
		struct xfrm_aevent_id id;
		struct nlattr et;
		uint32_t etime;
		struct nlattr rt;
		uint32_t rthresh;
	} req = {};

	newae_init(&req.nh, &req.id, sizeof(req), spi, dst);
	req.et.nla_len = sizeof(req.et) + sizeof(req.etime);
	req.et.nla_type = XFRMA_ETIMER_THRESH;
	req.etime = etime;
	req.rt.nla_len = sizeof(req.rt) + sizeof(req.rthresh);
	req.rt.nla_type = XFRMA_REPLAY_THRESH;
	req.rthresh = rthresh;
	return newae_send(nl, &req.nh);
}

/* NEWAE events for @spi that arrive within @ms of quiet. */
static int count_aevents(int nl, uint32_t spi, int ms)
{
	struct pollfd pfd = { .fd = nl, .events = POLLIN };
	char buf[8192];
	int events = 0;

	while (poll(&pfd, 1, ms) == 1) {
		ssize_t len = recv(nl, buf, sizeof(buf), 0);
		struct nlmsghdr *nh = (struct nlmsghdr *)buf;

		if (len < 0)
			return -1;
		for (; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
			struct xfrm_aevent_id *id = NLMSG_DATA(nh);

			if (nh->nlmsg_type == XFRM_MSG_NEWAE &&
			    nh->nlmsg_len >= NLMSG_LENGTH(sizeof(*id)) &&
			    ntohl(id->sa_id.spi) == spi)
				events++;
		}
	}
	return events;
}

static int xfrm_socket(unsigned int group)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_XFRM);

	if (group)
		addr.nl_groups = 1U << (group - 1);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return -1;
	return fd;
}

TEST(newae_thresholds_end_a_deferred_expiry)
{
	int req, events;

	if (geteuid())
		SKIP(return, "needs root");
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, sh("ip link set lo up"));
	/* Loopback skips IPsec unless told otherwise. */
	ASSERT_EQ(0, sh("sysctl -qw net.ipv4.conf.lo.disable_xfrm=0"));
	ASSERT_EQ(0, sh("sysctl -qw net.ipv4.conf.lo.disable_policy=0"));
	ASSERT_EQ(0, sh("sysctl -qw net.core.xfrm_aevent_etime=1"));
	ASSERT_EQ(0, sh("sysctl -qw net.core.xfrm_aevent_rseqth=1000"));
	if (add_sa(SPI_A, "127.0.0.2"))
		SKIP(return, "no ESP with rfc4106(gcm(aes)) in transport mode");
	ASSERT_EQ(0, add_sa(SPI_B, "127.0.0.3"));
	events = xfrm_socket(XFRMNLGRP_AEVENTS);
	req = xfrm_socket(0);
	ASSERT_LE(0, events);
	ASSERT_LE(0, req);

	/* Both timers expire with nothing to report: both SAs defer. */
	usleep(PERIODS_WAITED * 100 * 1000);
	ASSERT_EQ(0, newae_thresholds(req, SPI_A, "127.0.0.2", 0, 1000));
	ASSERT_EQ(1, count_aevents(events, SPI_A, 200)) {
		TH_LOG("NEWAE itself is reported once (XFRM_AE_CU)");
	}
	ASSERT_EQ(0, send_udp("127.0.0.2", 20));
	EXPECT_EQ(0, count_aevents(events, SPI_A, 500)) {
		TH_LOG("20 packets under a 1000-packet threshold notified");
	}

	/* The control: B, armed after A, did defer in the same wait. */
	ASSERT_EQ(0, send_udp("127.0.0.3", 1));
	EXPECT_EQ(2, count_aevents(events, SPI_B, 1000)) {
		TH_LOG("the control SA did not defer (1: its timer had not expired; 0: no ESP)");
	}
}

/* NEWAE with XFRMA_REPLAY_ESN_VAL for a one-word bitmap; 0 or -errno. */
static int newae_esn_window(int nl, uint32_t spi, const char *dst,
			    uint32_t window)
{
	struct {
		struct nlmsghdr nh;
		struct xfrm_aevent_id id;
		struct nlattr attr;
		struct xfrm_replay_state_esn esn;
		uint32_t bmp[1];
	} req = {};

	newae_init(&req.nh, &req.id, sizeof(req), spi, dst);
	req.attr.nla_len = sizeof(req.attr) + sizeof(req.esn) + sizeof(req.bmp);
	req.attr.nla_type = XFRMA_REPLAY_ESN_VAL;
	req.esn.bmp_len = 1;
	req.esn.seq = 10;
	req.esn.replay_window = window;
	return newae_send(nl, &req.nh);
}

TEST(newae_refuses_esn_window_0)
{
	int req;

	if (geteuid())
		SKIP(return, "needs root");
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	if (sh("ip xfrm state add src 127.0.0.1 dst 127.0.0.4 proto esp spi 0x%x %s %s",
	       SPI_A, "mode transport replay-window 32 flag esn",
	       "aead 'rfc4106(gcm(aes))' 0x00112233445566778899aabbccddeeff01020304 128"))
		SKIP(return, "no ESP with rfc4106(gcm(aes)) and ESN");
	req = xfrm_socket(0);
	ASSERT_LE(0, req);
	EXPECT_EQ(-EINVAL, newae_esn_window(req, SPI_A, "127.0.0.4", 0));
	/* The same message with a window is fine. */
	EXPECT_EQ(0, newae_esn_window(req, SPI_A, "127.0.0.4", 32));
}

TEST_HARNESS_MAIN
