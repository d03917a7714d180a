// SPDX-License-Identifier: GPL-2.0
/*
 * PF_KEY replay-state extensions, end to end: real ESP between two network
 * namespaces, thresholds, notifications, set-replay and every refusal.
 *
 * Needs network namespaces ns1 and ns2 joined by a veth pair (10.0.0.1/24,
 * fd00::1/64 in ns1; .2 and ::2 in ns2) and an empty ns3; pfkey_replay.sh
 * makes them, under unique names (ns_name()). iproute2 is the independent witness of every value.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <sys/syscall.h>
#include <time.h>

#include "pfkey_replay_lib.h"
#include "../kselftest_harness.h"

#define SPI_OUT		0x1001	/* ns1 -> ns2 */
#define SPI_IN		0x2001	/* ns2 -> ns1 */
#define UDP_PORT	9000

/* What iproute2 (netlink) says of an SA. */
struct ip_view {
	uint64_t oseq, seq;
	unsigned int replay_window_errors;
	unsigned int integrity_failures;
};

static uint64_t scan_hex(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	return p ? strtoull(p + strlen(key), NULL, 16) : 0;
}

static int ip_view(const char *ns, const char *dst, uint32_t spi,
		   struct ip_view *v)
{
	char cmd[256], text[8192];
	const char *p;
	size_t n;
	FILE *f;

	snprintf(cmd, sizeof(cmd),
		 "ip -n %s -s xfrm state get dst %s proto esp spi 0x%x", ns,
		 dst, spi);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = 0;
	if (pclose(f) || !n)
		return -1;
	/* The header line has a "seq" and a "replay-window" of its own. */
	p = strstr(text, "anti-replay");
	if (!p)
		return -1;
	v->oseq = scan_hex(p, " oseq 0x") | scan_hex(p, " oseq-hi 0x") << 32;
	v->seq = scan_hex(p, " seq 0x") | scan_hex(p, " seq-hi 0x") << 32;
	p = strstr(text, "stats:");
	p = p ? strstr(p, "replay-window ") : NULL;
	if (!p)
		return -1;
	v->replay_window_errors = strtoul(p + 14, NULL, 10);
	p = strstr(p, "failed ");
	v->integrity_failures = p ? strtoul(p + 7, NULL, 10) : 0;
	return 0;
}

enum replay_mode { MODE_LEGACY, MODE_BMP, MODE_ESN };

/* What the helpers need to know of the fixture's SAs. */
struct sa_env {
	const char *a1, *a2;	/* ns1 and ns2 addresses */
	int family;
	uint32_t window;
	bool esn;
};

FIXTURE(sa) {
	struct sa_env env;
	int req1, req2;		/* registered, for requests */
	int listen1, listen2, listen3;
	int plain1;		/* never registered */
	int tx, rx;
};

FIXTURE_VARIANT(sa) {
	int family;
	enum replay_mode mode;
	bool gcm;
};

FIXTURE_VARIANT_ADD(sa, v4_legacy_cbc) { AF_INET, MODE_LEGACY, false };
FIXTURE_VARIANT_ADD(sa, v4_bmp_gcm) { AF_INET, MODE_BMP, true };
FIXTURE_VARIANT_ADD(sa, v4_esn_cbc) { AF_INET, MODE_ESN, false };
FIXTURE_VARIANT_ADD(sa, v6_legacy_cbc) { AF_INET6, MODE_LEGACY, false };
FIXTURE_VARIANT_ADD(sa, v6_bmp_cbc) { AF_INET6, MODE_BMP, false };
FIXTURE_VARIANT_ADD(sa, v6_esn_gcm) { AF_INET6, MODE_ESN, true };

static const char *const cbc_key = "0x00112233445566778899aabbccddeeff";
static const char *const hmac_key =
	"0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/*
 * SADB_ADD or SADB_UPDATE of an AES-CBC + HMAC-SHA256 SA, with thresholds if
 * @packets or @msecs is set. Linux PF_KEY has no ids for AEADs: GCM SAs
 * come from netlink (ip_add_sa()).
 */
static int pfkey_add_sa(int fd, uint8_t type, int family, uint32_t spi,
			const char *src, const char *dst, uint32_t packets,
			uint32_t msecs)
{
	struct sadb_x_sa2 *sa2;
	struct sadb_key *key;
	struct sadb_sa *sa;
	struct msg m;
	int i;

	msg_init(&m, type, SADB_SATYPE_ESP);
	sa = msg_add_sa_id(&m, spi, family, src, dst);
	sa->sadb_sa_replay = 32;
	sa->sadb_sa_state = SADB_SASTATE_MATURE;
	sa->sadb_sa_encrypt = SADB_X_EALG_AESCBC;
	sa->sadb_sa_auth = SADB_X_AALG_SHA2_256HMAC;
	key = msg_add(&m, SADB_EXT_KEY_ENCRYPT, sizeof(*key) + 16);
	key->sadb_key_bits = 128;
	for (i = 0; i < 16; i++)
		((uint8_t *)(key + 1))[i] = i;
	key = msg_add(&m, SADB_EXT_KEY_AUTH, sizeof(*key) + 32);
	key->sadb_key_bits = 256;
	for (i = 0; i < 32; i++)
		((uint8_t *)(key + 1))[i] = 0x40 + i;
	sa2 = msg_add(&m, SADB_X_EXT_SA2, sizeof(*sa2));
	sa2->sadb_x_sa2_mode = IPSEC_MODE_TRANSPORT;
	if (packets || msecs)
		msg_add_thresh(&m, packets, msecs);
	return pfkey_request(fd, &m, NULL);
}

