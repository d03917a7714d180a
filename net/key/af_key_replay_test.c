// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * KUnit tests of the PF_KEY replay-state extension: the notification
 * thresholds as the replay paths apply them, the validation of the new
 * extensions (directly and through a real PF_KEY socket), and the rules of
 * set-replay.
 */

#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/net.h>
#include <linux/prandom.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "af_key_replay.h"

#define WORDS(bytes)	((bytes) / sizeof(u64))

static const struct xfrm_type replay_test_type = {
	.flags = XFRM_TYPE_REPLAY_PROT,
};

struct replay_test {
	struct socket *sock;	/* registered PF_KEY socket in init_net */
	struct xfrm_state *x;
};

static int pfkey_send(struct socket *sock, const void *msg)
{
	const struct sadb_msg *hdr = msg;
	struct kvec vec = {
		.iov_base = (void *)msg,
		.iov_len = hdr->sadb_msg_len * sizeof(u64),
	};
	struct msghdr mh = {};

	return kernel_sendmsg(sock, &mh, &vec, 1, vec.iov_len);
}

/* Next message on @sock, or NULL when there is none. Caller kfree()s. */
static struct sadb_msg *pfkey_next(struct socket *sock)
{
	struct msghdr mh = { .msg_flags = MSG_DONTWAIT };
	struct kvec vec;
	void *buf;
	int n;

	buf = kzalloc(PAGE_SIZE, GFP_KERNEL);
	if (!buf)
		return NULL;
	vec.iov_base = buf;
	vec.iov_len = PAGE_SIZE;
	n = kernel_recvmsg(sock, &mh, &vec, 1, PAGE_SIZE, MSG_DONTWAIT);
	if (n < (int)sizeof(struct sadb_msg)) {
		kfree(buf);
		return NULL;
	}
	return buf;
}

static int pfkey_roundtrip(struct socket *sock, void *msg)
{
	struct sadb_msg *hdr = msg, *reply;
	int err = -ETIMEDOUT;

	hdr->sadb_msg_version = PF_KEY_V2;
	hdr->sadb_msg_seq = 4242;
	if (pfkey_send(sock, msg) < 0)
		return -EIO;
	while ((reply = pfkey_next(sock))) {
		bool mine = reply->sadb_msg_seq == 4242 &&
			    reply->sadb_msg_type == hdr->sadb_msg_type;

		if (mine)
			err = -reply->sadb_msg_errno;
		kfree(reply);
		if (mine)
			break;
	}
	return err;
}

static const void *find_ext(const struct sadb_msg *hdr, u16 type)
{
	const u8 *p = (const u8 *)(hdr + 1);
	const u8 *end = (const u8 *)hdr + hdr->sadb_msg_len * sizeof(u64);

	while (p + sizeof(struct sadb_ext) <= end) {
		const struct sadb_ext *ext = (const void *)p;

		if (!ext->sadb_ext_len)
			break;
		if (ext->sadb_ext_type == type)
			return ext;
		p += ext->sadb_ext_len * sizeof(u64);
	}
	return NULL;
}

/* Length of the next message on @sock, or a negative errno. */
static int pfkey_recv_len(struct socket *sock)
{
	struct msghdr mh = {};
	struct kvec vec;
	static u8 buf[PAGE_SIZE];

	vec.iov_base = buf;
	vec.iov_len = sizeof(buf);
	return kernel_recvmsg(sock, &mh, &vec, 1, sizeof(buf), MSG_DONTWAIT);
}

/* Replay notifications waiting on the socket: count, and the last one. */
static int take_notifications(struct replay_test *t,
			      struct sadb_x_replay_state *last)
{
	struct sadb_msg *msg;
	int n = 0;

	while ((msg = pfkey_next(t->sock))) {
		const struct sadb_x_replay_state *st;

		st = find_ext(msg, SADB_X_EXT_REPLAY_STATE);
		if (msg->sadb_msg_type == SADB_X_REPLAY_NOTIFY && st) {
			memcpy(last, st, sizeof(*last));
			n++;
		}
		kfree(msg);
	}
	return n;
}

static struct xfrm_state *test_state(struct kunit *test,
				     enum xfrm_replay_mode mode, u32 window)
{
	struct xfrm_state *x = xfrm_state_alloc(&init_net);
	size_t len;

	KUNIT_ASSERT_NOT_NULL(test, x);
	x->id.proto = IPPROTO_ESP;
	x->id.spi = htonl(0x4242);
	x->props.family = AF_INET;
	x->props.mode = XFRM_MODE_TRANSPORT;
	x->type = &replay_test_type;
	x->repl_mode = mode;
	x->km.state = XFRM_STATE_VALID;
	if (mode == XFRM_REPLAY_MODE_LEGACY) {
		x->props.replay_window = window;
		return x;
	}
	len = sizeof(*x->replay_esn) + DIV_ROUND_UP(window, 32) * sizeof(u32);
	x->replay_esn = kzalloc(len, GFP_KERNEL);
	x->preplay_esn = kzalloc(len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, x->replay_esn);
	KUNIT_ASSERT_NOT_NULL(test, x->preplay_esn);
	x->replay_esn->bmp_len = DIV_ROUND_UP(window, 32);
	x->replay_esn->replay_window = window;
	x->preplay_esn->bmp_len = x->replay_esn->bmp_len;
	x->preplay_esn->replay_window = window;
	if (mode == XFRM_REPLAY_MODE_ESN)
		x->props.flags |= XFRM_STATE_ESN;
	return x;
}

static void put_state(struct xfrm_state *x)
{
	timer_delete_sync(&x->rtimer);
	x->type = NULL;		/* replay_test_type has nothing to destroy */
	x->km.state = XFRM_STATE_DEAD;
	xfrm_state_put(x);
}

static int replay_test_init(struct kunit *test)
{
	struct sadb_msg reg = {
		.sadb_msg_type = SADB_X_REPLAY_REGISTER,
		.sadb_msg_len = WORDS(sizeof(reg)),
	};
	struct replay_test *t;

	t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	KUNIT_ASSERT_EQ(test, 0, sock_create_kern(&init_net, PF_KEY, SOCK_RAW,
						  PF_KEY_V2, &t->sock));
	KUNIT_ASSERT_EQ(test, 0, pfkey_roundtrip(t->sock, &reg));
	test->priv = t;
	return 0;
}

static void replay_test_exit(struct kunit *test)
{
	struct replay_test *t = test->priv;

	if (t->x)
		put_state(t->x);
	sock_release(t->sock);
}

static void set_thresh(struct kunit *test, struct xfrm_state *x, u32 packets,
		       u32 msecs)
{
	struct sadb_x_replay_thresh th = {
		.sadb_x_replay_thresh_len = WORDS(sizeof(th)),
		.sadb_x_replay_thresh_exttype = SADB_X_EXT_REPLAY_THRESH,
		.sadb_x_replay_thresh_packets = packets,
		.sadb_x_replay_thresh_msecs = msecs,
	};

	KUNIT_ASSERT_EQ(test, 0, pfkey_replay_apply(x, NULL, &th, NULL));
}

