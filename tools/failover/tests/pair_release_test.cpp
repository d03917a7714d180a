// SPDX-License-Identifier: GPL-2.0
// When a standby of a pair may vouch for its numbers to the other.
#include <gtest/gtest.h>

#include <linux/xfrm.h>

#include "fake_kernel.hpp"
#include "pair_release.hpp"
#include "samples.hpp"

namespace failover {
namespace {

Bytes blocking(std::uint8_t dst_last)
{
	Bytes p = sample_newpolicy(dst_last);
	auto *info = reinterpret_cast<xfrm_userpolicy_info *>(p.data() + NLMSG_HDRLEN);
	info->action = XFRM_POLICY_BLOCK;
	return p;
}

class PairReleaseTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		facts.peers = 1;
		facts.numbers_final = true;
		ASSERT_TRUE(kernel.install_policy(blocking(2)).ok());
		ASSERT_TRUE(kernel.install_policy(blocking(3)).ok());
	}

	ReleaseFacts facts;
	FakeKernel kernel;
};

TEST_F(PairReleaseTest, AStandbyOfAPairThatCannotSendVouches)
{
	EXPECT_EQ("", release_refusal(facts, kernel));
}

TEST_F(PairReleaseTest, APolicyThatIsNotBlockIsRefused)
{
	ASSERT_TRUE(kernel.install_policy(sample_newpolicy(4)).ok());
	EXPECT_EQ("a policy that is not BLOCK: this node may send", release_refusal(facts, kernel));
}

TEST_F(PairReleaseTest, NumbersNotKnownFinalAreRefused)
{
	facts.numbers_final = false;
	EXPECT_NE(std::string::npos,
		  release_refusal(facts, kernel).find("its numbers are not known final"));
}

TEST_F(PairReleaseTest, AnUnreadableSpdIsRefused)
{
	kernel.spd_unreadable = true;
	EXPECT_EQ(0u, release_refusal(facts, kernel).find("the SPD cannot be read: "));
}

TEST_F(PairReleaseTest, EachOtherReasonRefusesInWords)
{
	ReleaseFacts f = facts;
	f.active_connected = true;
	EXPECT_EQ("an active is connected", release_refusal(f, kernel));
	f.peers = 2;
	EXPECT_EQ("not one of a pair: another node may be active", release_refusal(f, kernel));
	f.wanted_active = true;
	EXPECT_EQ("wanted active too", release_refusal(f, kernel));
	// First of all: with the IKE daemon's policies, nothing else counts.
	f.ike_owned = true;
	EXPECT_EQ("the IKE daemon owns the policies: this node cannot promise not to send",
		  release_refusal(f, kernel));
}

} // namespace
} // namespace failover