static int ip_add_sa(const char *ns, bool gcm, enum replay_mode mode,
		     uint32_t spi, const char *src, const char *dst)
{
	char algo[256];

	if (gcm)
		snprintf(algo, sizeof(algo), "aead 'rfc4106(gcm(aes))' %s 128",
			 gcm_key);
	else
		snprintf(algo, sizeof(algo),
			 "enc 'cbc(aes)' %s auth-trunc 'hmac(sha256)' %s 128",
			 cbc_key, hmac_key);
	return sh("ip -n %s xfrm state add src %s dst %s proto esp spi 0x%x %s %s %s",
		  ns, src, dst, spi, "mode transport replay-window 128", algo,
		  mode == MODE_ESN ? "flag esn" : "");
}

static int add_policies(const char *ns, const char *me, const char *peer)
{
	static const char fmt[] = "ip -n %s xfrm policy add src %s dst %s proto udp dir %s %s";
	char out[128], in[128];

	snprintf(out, sizeof(out), "tmpl src %s dst %s proto esp mode transport", me, peer);
	snprintf(in, sizeof(in), "tmpl src %s dst %s proto esp mode transport", peer, me);
	return sh(fmt, ns, me, peer, "out", out) || sh(fmt, ns, peer, me, "in", in);
}

FIXTURE_SETUP(sa)
{
	union {
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
	} addr = {};
	socklen_t alen;
	int i;

	self->env.family = variant->family;
	self->env.a1 = self->env.family == AF_INET ? "10.0.0.1" : "fd00::1";
	self->env.a2 = self->env.family == AF_INET ? "10.0.0.2" : "fd00::2";
	self->env.esn = variant->mode == MODE_ESN;
	self->env.window = variant->mode == MODE_LEGACY ? 32 : 128;

	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, sh("ip -n %s xfrm state flush && ip -n %s xfrm policy flush",
				ns_name(i + 1), ns_name(i + 1)));

	self->req1 = pfkey_open(NS1);
	self->req2 = pfkey_open(NS2);
	self->listen1 = pfkey_open(NS1);
	self->listen2 = pfkey_open(NS2);
	self->listen3 = pfkey_open(NS3);
	self->plain1 = pfkey_open(NS1);
	ASSERT_LE(0, self->req1);
	ASSERT_LE(0, self->req2);
	ASSERT_LE(0, self->listen1);
	ASSERT_LE(0, self->listen2);
	ASSERT_LE(0, self->listen3);
	ASSERT_LE(0, self->plain1);
	ASSERT_EQ(0, pfkey_register_replay(self->req1));
	ASSERT_EQ(0, pfkey_register_replay(self->req2));
	ASSERT_EQ(0, pfkey_register_replay(self->listen1));
	ASSERT_EQ(0, pfkey_register_replay(self->listen2));
	ASSERT_EQ(0, pfkey_register_replay(self->listen3));

	for (i = 0; i < 2; i++) {
		int fd = i ? self->req2 : self->req1;

		if (variant->mode == MODE_LEGACY) {
			ASSERT_EQ(0, pfkey_add_sa(fd, SADB_ADD, self->env.family,
						  SPI_OUT, self->env.a1, self->env.a2,
						  0, 0));
			ASSERT_EQ(0, pfkey_add_sa(fd, SADB_ADD, self->env.family,
						  SPI_IN, self->env.a2, self->env.a1,
						  0, 0));
		} else {
			ASSERT_EQ(0, ip_add_sa(ns_name(i + 1), variant->gcm,
					       variant->mode, SPI_OUT,
					       self->env.a1, self->env.a2));
			ASSERT_EQ(0, ip_add_sa(ns_name(i + 1), variant->gcm,
					       variant->mode, SPI_IN,
					       self->env.a2, self->env.a1));
		}
	}
	ASSERT_EQ(0, add_policies(NS1, self->env.a1, self->env.a2));
	ASSERT_EQ(0, add_policies(NS2, self->env.a2, self->env.a1));

	self->rx = open_in_netns(NS2, self->env.family, SOCK_DGRAM, 0);
	self->tx = open_in_netns(NS1, self->env.family, SOCK_DGRAM, 0);
	ASSERT_LE(0, self->rx);
	ASSERT_LE(0, self->tx);
	if (self->env.family == AF_INET) {
		addr.v4.sin_family = AF_INET;
		addr.v4.sin_port = htons(UDP_PORT);
		inet_pton(AF_INET, self->env.a2, &addr.v4.sin_addr);
		alen = sizeof(addr.v4);
	} else {
		addr.v6.sin6_family = AF_INET6;
		addr.v6.sin6_port = htons(UDP_PORT);
		inet_pton(AF_INET6, self->env.a2, &addr.v6.sin6_addr);
		alen = sizeof(addr.v6);
	}
	ASSERT_EQ(0, bind(self->rx, (void *)&addr, alen));
	ASSERT_EQ(0, connect(self->tx, (void *)&addr, alen));

	/* Netlink SAs start with the sysctl thresholds; start from none. */
	for (i = 0; i < 2; i++) {
		struct msg m;
		int fd = i ? self->req2 : self->req1;

		msg_init(&m, SADB_X_SET_REPLAY, SADB_SATYPE_ESP);
		msg_add_sa_id(&m, SPI_OUT, self->env.family, self->env.a1, self->env.a2);
		msg_add_thresh(&m, 0, 0);
		ASSERT_EQ(0, pfkey_request(fd, &m, NULL));
		msg_init(&m, SADB_X_SET_REPLAY, SADB_SATYPE_ESP);
		msg_add_sa_id(&m, SPI_IN, self->env.family, self->env.a2, self->env.a1);
		msg_add_thresh(&m, 0, 0);
		ASSERT_EQ(0, pfkey_request(fd, &m, NULL));
	}
	drain(self->listen1);
	drain(self->listen2);
	drain(self->listen3);
}