static void advance(struct xfrm_state *x, u32 seq)
{
	spin_lock_bh(&x->lock);
	xfrm_replay_advance(x, htonl(seq));
	spin_unlock_bh(&x->lock);
}

static int overflow(struct xfrm_state *x)
{
	struct sk_buff *skb = alloc_skb(0, GFP_KERNEL);
	int err;

	if (!skb)
		return -ENOMEM;
	spin_lock_bh(&x->lock);
	err = xfrm_replay_overflow(x, skb);
	spin_unlock_bh(&x->lock);
	kfree_skb(skb);
	return err;
}

static void count_threshold_inbound(struct kunit *test)
{
	struct replay_test *t = test->priv;
	struct sadb_x_replay_state st;
	u32 seq;

	t->x = test_state(test, XFRM_REPLAY_MODE_LEGACY, 32);
	set_thresh(test, t->x, 5, 0);
	take_notifications(t, &st);

	for (seq = 1; seq <= 4; seq++)
		advance(t->x, seq);
	KUNIT_EXPECT_EQ(test, 0, take_notifications(t, &st));
	advance(t->x, 5);
	KUNIT_ASSERT_EQ(test, 1, take_notifications(t, &st));
	KUNIT_EXPECT_EQ(test, SADB_X_REPLAY_CAUSE_COUNT,
			st.sadb_x_replay_state_cause);
	KUNIT_EXPECT_EQ(test, 5ULL, st.sadb_x_replay_state_seq);
	for (seq = 6; seq <= 10; seq++)
		advance(t->x, seq);
	KUNIT_ASSERT_EQ(test, 1, take_notifications(t, &st));
	KUNIT_EXPECT_EQ(test, 10ULL, st.sadb_x_replay_state_seq);
}

static void count_threshold_outbound(struct kunit *test)
{
	struct replay_test *t = test->priv;
	struct sadb_x_replay_state st;
	int i;

	t->x = test_state(test, XFRM_REPLAY_MODE_BMP, 128);
	set_thresh(test, t->x, 3, 0);
	take_notifications(t, &st);

	for (i = 0; i < 7; i++)
		KUNIT_ASSERT_EQ(test, 0, overflow(t->x));
	KUNIT_ASSERT_EQ(test, 2, take_notifications(t, &st));
	KUNIT_EXPECT_EQ(test, 6ULL, st.sadb_x_replay_state_oseq);
}

static void no_threshold_no_notification(struct kunit *test)
{
	struct replay_test *t = test->priv;
	struct sadb_x_replay_state st;
	u32 seq;

	t->x = test_state(test, XFRM_REPLAY_MODE_LEGACY, 32);
	for (seq = 1; seq <= 100; seq++)
		advance(t->x, seq);
	KUNIT_EXPECT_EQ(test, 0, take_notifications(t, &st));
}

static void timer_then_idle_then_packet(struct kunit *test)
{
	struct replay_test *t = test->priv;
	struct sadb_x_replay_state st;

	t->x = test_state(test, XFRM_REPLAY_MODE_LEGACY, 32);
	set_thresh(test, t->x, 0, 20);
	KUNIT_EXPECT_TRUE(test, timer_pending(&t->x->rtimer));
	take_notifications(t, &st);

	advance(t->x, 1);
	KUNIT_EXPECT_EQ(test, 0, take_notifications(t, &st));
	msleep(100);
	KUNIT_ASSERT_EQ(test, 1, take_notifications(t, &st));
	KUNIT_EXPECT_EQ(test, SADB_X_REPLAY_CAUSE_TIMER,
			st.sadb_x_replay_state_cause);
	KUNIT_EXPECT_EQ(test, 1ULL, st.sadb_x_replay_state_seq);

	/* Nothing changed: the timer stays quiet and stops... */
	msleep(100);
	KUNIT_EXPECT_EQ(test, 0, take_notifications(t, &st));
	KUNIT_EXPECT_FALSE(test, timer_pending(&t->x->rtimer));

	/* ...and the next packet is reported at once, re-arming it. */
	advance(t->x, 2);
	KUNIT_ASSERT_EQ(test, 1, take_notifications(t, &st));
	KUNIT_EXPECT_EQ(test, 2ULL, st.sadb_x_replay_state_seq);
	KUNIT_EXPECT_TRUE(test, timer_pending(&t->x->rtimer));

	/* T = 0 disarms. */
	set_thresh(test, t->x, 0, 0);
	KUNIT_EXPECT_FALSE(test, timer_pending(&t->x->rtimer));
}

/* The SA's timer expired while nobody listened (XFRM_TIME_DEFER): new
 * thresholds start a new period instead of reporting every packet.
 */
static void new_thresholds_end_a_deferred_expiry(struct kunit *test)
{
	struct replay_test *t = test->priv;
	struct sadb_x_replay_state st;
	u32 seq;

	t->x = test_state(test, XFRM_REPLAY_MODE_LEGACY, 32);
	t->x->xflags |= XFRM_TIME_DEFER;
	set_thresh(test, t->x, 5, 60000);
	take_notifications(t, &st);

	for (seq = 1; seq <= 4; seq++)
		advance(t->x, seq);
	KUNIT_EXPECT_EQ(test, 0, take_notifications(t, &st));
	advance(t->x, 5);
	KUNIT_ASSERT_EQ(test, 1, take_notifications(t, &st));
	KUNIT_EXPECT_EQ(test, SADB_X_REPLAY_CAUSE_COUNT,
			st.sadb_x_replay_state_cause);
}

static void esn_high_word_crossing(struct kunit *test)
{
	struct replay_test *t = test->priv;
	struct sadb_x_replay_state st;
	int i;

	t->x = test_state(test, XFRM_REPLAY_MODE_ESN, 128);
	t->x->replay_esn->oseq = 0xfffffffe;
	t->x->preplay_esn->oseq = 0xfffffffe;
	set_thresh(test, t->x, 3, 0);
	take_notifications(t, &st);

	for (i = 0; i < 3; i++)
		KUNIT_ASSERT_EQ(test, 0, overflow(t->x));
	KUNIT_ASSERT_EQ(test, 1, take_notifications(t, &st));
	KUNIT_EXPECT_EQ(test, 0x100000001ULL, st.sadb_x_replay_state_oseq);
	KUNIT_EXPECT_EQ(test, SADB_X_REPLAY_F_ESN,
			st.sadb_x_replay_state_flags);
}

static void legacy_stops_at_32_bits(struct kunit *test)
{
	struct replay_test *t = test->priv;
	struct sadb_x_replay_state st;

	t->x = test_state(test, XFRM_REPLAY_MODE_LEGACY, 32);
	t->x->replay.oseq = 0xfffffffe;
	t->x->preplay.oseq = 0xfffffffe;
	set_thresh(test, t->x, 2, 0);
	take_notifications(t, &st);

	KUNIT_EXPECT_EQ(test, 0, overflow(t->x));
	KUNIT_EXPECT_EQ(test, -EOVERFLOW, overflow(t->x));
	KUNIT_EXPECT_EQ(test, 0xffffffffU, t->x->replay.oseq);
	KUNIT_EXPECT_EQ(test, 0, take_notifications(t, &st));
}

