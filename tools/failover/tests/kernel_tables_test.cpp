// SPDX-License-Identifier: GPL-2.0
#include "kernel_tables.hpp"

#include <cstring>
#include <gtest/gtest.h>
#include <set>
#include <libmnl/libmnl.h>
#include <linux/xfrm.h>

#include "netns.hpp"
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

// A policy message as the kernel lays one out: @message, then XFRMA_MARK
// and XFRMA_IF_ID where they are not 0.
Bytes tagged(const Bytes &message, xfrm_mark mark, std::uint32_t if_id)
{
	std::vector<std::uint32_t> buf(MNL_SOCKET_BUFFER_SIZE / 4);
	std::memcpy(buf.data(), message.data(), message.size());
	auto *nlh = reinterpret_cast<nlmsghdr *>(buf.data());
	if (mark.v || mark.m)
		mnl_attr_put(nlh, XFRMA_MARK, sizeof(mark), &mark);
	if (if_id)
		mnl_attr_put_u32(nlh, XFRMA_IF_ID, if_id);
	const auto *p = reinterpret_cast<const std::uint8_t *>(buf.data());
	return Bytes(p, p + nlh->nlmsg_len);
}

// The fixed part of a policy event of @type for @info: DELPOLICY as
// xfrm_notify_policy() makes it (the id, then XFRMA_POLICY), POLEXPIRE as
// xfrm_exp_policy_notify() does (hard).
Bytes policy_event(std::uint16_t type, const xfrm_userpolicy_info &info)
{
	std::vector<std::uint32_t> buf(MNL_SOCKET_BUFFER_SIZE / 4);
	nlmsghdr *nlh = mnl_nlmsg_put_header(buf.data());
	nlh->nlmsg_type = type;
	if (type == XFRM_MSG_DELPOLICY) {
		auto *id = static_cast<xfrm_userpolicy_id *>(
			mnl_nlmsg_put_extra_header(nlh, sizeof(xfrm_userpolicy_id)));
		id->sel = info.sel;
		id->dir = info.dir;
		mnl_attr_put(nlh, XFRMA_POLICY, sizeof(info), &info);
	} else {
		auto *e = static_cast<xfrm_user_polexpire *>(
			mnl_nlmsg_put_extra_header(nlh, sizeof(xfrm_user_polexpire)));
		e->pol = info;
		e->hard = 1;
	}
	const auto *p = reinterpret_cast<const std::uint8_t *>(buf.data());
	return Bytes(p, p + nlh->nlmsg_len);
}

struct Tags {
	xfrm_mark mark;
	std::uint32_t if_id;
};
const Tags tag_cases[] = {{{0, 0}, 0}, {{1, 0xff}, 0}, {{2, 0xff}, 0}, {{0, 0}, 7}, {{0, 0}, 8},
			  {{1, 0xff}, 7}};

// Route-based VPNs: two xfrmi tunnels carry the same 0.0.0.0/0 policies
// but for their if_id, marked tunnels (VTI) but for their mark. A standby
// that took them for one would install one of each at takeover.
TEST(PolicyKey, MarkAndInterfaceIdTellPoliciesApart)
{
	const auto plain = sample_newpolicy();
	std::set<Bytes> keys;
	for (const auto &t : tag_cases)
		keys.insert(policy_key(tagged(plain, t.mark, t.if_id)));
	EXPECT_EQ(std::size(tag_cases), keys.size());
	EXPECT_EQ(policy_key(tagged(plain, {1, 0xff}, 7)), policy_key(tagged(plain, {1, 0xff}, 7)));
}

// A deletion, or a hard expiry, must take away the policy it names and not
// its twin of another mark or interface.
TEST(PolicyKey, DeleteAndExpiryEventsNameTheirPolicy)
{
	auto plain = sample_newpolicy();
	const auto info = info_of(plain);
	for (const auto &t : tag_cases) {
		const auto want = policy_key(tagged(plain, t.mark, t.if_id));
		EXPECT_EQ(want, policy_key(tagged(policy_event(XFRM_MSG_DELPOLICY, info), t.mark,
						   t.if_id)))
			<< t.mark.v << "/" << t.if_id;
		const auto expiry = tagged(policy_event(XFRM_MSG_POLEXPIRE, info), t.mark, t.if_id);
		const auto frames = frames_of_events(expiry);
		ASSERT_TRUE(frames.ok());
		ASSERT_EQ(1u, frames->size());
		EXPECT_EQ(want, policy_key(std::get<PolicyDelete>(frames->front()).netlink))
			<< t.mark.v << "/" << t.if_id;
	}
}

// The kernel's own policies: deleting one by the standby's copy (or by the
// event that said it was deleted) leaves its twins of other marks and
// interfaces alone.
TEST(KernelTables, DeletesOnlyThePolicyOfItsMarkAndInterface)
{
	EXPECT_EQ(in_netns([] {
			  auto tables = KernelTables::open();
			  if (!tables)
				  return "open: " + tables.error().message();
			  auto plain = sample_newpolicy();
			  for (const auto &t : tag_cases)
				  if (auto r = tables->install_policy(tagged(plain, t.mark, t.if_id)); !r)
					  return "install: " + r.error().message();
			  if (auto r = tables->delete_policy(tagged(plain, {0, 0}, 7)); !r)
				  return "delete by copy: " + r.error().message();
			  const auto event = tagged(policy_event(XFRM_MSG_DELPOLICY, info_of(plain)),
						    {1, 0xff}, 0);
			  if (auto r = tables->delete_policy(event); !r)
				  return "delete by event: " + r.error().message();
			  auto left = tables->dump_policies();
			  if (!left)
				  return "dump: " + left.error().message();
			  std::set<Bytes> keys;
			  for (const auto &p : *left)
				  keys.insert(policy_key(p));
			  std::string why;
			  for (const auto &t : tag_cases) {
				  const bool deleted = (t.if_id == 7 && !t.mark.v) ||
						       (t.mark.v == 1 && !t.if_id);
				  if (keys.count(policy_key(tagged(plain, t.mark, t.if_id))) == deleted)
					  why += "mark " + std::to_string(t.mark.v) + " if_id " +
						 std::to_string(t.if_id) +
						 (deleted ? " still there; " : " gone; ");
			  }
			  if (keys.size() != std::size(tag_cases) - 2)
				  why += std::to_string(keys.size()) + " policies left; ";
			  return why;
		  }),
		  "");
}

} // namespace
} // namespace failover
