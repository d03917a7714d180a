// SPDX-License-Identifier: GPL-2.0
#include "kernel_tables.hpp"

#include <cstring>
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/xfrm.h>

#include "samples.hpp"

namespace failover {
namespace {

xfrm_userpolicy_info &info_of(Bytes &policy)
{
	auto *nlh = reinterpret_cast<nlmsghdr *>(policy.data());
	return *static_cast<xfrm_userpolicy_info *>(mnl_nlmsg_get_payload(nlh));
}

// A standby vouches for its numbers only when its SPD cannot send.
TEST(PolicyBlocks, OnlyTheBlockActionBlocks)
{
	auto policy = sample_newpolicy();
	info_of(policy).action = XFRM_POLICY_ALLOW;
	EXPECT_FALSE(policy_blocks(policy));
	info_of(policy).action = XFRM_POLICY_BLOCK;
	EXPECT_TRUE(policy_blocks(policy));
}

TEST(PolicyBlocks, ATruncatedMessageDoesNotBlock)
{
	auto policy = sample_newpolicy();
	info_of(policy).action = XFRM_POLICY_BLOCK;
	policy.resize(NLMSG_HDRLEN + 8);
	EXPECT_FALSE(policy_blocks(policy));
}

// An SA event as xfrm_user lays it out: @header bytes of fixed part (its
// first bytes the SA's), then the SA's mark.
std::vector<std::uint32_t> sa_event(std::uint16_t type, std::size_t header, replay::Mark mark)
{
	std::vector<std::uint32_t> buf(256);
	nlmsghdr *nlh = mnl_nlmsg_put_header(buf.data());
	nlh->nlmsg_type = type;
	auto *head = static_cast<std::uint8_t *>(mnl_nlmsg_put_extra_header(nlh, header));
	xfrm_usersa_id id{};
	id.spi = htonl(0x2001);
	id.family = AF_INET;
	id.proto = IPPROTO_ESP;
	id.daddr.a4 = htonl(0x0a000002);
	if (type == XFRM_MSG_DELSA) {
		std::memcpy(head, &id, sizeof(id));
	} else {
		auto *e = reinterpret_cast<xfrm_user_expire *>(head);
		e->state.id.daddr = id.daddr;
		e->state.id.spi = id.spi;
		e->state.id.proto = id.proto;
		e->state.family = AF_INET;
		e->hard = 1;
	}
	const xfrm_mark m{mark.v, mark.m};
	mnl_attr_put(nlh, XFRMA_MARK, sizeof(m), &m);
	buf.resize((nlh->nlmsg_len + 3) / 4);
	return buf;
}

// The delete a standby mirrors names the SA with its mark, or an SA of
// another mark (or none) would go in its place.
TEST(KernelEvents, DeletesAndHardExpiresKeepTheMark)
{
	const replay::Mark mark{0x2a, 0xff};
	for (auto [type, header] : {std::pair{XFRM_MSG_DELSA, sizeof(xfrm_usersa_id)},
				    std::pair{XFRM_MSG_EXPIRE, sizeof(xfrm_user_expire)}}) {
		const auto event = sa_event(type, header, mark);
		const auto frames = frames_of_events(
			{reinterpret_cast<const std::uint8_t *>(event.data()), event.size() * 4});
		ASSERT_TRUE(frames.ok()) << type;
		ASSERT_EQ(1u, frames->size()) << type;
		const auto &del = std::get<SaDelete>(frames->front());
		EXPECT_EQ(0x2001u, del.id.spi) << type;
		EXPECT_EQ(mark, del.id.mark) << type;
	}
}

} // namespace
} // namespace failover