/* A zeroed replay-state extension for @window, with @extra bytes more. */
static struct sadb_x_replay_state *state_ext(struct kunit *test, u32 window,
					     size_t extra)
{
	size_t len = sizeof(struct sadb_x_replay_state) +
		     DIV_ROUND_UP(window, 64) * sizeof(u64) + extra;
	struct sadb_x_replay_state *st = kunit_kzalloc(test, len, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, st);
	st->sadb_x_replay_state_len = WORDS(len);
	st->sadb_x_replay_state_exttype = SADB_X_EXT_REPLAY_STATE;
	st->sadb_x_replay_state_window = window;
	return st;
}

static void verify_thresh_ext(struct kunit *test)
{
	struct sadb_x_replay_thresh th[2] = {};

	th[0].sadb_x_replay_thresh_exttype = SADB_X_EXT_REPLAY_THRESH;
	th[0].sadb_x_replay_thresh_len = 2;
	KUNIT_EXPECT_EQ(test, 0, pfkey_replay_verify_ext((void *)th));
	th[0].sadb_x_replay_thresh_len = 1;
	KUNIT_EXPECT_EQ(test, -EINVAL, pfkey_replay_verify_ext((void *)th));
	th[0].sadb_x_replay_thresh_len = 4;
	KUNIT_EXPECT_EQ(test, -EINVAL, pfkey_replay_verify_ext((void *)th));
	th[0].sadb_x_replay_thresh_len = 2;
	th[0].sadb_x_replay_thresh_reserved = 1;
	KUNIT_EXPECT_EQ(test, -EINVAL, pfkey_replay_verify_ext((void *)th));
}

static void verify_state_ext(struct kunit *test)
{
	struct sadb_x_replay_state *st;

	st = state_ext(test, 128, 0);
	KUNIT_EXPECT_EQ(test, 0, pfkey_replay_verify_ext((void *)st));
	st = state_ext(test, 0, 0);
	KUNIT_EXPECT_EQ(test, 0, pfkey_replay_verify_ext((void *)st));
	st = state_ext(test, SADB_X_REPLAY_WINDOW_MAX, 0);
	KUNIT_EXPECT_EQ(test, 0, pfkey_replay_verify_ext((void *)st));

	/* Longer than the window says, or shorter. */
	st = state_ext(test, 128, 8);
	KUNIT_EXPECT_EQ(test, -EINVAL, pfkey_replay_verify_ext((void *)st));
	st = state_ext(test, 128, 0);
	st->sadb_x_replay_state_window = 129;
	KUNIT_EXPECT_EQ(test, -EINVAL, pfkey_replay_verify_ext((void *)st));
	st->sadb_x_replay_state_len = 3;
	KUNIT_EXPECT_EQ(test, -EINVAL, pfkey_replay_verify_ext((void *)st));
	/* Larger than the kernel allows. */
	st = state_ext(test, SADB_X_REPLAY_WINDOW_MAX + 64, 0);
	KUNIT_EXPECT_EQ(test, -EINVAL, pfkey_replay_verify_ext((void *)st));
	/* Bits past the window, bits in the padding. */
	st = state_ext(test, 20, 0);
	st->sadb_x_replay_state_bitmap[0] = BIT(20);
	KUNIT_EXPECT_EQ(test, -EINVAL, pfkey_replay_verify_ext((void *)st));
	st = state_ext(test, 32, 0);
	st->sadb_x_replay_state_bitmap[1] = 1;
	KUNIT_EXPECT_EQ(test, -EINVAL, pfkey_replay_verify_ext((void *)st));
	/* 64-bit numbers need the ESN flag; unknown flags and causes. */
	st = state_ext(test, 32, 0);
	st->sadb_x_replay_state_seq = 1ULL << 32;
	KUNIT_EXPECT_EQ(test, -EINVAL, pfkey_replay_verify_ext((void *)st));
	st->sadb_x_replay_state_flags = SADB_X_REPLAY_F_ESN;
	KUNIT_EXPECT_EQ(test, 0, pfkey_replay_verify_ext((void *)st));
	st->sadb_x_replay_state_flags = 0x2;
	KUNIT_EXPECT_EQ(test, -EINVAL, pfkey_replay_verify_ext((void *)st));
	st->sadb_x_replay_state_flags = SADB_X_REPLAY_F_ESN;
	st->sadb_x_replay_state_cause = SADB_X_REPLAY_CAUSE_TIMER;
	KUNIT_EXPECT_EQ(test, -EINVAL, pfkey_replay_verify_ext((void *)st));
}

/* Through the socket: the message-level rules parse_exthdrs() enforces. */
static void set_replay_parsing(struct kunit *test)
{
	struct replay_test *t = test->priv;
	struct {
		struct sadb_msg hdr;
		struct sadb_x_replay_thresh th[2];
	} m = {};

	m.hdr.sadb_msg_type = SADB_X_SET_REPLAY;
	m.hdr.sadb_msg_satype = SADB_SATYPE_ESP;
	m.th[0].sadb_x_replay_thresh_exttype = SADB_X_EXT_REPLAY_THRESH;
	m.th[0].sadb_x_replay_thresh_len = 2;
	m.th[1] = m.th[0];

	/* Well formed but no SA named. */
	m.hdr.sadb_msg_len = WORDS(sizeof(m.hdr) + sizeof(m.th[0]));
	KUNIT_EXPECT_EQ(test, -EINVAL, pfkey_roundtrip(t->sock, &m));
	/* Duplicated extension. */
	m.hdr.sadb_msg_len = WORDS(sizeof(m));
	KUNIT_EXPECT_EQ(test, -EINVAL, pfkey_roundtrip(t->sock, &m));
	/* Length in bytes instead of 64-bit words runs past the message. */
	m.hdr.sadb_msg_len = WORDS(sizeof(m.hdr) + sizeof(m.th[0]));
	m.th[0].sadb_x_replay_thresh_len = sizeof(m.th[0]);
	KUNIT_EXPECT_EQ(test, -EINVAL, pfkey_roundtrip(t->sock, &m));
	/* The socket is registered already. */
	m.hdr.sadb_msg_type = SADB_X_REPLAY_REGISTER;
	m.hdr.sadb_msg_satype = 0;
	m.hdr.sadb_msg_len = WORDS(sizeof(m.hdr));
	KUNIT_EXPECT_EQ(test, -EEXIST, pfkey_roundtrip(t->sock, &m));
}