FIXTURE_TEARDOWN(sa)
{
	close(self->tx);
	close(self->rx);
	close(self->req1);
	close(self->req2);
	close(self->listen1);
	close(self->listen2);
	close(self->listen3);
	close(self->plain1);
	sh("ip -n %s xfrm state flush; ip -n %s xfrm state flush", NS1, NS2);
}

/* Returns how many went out: a 32-bit SA refuses to wrap (EOVERFLOW). */
static int send_packets(int fd, int n)
{
	int i, sent = 0;

	for (i = 0; i < n; i++)
		sent += send(fd, "x", 1, 0) == 1;
	return sent;
}

/* Wait until ns2 has accepted what ns1 sent: receive is asynchronous. */
static void settle(const char *dst, uint64_t want_seq)
{
	struct ip_view v = {};
	int i;

	for (i = 0; i < 100; i++) {
		if (!ip_view(NS2, dst, SPI_OUT, &v) && v.seq >= want_seq)
			return;
		usleep(20000);
	}
}

static int set_replay(int fd, const char *src, const char *dst, int family,
		      uint32_t spi, const struct sadb_x_replay_state *state,
		      const struct sadb_x_replay_thresh *thresh,
		      struct msg *reply)
{
	struct msg m;

	msg_init(&m, SADB_X_SET_REPLAY, SADB_SATYPE_ESP);
	msg_add_sa_id(&m, spi, family, src, dst);
	if (state)
		memcpy(msg_add(&m, SADB_X_EXT_REPLAY_STATE,
			       state->sadb_x_replay_state_len * 8),
		       state, state->sadb_x_replay_state_len * 8);
	if (thresh)
		memcpy(msg_add(&m, SADB_X_EXT_REPLAY_THRESH, sizeof(*thresh)),
		       thresh, sizeof(*thresh));
	return pfkey_request(fd, &m, reply);
}

static int set_thresh(const struct sa_env *env, int fd, uint32_t spi,
		      uint32_t packets, uint32_t msecs)
{
	struct sadb_x_replay_thresh t = {
		.sadb_x_replay_thresh_len = 2,
		.sadb_x_replay_thresh_exttype = SADB_X_EXT_REPLAY_THRESH,
		.sadb_x_replay_thresh_packets = packets,
		.sadb_x_replay_thresh_msecs = msecs,
	};
	const char *src = spi == SPI_OUT ? env->a1 : env->a2;
	const char *dst = spi == SPI_OUT ? env->a2 : env->a1;

	return set_replay(fd, src, dst, env->family, spi, NULL, &t, NULL);
}

/* A replay state for SPI_OUT built on the SA's current one. */
static struct sadb_x_replay_state *state_of(const struct sa_env *env,
					    struct msg *buf, uint64_t oseq,
					    uint64_t seq)
{
	msg_init(buf, 0, 0);
	return msg_add_state(buf, env->esn, oseq, seq, env->window);
}

TEST_F(sa, count_notifications_match_iproute2)
{
	const struct sadb_x_replay_state *st;
	struct ip_view out, in;
	struct msg m;

	ASSERT_EQ(0, set_thresh(&self->env, self->req1, SPI_OUT, 10, 0));
	ASSERT_EQ(0, set_thresh(&self->env, self->req2, SPI_OUT, 10, 0));
	st = next_notify(self->listen1, &m, SPI_OUT, 1000);
	ASSERT_NE(NULL, st);
	EXPECT_EQ(SADB_X_REPLAY_CAUSE_UPDATE, st->sadb_x_replay_state_cause);
	drain(self->listen2);

	send_packets(self->tx, 25);
	settle(self->env.a2, 25);

	st = next_notify(self->listen1, &m, SPI_OUT, 1000);
	ASSERT_NE(NULL, st);
	EXPECT_EQ(SADB_X_REPLAY_CAUSE_COUNT, st->sadb_x_replay_state_cause);
	EXPECT_EQ(10, st->sadb_x_replay_state_oseq);
	/* Raised by the kernel, not by a request: no sequence, no sender. */
	EXPECT_EQ(0, m.hdr.sadb_msg_seq);
	EXPECT_EQ(0, m.hdr.sadb_msg_pid);
	st = next_notify(self->listen1, &m, SPI_OUT, 1000);
	ASSERT_NE(NULL, st);
	EXPECT_EQ(20, st->sadb_x_replay_state_oseq);
	EXPECT_EQ(NULL, next_notify(self->listen1, &m, SPI_OUT, 300));

	st = next_notify(self->listen2, &m, SPI_OUT, 1000);
	ASSERT_NE(NULL, st);
	EXPECT_EQ(SADB_X_REPLAY_CAUSE_COUNT, st->sadb_x_replay_state_cause);
	EXPECT_EQ(10, st->sadb_x_replay_state_seq);
	EXPECT_EQ(self->env.window, st->sadb_x_replay_state_window);
	/* All of 1..10 arrived: the low ten bits of the canonical bitmap. */
	EXPECT_EQ(0x3ff, st->sadb_x_replay_state_bitmap[0] & 0xffff);
	st = next_notify(self->listen2, &m, SPI_OUT, 1000);
	ASSERT_NE(NULL, st);
	EXPECT_EQ(20, st->sadb_x_replay_state_seq);

	/* The final state agrees with netlink's view. */
	ASSERT_EQ(0, ip_view(NS1, self->env.a2, SPI_OUT, &out));
	ASSERT_EQ(0, ip_view(NS2, self->env.a2, SPI_OUT, &in));
	EXPECT_EQ(25, out.oseq);
	EXPECT_EQ(25, in.seq);

	/* Other namespaces hear nothing. */
	EXPECT_EQ(NULL, next_notify(self->listen3, &m, SPI_OUT, 200));
}

