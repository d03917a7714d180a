// SPDX-License-Identifier: GPL-2.0
/*
 * PF_KEY replay-state extensions under stress: SADB_DUMP, which reads SAs
 * without their lock, while XFRM_MSG_NEWAE resizes the window of live ESN
 * SAs. Apart from pfkey_replay so that a slow kernel (sanitizers, lockdep)
 * can run it alone, for longer.
 *
 * Needs the namespaces pfkey_replay.sh makes (the first is used).
 */
#define _GNU_SOURCE
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <pthread.h>
#include <time.h>

#include "pfkey_replay_lib.h"
#include "../kselftest_harness.h"

/* An AES-GCM ESN SA in ns1 with a 4096-packet window. */
static int add_esn_4096(uint32_t spi)
{
	return sh("ip -n %s xfrm state add %s spi 0x%x %s %s %s 128", NS1,
		  "src 10.0.0.1 dst 10.0.0.2 proto esp", spi,
		  "mode transport replay-window 4096 flag esn",
		  "aead 'rfc4106(gcm(aes))'", gcm_key);
}

/* XFRM_MSG_NEWAE setting the window of @spi's ESN SA in ns1 (4096 bits). */
static int newae_window(int nl, uint32_t spi, const char *dst, uint32_t window)
{
	struct {
		struct nlmsghdr nh;
		struct xfrm_aevent_id id;
		struct nlattr attr;
		struct xfrm_replay_state_esn esn;
		uint32_t bmp[128];
	} req = {};
	char ack[512];

	req.nh.nlmsg_len = sizeof(req);
	req.nh.nlmsg_type = XFRM_MSG_NEWAE;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_REPLACE | NLM_F_ACK;
	req.id.sa_id.spi = htonl(spi);
	req.id.sa_id.family = AF_INET;
	req.id.sa_id.proto = IPPROTO_ESP;
	inet_pton(AF_INET, dst, &req.id.sa_id.daddr);
	req.attr.nla_len = sizeof(req.attr) + sizeof(req.esn) + sizeof(req.bmp);
	req.attr.nla_type = XFRMA_REPLAY_ESN_VAL;
	req.esn.bmp_len = 128;
	req.esn.seq = 5000;
	req.esn.replay_window = window;
	memset(req.bmp, 0xff, sizeof(req.bmp));
	if (send(nl, &req, sizeof(req), 0) < 0)
		return -errno;
	return recv(nl, ack, sizeof(ack), 0) < 0 ? -errno : 0;
}

struct window_cycler {
	int nl;
	bool stop;	/* __atomic, set by the test */
	unsigned long changes;
};

static void *cycle_window(void *arg)
{
	static const uint32_t windows[] = { 4096, 32, 1, 0, 100, 4096, 0 };
	struct window_cycler *c = arg;
	unsigned int i = 0;

	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		newae_window(c->nl, 0x4001, "10.0.0.2",
			     windows[i++ % ARRAY_SIZE(windows)]);
		c->changes++;
	}
	return NULL;
}

/* Stress tests: their own time budget (the harness's default is 30 s). */
#define STRESS_SECONDS_MAX	240

FIXTURE(stress) {};
FIXTURE_SETUP(stress) {}
FIXTURE_TEARDOWN(stress) {}

/*
 * SADB_DUMP reads SAs without x->lock while NEWAE resizes the window of a
 * live ESN SA, to 0 too (which this kernel may refuse): every message must
 * stay well formed and sized for the window it reports. A slow reader keeps
 * the dump going from recvmsg(). PFKEY_REPLAY_STRESS_SECONDS (default 5,
 * at most STRESS_SECONDS_MAX) sets how long; the hardened kernel runs it
 * longer under KASAN.
 */
TEST_F_TIMEOUT(stress, dump_while_newae_resizes_window, STRESS_SECONDS_MAX + 60)
{
	const char *env = getenv("PFKEY_REPLAY_STRESS_SECONDS");
	int seconds = env ? atoi(env) : 5;
	struct window_cycler cycler = {};
	unsigned long dumped = 0, bad = 0;
	int rcvbuf = 4096, fd, i;
	pthread_t thread;
	time_t end;
	struct msg m;

	ASSERT_LT(0, seconds);
	ASSERT_GE(STRESS_SECONDS_MAX, seconds);
	sh("ip -n %s xfrm state flush", NS1);
	/* Enough SAs that a slow reader's dump goes on from recvmsg(). */
	for (i = 0; i < 16; i++)
		ASSERT_EQ(0, add_esn_4096(0x4001 + i));
	fd = pfkey_open(NS1);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pfkey_register_replay(fd));
	ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
				sizeof(rcvbuf)));
	cycler.nl = open_in_netns(NS1, AF_NETLINK, SOCK_RAW, NETLINK_XFRM);
	ASSERT_LE(0, cycler.nl);
	ASSERT_EQ(0, pthread_create(&thread, NULL, cycle_window, &cycler));

	end = time(NULL) + seconds;
	while (time(NULL) < end) {
		const struct sadb_x_replay_state *st;
		int r;

		msg_init(&m, SADB_DUMP, SADB_SATYPE_ESP);
		ASSERT_LE(0, send(fd, m.words, msg_len(&m), 0));
		/*
		 * Replay notifications of the cycler's changes keep arriving;
		 * a dump message lost to the small buffer must not keep this
		 * loop past the deadline.
		 */
		while (time(NULL) < end && (r = pfkey_recv(fd, &m, 100)) == 1) {
			if (m.hdr.sadb_msg_type != SADB_DUMP)
				continue;
			if (m.hdr.sadb_msg_errno)
				break;	/* EBUSY: the last dump still runs */
			st = msg_ext(&m, SADB_X_EXT_REPLAY_STATE);
			dumped++;
			if (!st || st->sadb_x_replay_state_len * 8 !=
				   32 + (st->sadb_x_replay_state_window + 63) / 64 * 8)
				bad++;
			if (!m.hdr.sadb_msg_seq)
				break;	/* the last message of the dump */
		}
		msg_init(&m, SADB_GET, SADB_SATYPE_ESP);
		msg_add_sa_id(&m, 0x4001, AF_INET, "10.0.0.1", "10.0.0.2");
		pfkey_request(fd, &m, NULL);
	}
	__atomic_store_n(&cycler.stop, true, __ATOMIC_RELAXED);
	pthread_join(thread, NULL);
	TH_LOG("%lu DUMP messages while NEWAE changed the window %lu times",
	       dumped, cycler.changes);
	EXPECT_LT(0, dumped);
	EXPECT_LT(0, cycler.changes);
	EXPECT_EQ(0, bad);
	close(cycler.nl);
	close(fd);
	sh("ip -n %s xfrm state flush", NS1);
}

static void __attribute__((constructor)) skip_unless_supported(void)
{
	skip_without_extension();
}

TEST_HARNESS_MAIN