static void set_rules(struct kunit *test)
{
	struct replay_test *t = test->priv;
	struct sadb_x_replay_state *st;

	t->x = test_state(test, XFRM_REPLAY_MODE_BMP, 64);
	t->x->replay_esn->oseq = 100;
	t->x->replay_esn->seq = 50;

	st = state_ext(test, 64, 0);
	st->sadb_x_replay_state_oseq = 99;
	st->sadb_x_replay_state_seq = 50;
	KUNIT_EXPECT_EQ(test, -ERANGE, pfkey_replay_apply(t->x, st, NULL, NULL));
	st->sadb_x_replay_state_oseq = 100;
	st->sadb_x_replay_state_seq = 49;
	KUNIT_EXPECT_EQ(test, -ERANGE, pfkey_replay_apply(t->x, st, NULL, NULL));
	st->sadb_x_replay_state_seq = 50;
	st->sadb_x_replay_state_flags = SADB_X_REPLAY_F_ESN;
	KUNIT_EXPECT_EQ(test, -EINVAL, pfkey_replay_apply(t->x, st, NULL, NULL));
	st = state_ext(test, 32, 0);
	st->sadb_x_replay_state_oseq = 200;
	st->sadb_x_replay_state_seq = 60;
	KUNIT_EXPECT_EQ(test, -EINVAL, pfkey_replay_apply(t->x, st, NULL, NULL));
	KUNIT_EXPECT_EQ(test, 100U, t->x->replay_esn->oseq);

	st = state_ext(test, 64, 0);
	st->sadb_x_replay_state_oseq = 200;
	st->sadb_x_replay_state_seq = 60;
	KUNIT_EXPECT_EQ(test, 0, pfkey_replay_apply(t->x, st, NULL, NULL));
	KUNIT_EXPECT_EQ(test, 200U, t->x->replay_esn->oseq);
	KUNIT_EXPECT_EQ(test, 60U, t->x->replay_esn->seq);

	t->x->km.state = XFRM_STATE_EXPIRED;
	KUNIT_EXPECT_EQ(test, -ESRCH, pfkey_replay_apply(t->x, st, NULL, NULL));
}

/* The window moves forward and keeps what was accepted, in every layout. */
static void set_merges_bitmap(struct kunit *test)
{
	static const enum xfrm_replay_mode modes[] = {
		XFRM_REPLAY_MODE_LEGACY, XFRM_REPLAY_MODE_BMP,
		XFRM_REPLAY_MODE_ESN,
	};
	struct sadb_x_replay_state *st;
	struct sk_buff *skb;
	unsigned int i;
	u32 seq;

	for (i = 0; i < ARRAY_SIZE(modes); i++) {
		struct xfrm_state *x = test_state(test, modes[i], 32);
		const struct sadb_x_replay_state *got;

		for (seq = 1; seq <= 4; seq++)
			advance(x, seq);
		st = state_ext(test, 32, 0);
		st->sadb_x_replay_state_flags =
			modes[i] == XFRM_REPLAY_MODE_ESN ? SADB_X_REPLAY_F_ESN : 0;
		st->sadb_x_replay_state_seq = 6;
		st->sadb_x_replay_state_bitmap[0] = 1;
		KUNIT_EXPECT_EQ(test, 0, pfkey_replay_apply(x, st, NULL, NULL));

		skb = alloc_skb(sizeof(struct sadb_msg), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, skb);
		skb_put_zero(skb, sizeof(struct sadb_msg));
		((struct sadb_msg *)skb->data)->sadb_msg_len = 2;
		skb = pfkey_replay_append(skb, x, SADB_X_REPLAY_CAUSE_NONE);
		KUNIT_ASSERT_FALSE(test, IS_ERR(skb));
		got = find_ext((void *)skb->data, SADB_X_EXT_REPLAY_STATE);
		KUNIT_ASSERT_NOT_NULL(test, got);
		KUNIT_EXPECT_EQ(test, 6ULL, got->sadb_x_replay_state_seq);
		/* 6 (age 0) and 1..4 (ages 2..5); 5 never arrived. */
		KUNIT_EXPECT_EQ(test, 0x3dU, got->sadb_x_replay_state_bitmap[0]);
		kfree_skb(skb);

		put_state(x);
	}
}

/* A registered socket that overflows gets one ENOBUFS per episode: drops
 * while it has not emptied its queue do not raise it again, as on netlink.
 */
static void overrun_once_per_episode(struct kunit *test)
{
	struct replay_test *t = test->priv;
	struct sock *sk = t->sock->sk;
	u32 seq = 0;
	int i, n;

	t->x = test_state(test, XFRM_REPLAY_MODE_LEGACY, 32);
	set_thresh(test, t->x, 1, 0);
	WRITE_ONCE(sk->sk_rcvbuf, SOCK_MIN_RCVBUF);
	while (pfkey_recv_len(t->sock) > 0)
		;

	for (i = 0; i < 64; i++)
		advance(t->x, ++seq);
	KUNIT_EXPECT_EQ(test, -ENOBUFS, pfkey_recv_len(t->sock));

	/* More drops before the queue drained: reported already. */
	for (i = 0; i < 64; i++)
		advance(t->x, ++seq);
	KUNIT_EXPECT_GT(test, pfkey_recv_len(t->sock), 0);

	/* Drained, the next episode is reported again. */
	do {
		n = pfkey_recv_len(t->sock);
	} while (n > 0);
	KUNIT_EXPECT_EQ(test, -EAGAIN, n);
	for (i = 0; i < 64; i++)
		advance(t->x, ++seq);
	KUNIT_EXPECT_EQ(test, -ENOBUFS, pfkey_recv_len(t->sock));
}

/* The extensions pfkey_replay_append() gives for @x, kunit-managed. */
static struct sadb_x_replay_state *appended_state(struct kunit *test,
						  const struct xfrm_state *x)
{
	const struct sadb_x_replay_state *got;
	struct sadb_x_replay_state *copy;
	struct sk_buff *skb;
	size_t len;

	skb = alloc_skb(sizeof(struct sadb_msg), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, skb);
	skb_put_zero(skb, sizeof(struct sadb_msg));
	((struct sadb_msg *)skb->data)->sadb_msg_len =
		WORDS(sizeof(struct sadb_msg));
	skb = pfkey_replay_append(skb, x, SADB_X_REPLAY_CAUSE_NONE);
	KUNIT_ASSERT_FALSE(test, IS_ERR(skb));
	KUNIT_EXPECT_EQ(test, (size_t)skb->len,
			((struct sadb_msg *)skb->data)->sadb_msg_len *
			sizeof(u64));
	got = find_ext((void *)skb->data, SADB_X_EXT_REPLAY_STATE);
	KUNIT_ASSERT_NOT_NULL(test, got);
	len = got->sadb_x_replay_state_len * sizeof(u64);
	KUNIT_EXPECT_PTR_EQ(test, (void *)got + len,
			    (void *)skb_tail_pointer(skb));
	copy = kunit_kzalloc(test, len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, copy);
	memcpy(copy, got, len);
	kfree_skb(skb);
	return copy;
}

/* A window NEWAE set to 0 under a live ESN SA: nothing to divide by. */
static void esn_window_zero(struct kunit *test)
{
	struct replay_test *t = test->priv;
	struct sadb_x_replay_state *st;

	t->x = test_state(test, XFRM_REPLAY_MODE_ESN, 128);
	t->x->replay_esn->seq = 77;
	t->x->replay_esn->bmp[0] = ~0U;
	t->x->replay_esn->replay_window = 0;
	st = appended_state(test, t->x);
	KUNIT_EXPECT_EQ(test, 0U, st->sadb_x_replay_state_window);
	KUNIT_EXPECT_EQ(test, WORDS(sizeof(*st)),
			(size_t)st->sadb_x_replay_state_len);
	KUNIT_EXPECT_EQ(test, 77ULL, st->sadb_x_replay_state_seq);

	/* And a state for window 0 applies. */
	st = state_ext(test, 0, 0);
	st->sadb_x_replay_state_flags = SADB_X_REPLAY_F_ESN;
	st->sadb_x_replay_state_seq = 80;
	KUNIT_EXPECT_EQ(test, 0, pfkey_replay_apply(t->x, st, NULL, NULL));
	KUNIT_EXPECT_EQ(test, 80U, t->x->replay_esn->seq);
}