TEST_F(sa, timer_notifies_only_after_change)
{
	const struct sadb_x_replay_state *st;
	struct msg m;

	ASSERT_EQ(0, set_thresh(&self->env, self->req1, SPI_OUT, 0, 200));
	drain(self->listen1);

	send_packets(self->tx, 3);
	st = next_notify(self->listen1, &m, SPI_OUT, 1500);
	ASSERT_NE(NULL, st);
	EXPECT_EQ(SADB_X_REPLAY_CAUSE_TIMER, st->sadb_x_replay_state_cause);
	EXPECT_EQ(3, st->sadb_x_replay_state_oseq);

	/* Idle: the timer finds nothing new and stays quiet... */
	EXPECT_EQ(NULL, next_notify(self->listen1, &m, SPI_OUT, 700));

	/* ...and the first packet after that is reported at once. */
	send_packets(self->tx, 1);
	st = next_notify(self->listen1, &m, SPI_OUT, 150);
	ASSERT_NE(NULL, st);
	EXPECT_EQ(SADB_X_REPLAY_CAUSE_TIMER, st->sadb_x_replay_state_cause);
	EXPECT_EQ(4, st->sadb_x_replay_state_oseq);

	/* T = 0 stops the timer. */
	ASSERT_EQ(0, set_thresh(&self->env, self->req1, SPI_OUT, 0, 0));
	drain(self->listen1);
	send_packets(self->tx, 2);
	EXPECT_EQ(NULL, next_notify(self->listen1, &m, SPI_OUT, 600));
}

TEST_F(sa, get_reports_thresholds_to_registered_only)
{
	const struct sadb_x_replay_thresh *t;
	const struct sadb_x_replay_state *st;
	struct msg req, reply;

	ASSERT_EQ(0, set_thresh(&self->env, self->req1, SPI_OUT, 7, 1000));
	send_packets(self->tx, 5);

	msg_init(&req, SADB_GET, SADB_SATYPE_ESP);
	msg_add_sa_id(&req, SPI_OUT, self->env.family, self->env.a1, self->env.a2);
	ASSERT_EQ(0, pfkey_request(self->req1, &req, &reply));
	t = msg_ext(&reply, SADB_X_EXT_REPLAY_THRESH);
	st = msg_ext(&reply, SADB_X_EXT_REPLAY_STATE);
	ASSERT_NE(NULL, t);
	ASSERT_NE(NULL, st);
	EXPECT_EQ(7, t->sadb_x_replay_thresh_packets);
	EXPECT_EQ(1000, t->sadb_x_replay_thresh_msecs);
	EXPECT_EQ(5, st->sadb_x_replay_state_oseq);
	EXPECT_EQ(self->env.esn ? SADB_X_REPLAY_F_ESN : 0,
		  st->sadb_x_replay_state_flags);

	/* A socket that did not register sees the message of old. */
	msg_init(&req, SADB_GET, SADB_SATYPE_ESP);
	msg_add_sa_id(&req, SPI_OUT, self->env.family, self->env.a1, self->env.a2);
	ASSERT_EQ(0, pfkey_request(self->plain1, &req, &reply));
	EXPECT_GE(SADB_EXT_MAX, msg_max_ext_type(&reply));
}

TEST_F(sa, dump_reports_state_to_registered_only)
{
	struct msg req, reply;
	int seen = 0, r;

	msg_init(&req, SADB_DUMP, SADB_SATYPE_ESP);
	ASSERT_EQ(0, send(self->req1, req.words, msg_len(&req), 0) < 0);
	while ((r = pfkey_recv(self->req1, &reply, 1000)) == 1) {
		if (reply.hdr.sadb_msg_type != SADB_DUMP)
			continue;
		EXPECT_NE(NULL, msg_ext(&reply, SADB_X_EXT_REPLAY_STATE));
		seen++;
		if (reply.hdr.sadb_msg_seq == 0)
			break;
	}
	EXPECT_EQ(2, seen);

	seen = 0;
	ASSERT_EQ(0, send(self->plain1, req.words, msg_len(&req), 0) < 0);
	while ((r = pfkey_recv(self->plain1, &reply, 1000)) == 1) {
		if (reply.hdr.sadb_msg_type != SADB_DUMP)
			continue;
		EXPECT_GE(SADB_EXT_MAX, msg_max_ext_type(&reply));
		seen++;
		if (reply.hdr.sadb_msg_seq == 0)
			break;
	}
	EXPECT_EQ(2, seen);
}

TEST_F(sa, set_outbound_moves_next_packet)
{
	const struct sadb_x_replay_state *st;
	struct msg buf, reply;
	struct ip_view out, in;
	uint64_t target = 5000;

	send_packets(self->tx, 3);
	settle(self->env.a2, 3);
	ASSERT_EQ(0, set_replay(self->req1, self->env.a1, self->env.a2, self->env.family,
				SPI_OUT, state_of(&self->env, &buf, target, 0), NULL,
				&reply));
	st = msg_ext(&reply, SADB_X_EXT_REPLAY_STATE);
	ASSERT_NE(NULL, st);
	EXPECT_EQ(target, st->sadb_x_replay_state_oseq);
	ASSERT_EQ(0, ip_view(NS1, self->env.a2, SPI_OUT, &out));
	EXPECT_EQ(target, out.oseq);

	send_packets(self->tx, 1);
	settle(self->env.a2, target + 1);
	ASSERT_EQ(0, ip_view(NS2, self->env.a2, SPI_OUT, &in));
	EXPECT_EQ(target + 1, in.seq);
	EXPECT_EQ(0, in.replay_window_errors);
}

