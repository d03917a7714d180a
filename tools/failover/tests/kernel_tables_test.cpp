// SPDX-License-Identifier: GPL-2.0
#include "kernel_tables.hpp"

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

} // namespace
} // namespace failover