/* Whatever the window field says, a message never reports more than the
 * bitmap holds: sizes and indices come from one clamped read.
 */
static void window_clamped_to_bitmap(struct kunit *test)
{
	struct replay_test *t = test->priv;
	struct sadb_x_replay_state *st;

	t->x = test_state(test, XFRM_REPLAY_MODE_BMP, 64);
	t->x->replay_esn->replay_window = 4096;
	t->x->replay_esn->seq = 10;
	st = appended_state(test, t->x);
	KUNIT_EXPECT_EQ(test, 64U, st->sadb_x_replay_state_window);
	KUNIT_EXPECT_EQ(test, WORDS(sizeof(*st)) + 1,
			(size_t)st->sadb_x_replay_state_len);
}

/* The input path's view of age @age, bit by bit (xfrm_replay_check_bmp()). */
static bool ring_reference(const struct xfrm_replay_state_esn *esn, u32 age)
{
	u32 w = esn->replay_window, top = (esn->seq - 1) % w;
	u32 slot = top >= age ? top - age : w - (age - top);

	return esn->bmp[slot / 32] & BIT(slot % 32);
}

static bool canonical_bit(const struct sadb_x_replay_state *st, u32 age)
{
	return st->sadb_x_replay_state_bitmap[age / 32] & BIT(age % 32);
}

/* One window and top: ring -> canonical against the per-bit reference,
 * then canonical -> ring and back.
 */
static void ring_case(struct kunit *test, struct rnd_state *rnd, u32 window,
		      u32 seq)
{
	struct xfrm_state *x = test_state(test, XFRM_REPLAY_MODE_ESN, window);
	struct xfrm_replay_state_esn *esn = x->replay_esn;
	struct sadb_x_replay_state *st, *back;
	unsigned int i;
	u32 age;

	esn->seq = seq;
	esn->seq_hi = 1;
	for (i = 0; i < esn->bmp_len; i++)
		esn->bmp[i] = prandom_u32_state(rnd);
	if (window % 32)
		esn->bmp[esn->bmp_len - 1] &= GENMASK(window % 32 - 1, 0);

	st = appended_state(test, x);
	KUNIT_ASSERT_EQ(test, window, st->sadb_x_replay_state_window);
	/* What a notification allocates room for is what it appends. */
	KUNIT_EXPECT_EQ(test, pfkey_replay_room(x),
			sizeof(struct sadb_x_replay_thresh) +
			st->sadb_x_replay_state_len * sizeof(u64));
	for (age = 0; age < window; age++)
		KUNIT_ASSERT_EQ_MSG(test, ring_reference(esn, age),
				    canonical_bit(st, age),
				    "window %u seq %u age %u", window, seq, age);

	/* Set the same state back onto a cleared ring. */
	memset(esn->bmp, 0, esn->bmp_len * sizeof(u32));
	KUNIT_ASSERT_EQ(test, 0, pfkey_replay_apply(x, st, NULL, NULL));
	back = appended_state(test, x);
	KUNIT_EXPECT_EQ(test, 0,
			memcmp(st, back,
			       st->sadb_x_replay_state_len * sizeof(u64)));
	put_state(x);
}

/* The word-run conversion agrees with the per-bit one, both ways, for
 * windows that are not multiples of 32, tops on every side of a wrap, a
 * fresh SA (seq 0) and the top of the 32-bit space.
 */
static void ring_conversion_both_ways(struct kunit *test)
{
	static const u32 windows[] = { 1, 5, 31, 32, 33, 100, 128, 1000, 4096 };
	static const u32 seqs[] = { 0, 1, 2, 31, 32, 33, 999, 4095, 4096,
				    4097, 0x7fffffff, 0xffffffff };
	struct rnd_state rnd;
	unsigned int w, q;

	prandom_seed_state(&rnd, 42);
	for (w = 0; w < ARRAY_SIZE(windows); w++)
		for (q = 0; q < ARRAY_SIZE(seqs); q++)
			ring_case(test, &rnd, windows[w], seqs[q]);
}

/* A top that moves by the whole window or more keeps nothing old. */
static void set_far_ahead_drops_old_bits(struct kunit *test)
{
	struct replay_test *t = test->priv;
	struct sadb_x_replay_state *st;

	t->x = test_state(test, XFRM_REPLAY_MODE_BMP, 64);
	t->x->replay_esn->seq = 100;
	t->x->replay_esn->bmp[0] = ~0U;
	t->x->replay_esn->bmp[1] = ~0U;
	st = state_ext(test, 64, 0);
	st->sadb_x_replay_state_seq = 164;
	st->sadb_x_replay_state_bitmap[0] = 1;
	KUNIT_ASSERT_EQ(test, 0, pfkey_replay_apply(t->x, st, NULL, NULL));
	st = appended_state(test, t->x);
	KUNIT_EXPECT_EQ(test, 1U, st->sadb_x_replay_state_bitmap[0]);
	KUNIT_EXPECT_EQ(test, 0U, st->sadb_x_replay_state_bitmap[1]);

	/* 63 ahead: the old top survives as age 63, nothing below it. */
	st = state_ext(test, 64, 0);
	st->sadb_x_replay_state_seq = 227;
	KUNIT_ASSERT_EQ(test, 0, pfkey_replay_apply(t->x, st, NULL, NULL));
	st = appended_state(test, t->x);
	KUNIT_EXPECT_EQ(test, 0U, st->sadb_x_replay_state_bitmap[0]);
	KUNIT_EXPECT_EQ(test, (u32)BIT(31), st->sadb_x_replay_state_bitmap[1]);
}

/* Whether the replay check lets @seq64 in; takes it if so. */
static bool accept(struct kunit *test, struct xfrm_state *x, u64 seq64)
{
	struct sk_buff *skb = alloc_skb(0, GFP_KERNEL);
	int err;

	KUNIT_ASSERT_NOT_NULL(test, skb);
	spin_lock_bh(&x->lock);
	err = xfrm_replay_check(x, skb, htonl(lower_32_bits(seq64)));
	if (!err)
		xfrm_replay_advance(x, htonl(lower_32_bits(seq64)));
	spin_unlock_bh(&x->lock);
	kfree_skb(skb);
	return !err;
}

/* A walk of random arrivals from the bottom of the window to 6 beyond its
 * top, from @start on: each number is let in exactly once.
 */