TEST_F(sa, set_inbound_refuses_old_packets)
{
	struct ip_view before, after;
	struct sadb_x_replay_state *st;
	struct msg buf;
	uint64_t top = self->env.window + 10;

	send_packets(self->tx, 2);
	settle(self->env.a2, 2);

	/* The standby learnt that the peer already sent up to "top". */
	st = state_of(&self->env, &buf, 0, top);
	st->sadb_x_replay_state_bitmap[0] = 1;
	ASSERT_EQ(0, set_replay(self->req2, self->env.a1, self->env.a2, self->env.family,
				SPI_OUT, st, NULL, NULL));
	ASSERT_EQ(0, ip_view(NS2, self->env.a2, SPI_OUT, &before));
	EXPECT_EQ(top, before.seq);

	/* Sequence number 3 is now behind the window: dropped. An ESN SA
	 * takes it for 2^32 + 3 (RFC 4303 appendix A) and the ICV fails.
	 */
	send_packets(self->tx, 1);
	usleep(200000);
	ASSERT_EQ(0, ip_view(NS2, self->env.a2, SPI_OUT, &after));
	EXPECT_EQ(top, after.seq);
	EXPECT_EQ(before.replay_window_errors + before.integrity_failures + 1,
		  after.replay_window_errors + after.integrity_failures);

	/* The sender jumps past it, and traffic flows again. */
	ASSERT_EQ(0, set_replay(self->req1, self->env.a1, self->env.a2, self->env.family,
				SPI_OUT, state_of(&self->env, &buf, top, 0), NULL,
				NULL));
	send_packets(self->tx, 1);
	settle(self->env.a2, top + 1);
	ASSERT_EQ(0, ip_view(NS2, self->env.a2, SPI_OUT, &after));
	EXPECT_EQ(top + 1, after.seq);
}

TEST_F(sa, set_merges_inbound_bitmap)
{
	const struct sadb_x_replay_state *got;
	struct sadb_x_replay_state *st;
	struct msg buf, reply;

	send_packets(self->tx, 4);
	settle(self->env.a2, 4);

	/* Move the top from 4 to 6 and claim only 6: 1..4 must stay set. */
	st = state_of(&self->env, &buf, 0, 6);
	st->sadb_x_replay_state_bitmap[0] = 1;
	ASSERT_EQ(0, set_replay(self->req2, self->env.a1, self->env.a2, self->env.family,
				SPI_OUT, st, NULL, &reply));
	got = msg_ext(&reply, SADB_X_EXT_REPLAY_STATE);
	ASSERT_NE(NULL, got);
	EXPECT_EQ(6, got->sadb_x_replay_state_seq);
	EXPECT_EQ(0x3d, got->sadb_x_replay_state_bitmap[0]);
}

TEST_F(sa, rewind_refused_and_nothing_changes)
{
	struct ip_view before, after;
	struct msg buf;

	send_packets(self->tx, 5);
	settle(self->env.a2, 5);
	ASSERT_EQ(0, ip_view(NS1, self->env.a2, SPI_OUT, &before));

	EXPECT_EQ(ERANGE, set_replay(self->req1, self->env.a1, self->env.a2,
				     self->env.family, SPI_OUT,
				     state_of(&self->env, &buf, 4, 0), NULL, NULL));
	EXPECT_EQ(ERANGE, set_replay(self->req2, self->env.a1, self->env.a2,
				     self->env.family, SPI_OUT,
				     state_of(&self->env, &buf, 0, 4), NULL, NULL));
	ASSERT_EQ(0, ip_view(NS1, self->env.a2, SPI_OUT, &after));
	EXPECT_EQ(before.oseq, after.oseq);
	ASSERT_EQ(0, ip_view(NS2, self->env.a2, SPI_OUT, &after));
	EXPECT_EQ(5, after.seq);
}

