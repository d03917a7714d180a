// SPDX-License-Identifier: GPL-2.0
// XFRM netlink messages: requests as the kernel will parse them, replies
// and notifications as it builds them, and every kind of malformed reply.
#include "replay/xfrm_codec.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/pfkey_replay.h>
#include <linux/xfrm.h>
#include <netinet/in.h>

namespace replay::xfrm {
namespace {

SaId sa_id()
{
	return SaId{0x1001, IPPROTO_ESP, *pfkey::parse_address("10.0.0.1"),
		    *pfkey::parse_address("10.0.0.2"), {}};
}

KernelReplay ring(std::uint32_t window, std::uint32_t words)
{
	KernelReplay r;
	r.ring = true;
	r.oseq = 7;
	r.seq = 70;
	r.oseq_hi = 1;
	r.seq_hi = 2;
	r.window = window;
	r.bitmap.assign(words, 0);
	r.bitmap[0] = 0x20;
	return r;
}

class Codec : public ::testing::Test {
protected:
	std::vector<std::uint8_t> buf = std::vector<std::uint8_t>(8192);

	// A notification as xfrm_user's build_aevent() lays it out: NEWAE
	// requests and notifications share the format.
	nlmsghdr *aevent(const AeUpdate &update)
	{
		return build_new_ae(buf, sa_id(), 1, update);
	}

	// XFRM_MSG_NEWSA with @attr_type carrying @len bytes of @data.
	nlmsghdr *newsa(std::uint16_t attr_type, const void *data, std::size_t len,
			std::uint8_t window = 32, std::uint32_t flags = 0)
	{
		nlmsghdr *nlh = mnl_nlmsg_put_header(buf.data());
		nlh->nlmsg_type = XFRM_MSG_NEWSA;
		auto *info = static_cast<xfrm_usersa_info *>(
			mnl_nlmsg_put_extra_header(nlh, sizeof(xfrm_usersa_info)));
		info->family = AF_INET;
		info->id.spi = htonl(0x1001);
		info->id.proto = IPPROTO_ESP;
		inet_pton(AF_INET, "10.0.0.2", &info->id.daddr.a4);
		inet_pton(AF_INET, "10.0.0.1", &info->saddr.a4);
		info->reqid = 9;
		info->replay_window = window;
		info->flags = flags;
		mnl_attr_put(nlh, attr_type, len, data);
		return nlh;
	}