static void ring_walk(struct kunit *test, enum xfrm_replay_mode mode,
		      u32 window, u64 start)
{
	struct xfrm_state *x = test_state(test, mode, window);
	unsigned int steps = 3 * window + 50, i, wrong = 0;
	u64 top = start, base = start - window, seq64, r;
	unsigned long *taken;
	struct rnd_state rnd;
	bool fresh;

	taken = kunit_kzalloc(test, BITS_TO_LONGS(6 * steps + 2 * window + 16) *
			      sizeof(long), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, taken);
	prandom_seed_state(&rnd, window);
	x->replay_esn->seq = lower_32_bits(start);
	x->replay_esn->seq_hi = upper_32_bits(start);
	for (i = 0; i < steps; i++) {
		r = prandom_u32_state(&rnd) % (window + 6);
		if (top + 1 + r <= window)
			continue;	/* below 1 */
		seq64 = top + 1 + r - window;
		fresh = seq64 > top || !test_bit(seq64 - base, taken);
		if (accept(test, x, seq64)) {
			wrong += !fresh;
			__set_bit(seq64 - base, taken);
			top = max(top, seq64);
		} else {
			wrong += fresh;
		}
	}
	KUNIT_EXPECT_EQ_MSG(test, 0U, wrong,
			    "%s window %u from %llu: %u numbers judged wrong",
			    mode == XFRM_REPLAY_MODE_ESN ? "ESN" : "bitmap",
			    window, start, wrong);
	put_state(x);
}

/* The ring's slot of a number is (seq - 1) % window on 32 bits, which jumps
 * where seq - 1 wraps, unless the window divides 2^32: at a new SA's first
 * packet, and with ESN at each 2^32. Numbers around both, every window
 * shape, each let in once and only once.
 */
static void ring_wraps_keep_each_number_once(struct kunit *test)
{
	static const u32 windows[] = { 5, 32, 33, 64, 100, 1000 };
	unsigned int w;

	for (w = 0; w < ARRAY_SIZE(windows); w++) {
		ring_walk(test, XFRM_REPLAY_MODE_BMP, windows[w], 0);
		ring_walk(test, XFRM_REPLAY_MODE_ESN, windows[w], 0);
		ring_walk(test, XFRM_REPLAY_MODE_ESN, windows[w],
			  BIT_ULL(32) - 8);
		ring_walk(test, XFRM_REPLAY_MODE_ESN, windows[w],
			  BIT_ULL(33) - 3);
	}
}

/* ESN, @window, top @top (nothing accepted yet). */
static struct xfrm_state *esn_at(struct kunit *test, u32 window, u64 top)
{
	struct xfrm_state *x = test_state(test, XFRM_REPLAY_MODE_ESN, window);

	x->replay_esn->seq = lower_32_bits(top);
	x->replay_esn->seq_hi = upper_32_bits(top);
	return x;
}

/* The arrivals at the wraps a random walk may miss. */
static void ring_wrap_edges(struct kunit *test)
{
	const u64 wrap = BIT_ULL(32);
	struct xfrm_state *x;
	u64 s;

	/* A copy of a new SA's first packet. */
	x = test_state(test, XFRM_REPLAY_MODE_BMP, 33);
	KUNIT_EXPECT_TRUE(test, accept(test, x, 1));
	KUNIT_EXPECT_FALSE(test, accept(test, x, 1));
	put_state(x);

	/* 2^32 - 1 seen, the top passes 2^32: still seen. */
	x = esn_at(test, 100, wrap - 10);
	for (s = wrap - 5; s < wrap; s++)
		KUNIT_EXPECT_TRUE(test, accept(test, x, s));
	KUNIT_EXPECT_TRUE(test, accept(test, x, wrap + 1));
	KUNIT_EXPECT_FALSE(test, accept(test, x, wrap - 1));
	KUNIT_EXPECT_FALSE(test, accept(test, x, wrap + 1));
	KUNIT_EXPECT_TRUE(test, accept(test, x, wrap));
	KUNIT_EXPECT_FALSE(test, accept(test, x, wrap));
	put_state(x);

	/* The top exactly on 2^32 (low half 0), then past it. */
	x = esn_at(test, 100, wrap - 3);
	KUNIT_EXPECT_TRUE(test, accept(test, x, wrap));
	KUNIT_EXPECT_TRUE(test, accept(test, x, wrap + 2));
	KUNIT_EXPECT_FALSE(test, accept(test, x, wrap));
	KUNIT_EXPECT_TRUE(test, accept(test, x, wrap + 1));
	KUNIT_EXPECT_FALSE(test, accept(test, x, wrap + 2));
	put_state(x);

	/* A jump of more than the window across 2^32. */
	x = esn_at(test, 100, wrap - 50);
	KUNIT_EXPECT_TRUE(test, accept(test, x, wrap - 40));
	KUNIT_EXPECT_TRUE(test, accept(test, x, wrap + 100));
	KUNIT_EXPECT_FALSE(test, accept(test, x, wrap + 100));
	KUNIT_EXPECT_TRUE(test, accept(test, x, wrap + 99));
	KUNIT_EXPECT_TRUE(test, accept(test, x, wrap + 1));
	KUNIT_EXPECT_FALSE(test, accept(test, x, wrap + 1));
	put_state(x);

	/* Top 0 with bits set, as XFRM_MSG_NEWAE may leave a ring. */
	x = test_state(test, XFRM_REPLAY_MODE_BMP, 33);
	x->replay_esn->bmp[0] = ~0U;
	x->replay_esn->bmp[1] = 1;
	KUNIT_EXPECT_TRUE(test, accept(test, x, 1));
	KUNIT_EXPECT_FALSE(test, accept(test, x, 1));
	KUNIT_EXPECT_TRUE(test, accept(test, x, 3));
	KUNIT_EXPECT_TRUE(test, accept(test, x, 2));
	KUNIT_EXPECT_FALSE(test, accept(test, x, 2));
	put_state(x);
}

/* A refused state leaves the thresholds sent with it unapplied. */
static void refused_state_keeps_thresholds(struct kunit *test)
{
	struct replay_test *t = test->priv;
	struct sadb_x_replay_thresh th = {
		.sadb_x_replay_thresh_len = WORDS(sizeof(th)),
		.sadb_x_replay_thresh_exttype = SADB_X_EXT_REPLAY_THRESH,
		.sadb_x_replay_thresh_packets = 7,
		.sadb_x_replay_thresh_msecs = 700,
	};
	struct sadb_x_replay_state *st;

	t->x = test_state(test, XFRM_REPLAY_MODE_LEGACY, 32);
	t->x->replay.oseq = 50;
	st = state_ext(test, 32, 0);
	st->sadb_x_replay_state_oseq = 49;
	KUNIT_EXPECT_EQ(test, -ERANGE,
			pfkey_replay_apply(t->x, st, &th, NULL));
	KUNIT_EXPECT_EQ(test, 0U, t->x->replay_maxdiff);
	KUNIT_EXPECT_EQ(test, 0U, t->x->replay_maxage);
	KUNIT_EXPECT_FALSE(test, timer_pending(&t->x->rtimer));
}