TEST_F(sa, malformed_set_replay_refused)
{
	struct sadb_x_replay_state *st;
	struct sadb_x_replay_thresh *t;
	struct ip_view before, after;
	struct msg m, buf;

	send_packets(self->tx, 3);
	settle(self->env.a2, 3);
	ASSERT_EQ(0, ip_view(NS1, self->env.a2, SPI_OUT, &before));

#define SET_EXPECT(err, build) do {					\
		msg_init(&m, SADB_X_SET_REPLAY, SADB_SATYPE_ESP);	\
		msg_add_sa_id(&m, SPI_OUT, self->env.family, self->env.a1,	\
			      self->env.a2);				\
		build;							\
		EXPECT_EQ(err, pfkey_request(self->req1, &m, NULL));	\
	} while (0)

	/* No extension to apply. */
	SET_EXPECT(EINVAL, (void)0);
	/* Unknown SA. */
	SET_EXPECT(ESRCH, ({
		((struct sadb_sa *)msg_ext(&m, SADB_EXT_SA))->sadb_sa_spi =
			htonl(0xdead);
		msg_add_thresh(&m, 1, 1); }));
	/* Window that is not the SA's. */
	SET_EXPECT(EINVAL, msg_add_state(&m, self->env.esn, 100, 0,
					 self->env.window * 2));
	/* ESN state on a non-ESN SA, and the reverse. */
	SET_EXPECT(EINVAL, msg_add_state(&m, !self->env.esn, 100, 0,
					 self->env.window));
	/* 64-bit numbers without ESN. */
	SET_EXPECT(EINVAL, msg_add_state(&m, false, 1ULL << 32, 0,
					 self->env.window));
	/* Reserved fields, cause, unknown flags. */
	SET_EXPECT(EINVAL, ({ st = msg_add_state(&m, self->env.esn, 100, 0,
						 self->env.window);
			      st->sadb_x_replay_state_reserved2 = 1; }));
	SET_EXPECT(EINVAL, ({ st = msg_add_state(&m, self->env.esn, 100, 0,
						 self->env.window);
			      st->sadb_x_replay_state_cause = 1; }));
	SET_EXPECT(EINVAL, ({ st = msg_add_state(&m, self->env.esn, 100, 0,
						 self->env.window);
			      st->sadb_x_replay_state_flags |= 0x80; }));
	SET_EXPECT(EINVAL, ({ t = msg_add_thresh(&m, 1, 1);
			      t->sadb_x_replay_thresh_reserved = 1; }));
	/* Duplicated extensions. */
	SET_EXPECT(EINVAL, ({ msg_add_thresh(&m, 1, 1);
			      msg_add_thresh(&m, 2, 2); }));
	SET_EXPECT(EINVAL, ({ msg_add_state(&m, self->env.esn, 100, 0,
					    self->env.window);
			      msg_add_state(&m, self->env.esn, 100, 0,
					    self->env.window); }));
	/* Too short, and longer than the window says. */
	SET_EXPECT(EINVAL, ({ t = msg_add(&m, SADB_X_EXT_REPLAY_THRESH, 8); }));
	SET_EXPECT(EINVAL, ({ t = msg_add(&m, SADB_X_EXT_REPLAY_THRESH, 24); }));
	SET_EXPECT(EINVAL, ({ st = msg_add(&m, SADB_X_EXT_REPLAY_STATE, 24); }));
	SET_EXPECT(EINVAL, ({
		st = msg_add(&m, SADB_X_EXT_REPLAY_STATE,
			     sizeof(*st) + (self->env.window + 63) / 64 * 8 + 8);
		st->sadb_x_replay_state_window = self->env.window; }));
	/* Bitmap bits past the window. */
	SET_EXPECT(EINVAL, ({ st = msg_add_state(&m, self->env.esn, 100, 0, 20);
			      st->sadb_x_replay_state_bitmap[0] = 1 << 20; }));
	/* Larger than any window the kernel allows. */
	SET_EXPECT(EINVAL, msg_add_state(&m, self->env.esn, 100, 0,
					 SADB_X_REPLAY_WINDOW_MAX + 32));
	/* A valid extension next to a bad one changes nothing either. */
	SET_EXPECT(EINVAL, ({ msg_add_thresh(&m, 3, 3);
			      msg_add_state(&m, self->env.esn, 100, 0,
					    self->env.window + 32); }));
#undef SET_EXPECT

	ASSERT_EQ(0, ip_view(NS1, self->env.a2, SPI_OUT, &after));
	EXPECT_EQ(before.oseq, after.oseq);
	ASSERT_EQ(0, ip_view(NS1, self->env.a2, SPI_OUT, &after));
	msg_init(&m, SADB_GET, SADB_SATYPE_ESP);
	msg_add_sa_id(&m, SPI_OUT, self->env.family, self->env.a1, self->env.a2);
	ASSERT_EQ(0, pfkey_request(self->req1, &m, &buf));
	t = (void *)msg_ext(&buf, SADB_X_EXT_REPLAY_THRESH);
	ASSERT_NE(NULL, t);
	EXPECT_EQ(0, t->sadb_x_replay_thresh_packets);
}

TEST_F(sa, counters_at_2_to_the_32)
{
	const struct sadb_x_replay_state *st;
	uint64_t start = 0xfffffff0ULL;
	struct ip_view out, in;
	struct msg buf, m;
	uint64_t last;

	ASSERT_EQ(0, set_replay(self->req1, self->env.a1, self->env.a2, self->env.family,
				SPI_OUT, state_of(&self->env, &buf, start, 0), NULL,
				NULL));
	/* The receiver learns where the sender is, as a standby would. */
	ASSERT_EQ(0, set_replay(self->req2, self->env.a1, self->env.a2, self->env.family,
				SPI_OUT, state_of(&self->env, &buf, 0, start), NULL,
				NULL));
	ASSERT_EQ(0, set_thresh(&self->env, self->req1, SPI_OUT, 10, 0));
	drain(self->listen1);

	/* ESN crosses into the high word; 32-bit SAs stop at 0xffffffff. */
	last = self->env.esn ? start + 26 : 0xffffffffULL;
	EXPECT_EQ(last - start, send_packets(self->tx, 26));

	st = next_notify(self->listen1, &m, SPI_OUT, 1000);
	ASSERT_NE(NULL, st);
	EXPECT_EQ(start + 10, st->sadb_x_replay_state_oseq);
	st = next_notify(self->listen1, &m, SPI_OUT, self->env.esn ? 1000 : 300);
	if (self->env.esn) {
		ASSERT_NE(NULL, st);
		EXPECT_EQ(start + 20, st->sadb_x_replay_state_oseq);
	} else {
		EXPECT_EQ(NULL, st);
	}

	ASSERT_EQ(0, ip_view(NS1, self->env.a2, SPI_OUT, &out));
	EXPECT_EQ(last, out.oseq);
	settle(self->env.a2, last);
	ASSERT_EQ(0, ip_view(NS2, self->env.a2, SPI_OUT, &in));
	EXPECT_EQ(last, in.seq);
	EXPECT_EQ(0, in.replay_window_errors);
}