	void expect_einval(Result<KernelAevent> r, const char *why)
	{
		ASSERT_FALSE(r.ok()) << why;
		EXPECT_EQ(r.error().code, EINVAL) << why;
	}
};

TEST_F(Codec, AeventRoundTripsLegacyState)
{
	AeUpdate u;
	u.replay = KernelReplay{false, 5, 6, 0, 0, 0, {0x3}};
	u.packets = 10;
	u.etimer_jiffies = 20;
	auto ae = parse_aevent(aevent(u));
	ASSERT_TRUE(ae.ok()) << ae.error().message();
	EXPECT_EQ(ae->id, sa_id());
	EXPECT_EQ(ae->replay, *u.replay);
	EXPECT_EQ(ae->packets, 10U);
	EXPECT_EQ(ae->deciseconds, 20U);
}

TEST_F(Codec, AeventRoundTripsRingState)
{
	AeUpdate u;
	u.replay = ring(128, 4);
	auto ae = parse_aevent(aevent(u));
	ASSERT_TRUE(ae.ok()) << ae.error().message();
	EXPECT_EQ(ae->replay, *u.replay);
	EXPECT_FALSE(ae->packets);
}

TEST_F(Codec, NewAeAsksToReplace)
{
	AeUpdate u;
	u.packets = 1;
	const nlmsghdr *nlh = aevent(u);
	EXPECT_TRUE(nlh->nlmsg_flags & NLM_F_REPLACE);
	EXPECT_TRUE(nlh->nlmsg_flags & NLM_F_ACK);
}

TEST_F(Codec, GetRequestsNameTheSa)
{
	const nlmsghdr *nlh = build_get_ae(buf, sa_id(), 3);
	EXPECT_EQ(nlh->nlmsg_type, XFRM_MSG_GETAE);
	const auto *ae = static_cast<const xfrm_aevent_id *>(mnl_nlmsg_get_payload(nlh));
	EXPECT_EQ(ntohl(ae->sa_id.spi), 0x1001U);
	EXPECT_EQ(ae->sa_id.proto, IPPROTO_ESP);
	EXPECT_EQ(ae->sa_id.family, AF_INET);
	EXPECT_EQ(ae->flags, unsigned(XFRM_AE_RVAL | XFRM_AE_RTHR | XFRM_AE_ETHR));
	EXPECT_EQ(build_dump_sa(buf, 4)->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
}

// A marked SA (route-based tunnels) is found only with its mark: every
// request that names it carries XFRMA_MARK, and what the kernel reports
// about it keeps the mark in the SA's identity.
TEST_F(Codec, MarksNameTheSaBothWays)
{
	SaId marked = sa_id();
	marked.mark = {0x2a, 0xffffffff};
	AeUpdate u;
	u.replay = ring(64, 2);
	for (const nlmsghdr *nlh : {build_get_ae(buf, marked, 3), build_new_ae(buf, marked, 3, u),
				    build_get_sa(buf, marked, 3), build_del_sa(buf, marked, 3)}) {
		const xfrm_mark *found = nullptr;
		const bool usersa = nlh->nlmsg_type == XFRM_MSG_GETSA ||
				    nlh->nlmsg_type == XFRM_MSG_DELSA;
		const std::size_t head = usersa ? sizeof(xfrm_usersa_id) : sizeof(xfrm_aevent_id);
		const char *tail = static_cast<const char *>(mnl_nlmsg_get_payload_tail(nlh));
		for (auto *attr = static_cast<const nlattr *>(mnl_nlmsg_get_payload_offset(nlh, head));
		     mnl_attr_ok(attr, tail - reinterpret_cast<const char *>(attr));
		     attr = mnl_attr_next(attr))
			if (mnl_attr_get_type(attr) == XFRMA_MARK)
				found = static_cast<const xfrm_mark *>(mnl_attr_get_payload(attr));
		ASSERT_TRUE(found) << nlh->nlmsg_type;
		EXPECT_EQ(found->v, 0x2aU);
		EXPECT_EQ(found->m, 0xffffffffU);
	}
	auto ae = parse_aevent(build_new_ae(buf, marked, 1, u));
	ASSERT_TRUE(ae.ok()) << ae.error().message();
	EXPECT_EQ(ae->id, marked);

	// No mark, no XFRMA_MARK: the kernel looks up the unmarked SA.
	const nlmsghdr *plain = build_get_ae(buf, sa_id(), 3);
	EXPECT_EQ(plain->nlmsg_len, NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(xfrm_aevent_id)));

	xfrm_replay_state legacy{1, 2, 0x3};
	nlmsghdr *nlh = newsa(XFRMA_REPLAY_VAL, &legacy, sizeof(legacy));
	const xfrm_mark mark{0x2a, 0xffffffff};
	mnl_attr_put(nlh, XFRMA_MARK, sizeof(mark), &mark);
	auto sa = parse_sa(nlh);
	ASSERT_TRUE(sa.ok()) << sa.error().message();
	EXPECT_EQ(sa->id, marked);

	nlh = newsa(XFRMA_REPLAY_VAL, &legacy, sizeof(legacy));
	mnl_attr_put(nlh, XFRMA_MARK, sizeof(std::uint32_t), &mark.v);
	auto short_mark = parse_sa(nlh);
	ASSERT_FALSE(short_mark.ok());
	EXPECT_EQ(short_mark.error().code, EINVAL);
}

TEST_F(Codec, NewSaGivesLayoutAndIdentity)
{
	xfrm_replay_state legacy{1, 2, 0x3};
	auto sa = parse_sa(newsa(XFRMA_REPLAY_VAL, &legacy, sizeof(legacy), 16));
	ASSERT_TRUE(sa.ok()) << sa.error().message();
	EXPECT_EQ(sa->id, sa_id());
	EXPECT_EQ(sa->reqid, 9U);
	EXPECT_EQ(sa->legacy_window, 16U);
	EXPECT_FALSE(sa->esn);
	EXPECT_EQ(sa->replay.bitmap, (std::vector<std::uint32_t>{0x3}));
}

TEST_F(Codec, CanonicalViewOfEachLayout)
{
	const auto legacy = to_canonical(KernelReplay{false, 1, 2, 0, 0, 0, {0xffffffff}}, false, 8);
	EXPECT_EQ(legacy.window, 8U);
	EXPECT_EQ(legacy.bitmap, (std::vector<std::uint32_t>{0xff}));

	// ring(): seq 70, slot 5 set, i.e. "70" accepted.
	const auto esn = to_canonical(ring(64, 2), true, 0);
	EXPECT_EQ(esn.seq, (2ULL << 32) | 70);
	EXPECT_EQ(esn.oseq, (1ULL << 32) | 7);
	EXPECT_EQ(esn.bitmap, (std::vector<std::uint32_t>{1, 0}));

	// Bitmap SAs without ESN ignore the high halves, as the kernel does.
	const auto bmp = to_canonical(ring(64, 2), false, 0);
	EXPECT_EQ(bmp.seq, 70U);
	EXPECT_EQ(to_kernel(esn, ring(64, 2)), ring(64, 2));
}

TEST_F(Codec, CausesOfNotifications)
{
	EXPECT_EQ(cause_of(XFRM_AE_CR), SADB_X_REPLAY_CAUSE_COUNT);
	EXPECT_EQ(cause_of(XFRM_AE_CE), SADB_X_REPLAY_CAUSE_TIMER);
	EXPECT_EQ(cause_of(XFRM_AE_CU), SADB_X_REPLAY_CAUSE_UPDATE);
	EXPECT_EQ(cause_of(0), SADB_X_REPLAY_CAUSE_NONE);
}

TEST_F(Codec, RejectsMalformedReplies)
{
	AeUpdate u;
	u.replay = KernelReplay{false, 5, 6, 0, 0, 0, {0x3}};

	nlmsghdr *nlh = aevent(u);
	nlh->nlmsg_type = XFRM_MSG_NEWSA;
	expect_einval(parse_aevent(nlh), "wrong type");

	nlh = aevent(u);
	nlh->nlmsg_len = NLMSG_HDRLEN + sizeof(xfrm_aevent_id) - 4;
	expect_einval(parse_aevent(nlh), "short header");

	nlh = aevent(u);
	nlh->nlmsg_len -= 4;
	expect_einval(parse_aevent(nlh), "truncated attribute");

	nlh = aevent(u);
	mnl_attr_put(nlh, XFRMA_REPLAY_VAL, sizeof(xfrm_replay_state), buf.data());
	expect_einval(parse_aevent(nlh), "duplicate attribute");

	nlh = aevent(AeUpdate{});
	mnl_attr_put_u32(nlh, XFRMA_REPLAY_THRESH, 1);
	expect_einval(parse_aevent(nlh), "no replay state");

	nlh = aevent(u);
	mnl_attr_put(nlh, XFRMA_REPLAY_ESN_VAL, sizeof(xfrm_replay_state_esn), buf.data());
	expect_einval(parse_aevent(nlh), "both layouts");

	nlh = aevent(AeUpdate{});
	mnl_attr_put(nlh, XFRMA_REPLAY_VAL, 8, buf.data());
	expect_einval(parse_aevent(nlh), "legacy state of the wrong size");

	nlh = aevent(u);
	mnl_attr_put_u16(nlh, XFRMA_ETIMER_THRESH, 1);
	expect_einval(parse_aevent(nlh), "u32 of the wrong size");

	nlh = aevent(u);
	static_cast<xfrm_aevent_id *>(mnl_nlmsg_get_payload(nlh))->sa_id.family = 99;
	expect_einval(parse_aevent(nlh), "family");
}

TEST_F(Codec, SplitsDatagramsAndRejectsLengthsThatDoNotFit)
{
	AeUpdate u;
	u.packets = 1;
	const nlmsghdr *nlh = aevent(u);
	const std::size_t len = nlh->nlmsg_len;
	std::vector<std::uint8_t> two(buf.begin(), buf.begin() + len);
	two.insert(two.end(), buf.begin(), buf.begin() + len);

	auto both = split(two);
	ASSERT_TRUE(both.ok());
	EXPECT_EQ(2u, both->size());

	// libmnl's mnl_nlmsg_ok() takes this one (a negative int).
	reinterpret_cast<nlmsghdr *>(two.data() + len)->nlmsg_len = 0x9a9a9a9a;
	EXPECT_FALSE(split(two).ok());
	two.resize(len + 8);
	EXPECT_FALSE(split(two).ok());
	EXPECT_TRUE(split({}).ok());
}

TEST_F(Codec, RejectsRingsOfTheWrongSize)
{
	// The head and a two-word ring, as the kernel lays them out.
	std::vector<std::uint8_t> esn(sizeof(xfrm_replay_state_esn) + 8, 0);
	auto put = [&](std::uint32_t bmp_len, std::uint32_t window, std::size_t len) {
		xfrm_replay_state_esn head{};
		head.bmp_len = bmp_len;
		head.replay_window = window;
		std::memcpy(esn.data(), &head, sizeof(head));
		nlmsghdr *nlh = aevent(AeUpdate{});
		mnl_attr_put(nlh, XFRMA_REPLAY_ESN_VAL, len, esn.data());
		return parse_aevent(nlh);
	};
	EXPECT_TRUE(put(2, 64, esn.size()).ok());
	expect_einval(put(3, 64, esn.size()), "bmp_len past the attribute");
	expect_einval(put(1, 64, esn.size()), "window past bmp_len");
	expect_einval(put(2, 64, sizeof(xfrm_replay_state_esn) - 4), "short head");
	expect_einval(put(1000, 64, esn.size()), "bmp_len above XFRMA_REPLAY_ESN_MAX");

	xfrm_replay_state legacy{};
	auto big = parse_sa(newsa(XFRMA_REPLAY_VAL, &legacy, sizeof(legacy), 64));
	ASSERT_FALSE(big.ok());
	EXPECT_EQ(big.error().code, EINVAL);
}

} // namespace
} // namespace replay::xfrm