/* The reply is completed in the critical section that applied the state. */
static void set_reply_carries_state_in_force(struct kunit *test)
{
	struct replay_test *t = test->priv;
	const struct sadb_x_replay_state *got;
	const struct sadb_x_replay_thresh *th;
	struct sadb_x_replay_state *st;
	struct sadb_x_replay_thresh thresh = {
		.sadb_x_replay_thresh_len = WORDS(sizeof(thresh)),
		.sadb_x_replay_thresh_exttype = SADB_X_EXT_REPLAY_THRESH,
		.sadb_x_replay_thresh_packets = 9,
	};
	struct sk_buff *skb;

	t->x = test_state(test, XFRM_REPLAY_MODE_ESN, 4096);
	skb = alloc_skb(sizeof(struct sadb_msg), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, skb);
	skb_put_zero(skb, sizeof(struct sadb_msg));
	((struct sadb_msg *)skb->data)->sadb_msg_len =
		WORDS(sizeof(struct sadb_msg));
	KUNIT_ASSERT_EQ(test, 0, pfkey_replay_reserve(skb));

	st = state_ext(test, 4096, 0);
	st->sadb_x_replay_state_flags = SADB_X_REPLAY_F_ESN;
	st->sadb_x_replay_state_oseq = 5ULL << 32;
	st->sadb_x_replay_state_seq = 4000;
	st->sadb_x_replay_state_bitmap[127] = BIT(31);
	KUNIT_ASSERT_EQ(test, 0, pfkey_replay_apply(t->x, st, &thresh, skb));

	th = find_ext((void *)skb->data, SADB_X_EXT_REPLAY_THRESH);
	got = find_ext((void *)skb->data, SADB_X_EXT_REPLAY_STATE);
	KUNIT_ASSERT_NOT_NULL(test, th);
	KUNIT_ASSERT_NOT_NULL(test, got);
	KUNIT_EXPECT_EQ(test, 9U, th->sadb_x_replay_thresh_packets);
	KUNIT_EXPECT_EQ(test, 5ULL << 32, got->sadb_x_replay_state_oseq);
	KUNIT_EXPECT_EQ(test, (u32)BIT(31),
			got->sadb_x_replay_state_bitmap[127]);
	KUNIT_EXPECT_EQ(test, (size_t)skb->len,
			((struct sadb_msg *)skb->data)->sadb_msg_len *
			sizeof(u64));
	kfree_skb(skb);
}

/* The replay paths raise events with km_event.seq and .portid unset:
 * notifications must not carry them. An explicit update carries its
 * request's.
 */
static void notification_seq_and_pid(struct kunit *test)
{
	struct replay_test *t = test->priv;
	struct km_event c = {
		.event = XFRM_MSG_NEWAE,
		.seq = 0xdeadbeef,
		.portid = 0xfeedface,
	};
	struct sadb_msg *msg;

	t->x = test_state(test, XFRM_REPLAY_MODE_LEGACY, 32);
	while (pfkey_recv_len(t->sock) > 0)
		;

	/* As the replay paths raise it: under x->lock. */
	c.data.aevent = XFRM_REPLAY_UPDATE;
	spin_lock_bh(&t->x->lock);
	km_state_notify(t->x, &c);
	spin_unlock_bh(&t->x->lock);
	msg = pfkey_next(t->sock);
	KUNIT_ASSERT_NOT_NULL(test, msg);
	KUNIT_EXPECT_EQ(test, SADB_X_REPLAY_NOTIFY, msg->sadb_msg_type);
	KUNIT_EXPECT_EQ(test, 0U, msg->sadb_msg_seq);
	KUNIT_EXPECT_EQ(test, 0U, msg->sadb_msg_pid);
	kfree(msg);

	/* As SADB_X_SET_REPLAY and NEWAE raise it: after dropping x->lock. */
	c.data.aevent = XFRM_AE_CU;
	km_state_notify(t->x, &c);
	msg = pfkey_next(t->sock);
	KUNIT_ASSERT_NOT_NULL(test, msg);
	KUNIT_EXPECT_EQ(test, 0xdeadbeefU, msg->sadb_msg_seq);
	KUNIT_EXPECT_EQ(test, 0xfeedfaceU, msg->sadb_msg_pid);
	kfree(msg);
}

static void thresh_msecs_maximum(struct kunit *test)
{
	struct sadb_x_replay_thresh th = {
		.sadb_x_replay_thresh_len = WORDS(sizeof(th)),
		.sadb_x_replay_thresh_exttype = SADB_X_EXT_REPLAY_THRESH,
		.sadb_x_replay_thresh_msecs = SADB_X_REPLAY_MSECS_MAX,
	};

	KUNIT_EXPECT_EQ(test, 0, pfkey_replay_verify_ext((void *)&th));
	th.sadb_x_replay_thresh_msecs++;
	KUNIT_EXPECT_EQ(test, -EINVAL, pfkey_replay_verify_ext((void *)&th));
	th.sadb_x_replay_thresh_msecs = U32_MAX;
	KUNIT_EXPECT_EQ(test, -EINVAL, pfkey_replay_verify_ext((void *)&th));
}

/* Replay extensions where a message does not use them are refused. */
static void extensions_only_where_used(struct kunit *test)
{
	struct replay_test *t = test->priv;
	void *none[PFKEY_EXT_HDRS] = {}, *thresh[PFKEY_EXT_HDRS] = {};
	void *state[PFKEY_EXT_HDRS] = {};
	struct {
		struct sadb_msg hdr;
		struct sadb_x_replay_thresh th;
	} m = {};

	thresh[SADB_X_EXT_REPLAY_THRESH - 1] = &m.th;
	state[SADB_X_EXT_REPLAY_STATE - 1] = &m.th;
	KUNIT_EXPECT_EQ(test, 0, pfkey_replay_verify_use(SADB_GET, none));
	KUNIT_EXPECT_EQ(test, 0, pfkey_replay_verify_use(SADB_ADD, thresh));
	KUNIT_EXPECT_EQ(test, 0, pfkey_replay_verify_use(SADB_UPDATE, thresh));
	KUNIT_EXPECT_EQ(test, 0,
			pfkey_replay_verify_use(SADB_X_SET_REPLAY, state));
	KUNIT_EXPECT_EQ(test, -EINVAL, pfkey_replay_verify_use(SADB_ADD, state));
	KUNIT_EXPECT_EQ(test, -EINVAL,
			pfkey_replay_verify_use(SADB_UPDATE, state));
	KUNIT_EXPECT_EQ(test, -EINVAL, pfkey_replay_verify_use(SADB_GET, thresh));
	KUNIT_EXPECT_EQ(test, -EINVAL, pfkey_replay_verify_use(SADB_DUMP, state));
	KUNIT_EXPECT_EQ(test, -EINVAL,
			pfkey_replay_verify_use(SADB_X_REPLAY_REGISTER, thresh));

	/* Through the socket: a flush with thresholds flushes nothing. */
	m.hdr.sadb_msg_type = SADB_FLUSH;
	m.hdr.sadb_msg_satype = SADB_SATYPE_ESP;
	m.hdr.sadb_msg_len = WORDS(sizeof(m));
	m.th.sadb_x_replay_thresh_len = WORDS(sizeof(m.th));
	m.th.sadb_x_replay_thresh_exttype = SADB_X_EXT_REPLAY_THRESH;
	KUNIT_EXPECT_EQ(test, -EINVAL, pfkey_roundtrip(t->sock, &m));
}