/* A PF_KEY set-replay reaches netlink AEVENTS members, as NEWAE would. */
TEST_F(sa, set_replay_tells_netlink_listeners)
{
	struct sockaddr_nl nl = {
		.nl_family = AF_NETLINK,
		.nl_groups = 1 << (XFRMNLGRP_AEVENTS - 1),
	};
	struct pollfd pfd = { .events = POLLIN };
	struct xfrm_aevent_id *ae = NULL;
	struct nlmsghdr *nlh;
	char buf[8192];
	struct msg st;
	ssize_t n;

	pfd.fd = open_in_netns(NS1, AF_NETLINK, SOCK_RAW, NETLINK_XFRM);
	ASSERT_LE(0, pfd.fd);
	ASSERT_EQ(0, bind(pfd.fd, (void *)&nl, sizeof(nl)));

	ASSERT_EQ(0, set_replay(self->req1, self->env.a1, self->env.a2,
				self->env.family, SPI_OUT,
				state_of(&self->env, &st, 777, 0), NULL, NULL));
	while (!ae && poll(&pfd, 1, 1000) == 1) {
		n = recv(pfd.fd, buf, sizeof(buf), 0);
		ASSERT_LT(0, n);
		for (nlh = (void *)buf; NLMSG_OK(nlh, n); nlh = NLMSG_NEXT(nlh, n))
			if (nlh->nlmsg_type == XFRM_MSG_NEWAE)
				ae = NLMSG_DATA(nlh);
	}
	ASSERT_NE(NULL, ae);
	EXPECT_EQ(htonl(SPI_OUT), ae->sa_id.spi);
	EXPECT_EQ(XFRM_AE_CU, ae->flags);
	close(pfd.fd);
}

/* A registered socket that overflows learns it, and can resynchronise. */
TEST_F(sa, overrun_is_reported)
{
	const struct sadb_x_replay_state *st;
	int tiny = 1;
	struct msg m;

	ASSERT_EQ(0, setsockopt(self->listen1, SOL_SOCKET, SO_RCVBUF, &tiny,
				sizeof(tiny)));
	ASSERT_EQ(0, set_thresh(&self->env, self->req1, SPI_OUT, 1, 0));
	send_packets(self->tx, 100);
	usleep(200000);

	EXPECT_EQ(-1, recv(self->listen1, m.words, sizeof(m.words),
			   MSG_DONTWAIT));
	EXPECT_EQ(ENOBUFS, errno);
	/* What was queued is still there, then the stream goes on. */
	st = next_notify(self->listen1, &m, SPI_OUT, 500);
	ASSERT_NE(NULL, st);
	drain(self->listen1);
	send_packets(self->tx, 1);
	st = next_notify(self->listen1, &m, SPI_OUT, 1000);
	ASSERT_NE(NULL, st);
	EXPECT_EQ(101, st->sadb_x_replay_state_oseq);
}

TEST_F(sa, promiscuous_legacy_socket_sees_nothing_new)
{
	struct msg m, got;
	int promisc, seen = 0;

	promisc = pfkey_open(NS1);
	ASSERT_LE(0, promisc);
	msg_init(&m, SADB_X_PROMISC, 1);
	ASSERT_EQ(0, send(promisc, m.words, msg_len(&m), 0) < 0);
	drain(promisc);

	ASSERT_EQ(0, set_thresh(&self->env, self->req1, SPI_OUT, 1, 0));
	send_packets(self->tx, 3);
	usleep(200000);
	/* A registered socket's GET and DUMP: their replies carry the replay
	 * extensions, the copies a promiscuous socket gets must not.
	 */
	msg_init(&m, SADB_GET, SADB_SATYPE_ESP);
	msg_add_sa_id(&m, SPI_OUT, self->env.family, self->env.a1, self->env.a2);
	ASSERT_EQ(0, pfkey_request(self->req1, &m, &got));
	ASSERT_NE(NULL, msg_ext(&got, SADB_X_EXT_REPLAY_STATE));
	msg_init(&m, SADB_DUMP, SADB_SATYPE_ESP);
	ASSERT_EQ(0, send(self->req1, m.words, msg_len(&m), 0) < 0);
	drain(self->req1);
	while (pfkey_recv(promisc, &got, 200) == 1) {
		seen++;
		EXPECT_GE(SADB_MAX, got.hdr.sadb_msg_type);
		EXPECT_GE(SADB_EXT_MAX, msg_max_ext_type(&got));
	}
	/* It did see the requests themselves, in the old format. */
	EXPECT_LE(2, seen);
	close(promisc);
}

TEST_F(sa, delete_with_timer_pending)
{
	struct msg m;

	ASSERT_EQ(0, set_thresh(&self->env, self->req1, SPI_OUT, 0, 50));
	send_packets(self->tx, 2);
	ASSERT_EQ(0, sh("ip -n %s xfrm state delete dst %s proto esp spi 0x%x",
			NS1, self->env.a2, SPI_OUT));
	usleep(200000);
	drain(self->listen1);
	EXPECT_EQ(NULL, next_notify(self->listen1, &m, SPI_OUT, 300));
}