/* What promiscuous or unregistered sockets may be shown, by content. */
static void new_types_recognised(struct kunit *test)
{
	struct {
		struct sadb_msg hdr;
		u64 words[4];	/* one extension header per word */
	} m = {};
	struct sk_buff *skb = alloc_skb(sizeof(m), GFP_KERNEL);
	struct sadb_ext *ext[4];
	struct sadb_msg *hdr;
	int i;

	KUNIT_ASSERT_NOT_NULL(test, skb);
	hdr = skb_put_zero(skb, sizeof(m));
	for (i = 0; i < 4; i++)
		ext[i] = (struct sadb_ext *)((u64 *)(hdr + 1) + i);
	hdr->sadb_msg_type = SADB_GET;
	hdr->sadb_msg_len = WORDS(sizeof(m));
	ext[0]->sadb_ext_len = 1;
	ext[0]->sadb_ext_type = SADB_EXT_SA;
	ext[1]->sadb_ext_len = 1;
	ext[1]->sadb_ext_type = SADB_X_EXT_FILTER;
	ext[2]->sadb_ext_len = 2;
	ext[2]->sadb_ext_type = 40;	/* unknown, not ours */
	KUNIT_EXPECT_FALSE(test, pfkey_replay_msg_is_new(skb));
	ext[2]->sadb_ext_type = SADB_X_EXT_REPLAY_STATE;
	KUNIT_EXPECT_TRUE(test, pfkey_replay_msg_is_new(skb));
	/* Past a malformed length nothing was parsed, nothing counts. */
	ext[1]->sadb_ext_len = 0;
	KUNIT_EXPECT_FALSE(test, pfkey_replay_msg_is_new(skb));
	ext[1]->sadb_ext_len = 9;
	KUNIT_EXPECT_FALSE(test, pfkey_replay_msg_is_new(skb));
	/* Nor past the buffer, whatever the header claims. */
	ext[1]->sadb_ext_len = 1;
	hdr->sadb_msg_len = 0xffff;
	skb_trim(skb, sizeof(*hdr) + 2 * sizeof(u64));
	KUNIT_EXPECT_FALSE(test, pfkey_replay_msg_is_new(skb));
	hdr->sadb_msg_type = SADB_X_REPLAY_NOTIFY;
	KUNIT_EXPECT_TRUE(test, pfkey_replay_msg_is_new(skb));
	kfree_skb(skb);
}

/* The reply to SADB_X_REPLAY_REGISTER does not echo the caller's errno;
 * each registered socket counts once in the namespace's gate.
 */
static void register_reply_and_gate(struct kunit *test)
{
	struct sadb_msg reg = {
		.sadb_msg_type = SADB_X_REPLAY_REGISTER,
		.sadb_msg_len = WORDS(sizeof(reg)),
		.sadb_msg_errno = EIO,
	};
	struct socket *sock;

	KUNIT_ASSERT_EQ(test, 0, sock_create_kern(&init_net, PF_KEY, SOCK_RAW,
						  PF_KEY_V2, &sock));
	KUNIT_EXPECT_EQ(test, 0, pfkey_roundtrip(sock, &reg));
	/* This suite's own socket, and this one. */
	KUNIT_EXPECT_EQ(test, 2,
			atomic_read(&init_net.xfrm.aevent_km_subscribers));
	KUNIT_EXPECT_TRUE(test, xfrm_aevent_is_on(&init_net));
	sock_release(sock);
	KUNIT_EXPECT_EQ(test, 1,
			atomic_read(&init_net.xfrm.aevent_km_subscribers));
}

/* Only the kernel sends notifications. */
static void notify_from_user_refused(struct kunit *test)
{
	struct replay_test *t = test->priv;
	struct sadb_msg m = {
		.sadb_msg_version = PF_KEY_V2,
		.sadb_msg_type = SADB_X_REPLAY_NOTIFY,
		.sadb_msg_satype = SADB_SATYPE_ESP,
		.sadb_msg_len = WORDS(sizeof(m)),
	};

	while (pfkey_recv_len(t->sock) > 0)
		;
	KUNIT_EXPECT_EQ(test, -EINVAL, pfkey_send(t->sock, &m));
	KUNIT_EXPECT_EQ(test, -EAGAIN, pfkey_recv_len(t->sock));
}

/* An SA offloaded to a device keeps its ESN high bits in the device too. */
static void offloaded_sa_state_refused(struct kunit *test)
{
	struct replay_test *t = test->priv;
	struct sadb_x_replay_state *st;

	t->x = test_state(test, XFRM_REPLAY_MODE_ESN, 32);
	st = state_ext(test, 32, 0);
	st->sadb_x_replay_state_flags = SADB_X_REPLAY_F_ESN;
	st->sadb_x_replay_state_oseq = 1ULL << 32;
	t->x->xso.dev = (struct net_device *)t;	/* only compared with NULL */
	KUNIT_EXPECT_EQ(test, -EOPNOTSUPP,
			pfkey_replay_apply(t->x, st, NULL, NULL));
	t->x->xso.dev = NULL;
	KUNIT_EXPECT_EQ(test, 0U, t->x->replay_esn->oseq_hi);
	KUNIT_EXPECT_EQ(test, 0, pfkey_replay_apply(t->x, st, NULL, NULL));
	KUNIT_EXPECT_EQ(test, 1U, t->x->replay_esn->oseq_hi);
}

static struct kunit_case pfkey_replay_cases[] = {
	KUNIT_CASE(count_threshold_inbound),
	KUNIT_CASE(count_threshold_outbound),
	KUNIT_CASE(no_threshold_no_notification),
	KUNIT_CASE(timer_then_idle_then_packet),
	KUNIT_CASE(new_thresholds_end_a_deferred_expiry),
	KUNIT_CASE(esn_high_word_crossing),
	KUNIT_CASE(legacy_stops_at_32_bits),
	KUNIT_CASE(verify_thresh_ext),
	KUNIT_CASE(verify_state_ext),
	KUNIT_CASE(set_replay_parsing),
	KUNIT_CASE(set_rules),
	KUNIT_CASE(set_merges_bitmap),
	KUNIT_CASE(overrun_once_per_episode),
	KUNIT_CASE(esn_window_zero),
	KUNIT_CASE(window_clamped_to_bitmap),
	KUNIT_CASE(ring_conversion_both_ways),
	KUNIT_CASE(set_far_ahead_drops_old_bits),
	KUNIT_CASE(ring_wraps_keep_each_number_once),
	KUNIT_CASE(ring_wrap_edges),
	KUNIT_CASE(refused_state_keeps_thresholds),
	KUNIT_CASE(set_reply_carries_state_in_force),
	KUNIT_CASE(notification_seq_and_pid),
	KUNIT_CASE(thresh_msecs_maximum),
	KUNIT_CASE(extensions_only_where_used),
	KUNIT_CASE(new_types_recognised),
	KUNIT_CASE(register_reply_and_gate),
	KUNIT_CASE(notify_from_user_refused),
	KUNIT_CASE(offloaded_sa_state_refused),
	{}
};

static struct kunit_suite pfkey_replay_suite = {
	.name = "pfkey_replay",
	.init = replay_test_init,
	.exit = replay_test_exit,
	.test_cases = pfkey_replay_cases,
};

kunit_test_suite(pfkey_replay_suite);