TEST(register_rules)
{
	struct msg m;
	int fd;

	fd = pfkey_open(NS3);
	ASSERT_LE(0, fd);
	msg_init(&m, SADB_X_REPLAY_REGISTER, SADB_SATYPE_ESP);
	EXPECT_EQ(EINVAL, pfkey_request(fd, &m, NULL));
	msg_init(&m, SADB_X_REPLAY_REGISTER, SADB_SATYPE_UNSPEC);
	msg_add_thresh(&m, 1, 1);
	EXPECT_EQ(EINVAL, pfkey_request(fd, &m, NULL));
	/* The reply does not echo whatever errno the request carried. */
	msg_init(&m, SADB_X_REPLAY_REGISTER, SADB_SATYPE_UNSPEC);
	m.hdr.sadb_msg_errno = EIO;
	EXPECT_EQ(0, pfkey_request(fd, &m, NULL));
	EXPECT_EQ(EEXIST, pfkey_register_replay(fd));
	close(fd);
}

/* Replay extensions where a message does not use them, or T above its
 * maximum, are refused, never ignored.
 */
TEST(replay_extensions_only_where_used)
{
	struct msg m;
	int fd;

	fd = pfkey_open(NS3);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pfkey_register_replay(fd));
	msg_init(&m, SADB_GET, SADB_SATYPE_ESP);
	msg_add_sa_id(&m, 0x3001, AF_INET, "10.9.0.1", "10.9.0.2");
	msg_add_thresh(&m, 1, 1);
	EXPECT_EQ(EINVAL, pfkey_request(fd, &m, NULL));
	msg_init(&m, SADB_FLUSH, SADB_SATYPE_ESP);
	msg_add_state(&m, false, 1, 1, 32);
	EXPECT_EQ(EINVAL, pfkey_request(fd, &m, NULL));
	msg_init(&m, SADB_X_SET_REPLAY, SADB_SATYPE_ESP);
	msg_add_sa_id(&m, 0x3001, AF_INET, "10.9.0.1", "10.9.0.2");
	msg_add_thresh(&m, 1, SADB_X_REPLAY_MSECS_MAX + 1);
	EXPECT_EQ(EINVAL, pfkey_request(fd, &m, NULL));
	close(fd);
}

/* The thresholds SADB_GET reports for the SA of thresholds_at_add_and_update. */
static const struct sadb_x_replay_thresh *get_thresh(int fd, struct msg *reply)
{
	struct msg m;

	msg_init(&m, SADB_GET, SADB_SATYPE_ESP);
	msg_add_sa_id(&m, 0x3001, AF_INET, "10.9.0.1", "10.9.0.2");
	if (pfkey_request(fd, &m, reply))
		return NULL;
	return msg_ext(reply, SADB_X_EXT_REPLAY_THRESH);
}

TEST(thresholds_at_add_and_update)
{
	const struct sadb_x_replay_thresh *t;
	struct msg m, reply;
	int fd;

	fd = pfkey_open(NS3);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pfkey_register_replay(fd));
	sh("ip -n %s xfrm state flush", NS3);
	ASSERT_EQ(0, pfkey_add_sa(fd, SADB_ADD, AF_INET, 0x3001, "10.9.0.1",
				  "10.9.0.2", 5, 2000));
	t = get_thresh(fd, &reply);
	ASSERT_NE(NULL, t);
	EXPECT_EQ(5, t->sadb_x_replay_thresh_packets);
	EXPECT_EQ(2000, t->sadb_x_replay_thresh_msecs);

	/* SADB_UPDATE of a live SA carries new thresholds over. */
	ASSERT_EQ(0, pfkey_add_sa(fd, SADB_UPDATE, AF_INET, 0x3001,
				  "10.9.0.1", "10.9.0.2", 64, 1000));
	t = get_thresh(fd, &reply);
	ASSERT_NE(NULL, t);
	EXPECT_EQ(64, t->sadb_x_replay_thresh_packets);
	EXPECT_EQ(1000, t->sadb_x_replay_thresh_msecs);

	/* T is rounded up to the tick, never down to 0. */
	msg_init(&m, SADB_X_SET_REPLAY, SADB_SATYPE_ESP);
	msg_add_sa_id(&m, 0x3001, AF_INET, "10.9.0.1", "10.9.0.2");
	msg_add_thresh(&m, 64, 1);
	ASSERT_EQ(0, pfkey_request(fd, &m, &reply));
	t = msg_ext(&reply, SADB_X_EXT_REPLAY_THRESH);
	ASSERT_NE(NULL, t);
	EXPECT_LE(1, t->sadb_x_replay_thresh_msecs);
	EXPECT_GE(10, t->sadb_x_replay_thresh_msecs);
	sh("ip -n %s xfrm state flush", NS3);
	close(fd);
}

static int drop_net_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[0].effective &= ~(1U << CAP_NET_ADMIN);
	return syscall(SYS_capset, &hdr, data);
}

TEST(eperm_without_cap_net_admin)
{
	struct msg m;
	int fd;

	fd = pfkey_open(NS3);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, drop_net_admin());
	EXPECT_GT(0, pfkey_open(NS3));
	EXPECT_EQ(EPERM, pfkey_register_replay(fd));
	msg_init(&m, SADB_X_SET_REPLAY, SADB_SATYPE_ESP);
	msg_add_sa_id(&m, 0x3001, AF_INET, "10.9.0.1", "10.9.0.2");
	msg_add_thresh(&m, 1, 1);
	EXPECT_EQ(EPERM, pfkey_request(fd, &m, NULL));
	close(fd);
}

static void __attribute__((constructor)) skip_unless_supported(void)
{
	skip_without_extension();
}

TEST_HARNESS_MAIN
