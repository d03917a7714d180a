// SPDX-License-Identifier: GPL-2.0
// What an active reads of its own kernel as it stands down, and when
// those numbers may be promised final and complete.
#include <gtest/gtest.h>

#include "fake_backend.hpp"
#include "stand_down.hpp"

namespace failover {
namespace {

class StandDownTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		backend.add(kernel, 0x2001, numbers(10, 5));
		backend.add(kernel, 0x2002, numbers(0, 70));
		ASSERT_TRUE(kernel.install_policy(sample_newpolicy(2)).ok());
		ASSERT_TRUE(kernel.install_policy(sample_newpolicy(3)).ok());
	}

	Config cfg;
	FakeKernel kernel;
	FakeBackend backend;
	ActiveFeed feed{cfg, backend, kernel};
};

TEST_F(StandDownTest, EveryPolicyBlocksAndEverySaHasItsFinalNumbers)
{
	const StoodDown down = block_and_read(kernel, feed);
	EXPECT_TRUE(down.complete);
	EXPECT_EQ(2u, down.blocked);
	EXPECT_EQ(0u, down.failed);
	EXPECT_EQ(2, kernel.blocking);
	EXPECT_EQ(2u, down.own.policies.size());
	ASSERT_EQ(2u, down.own.sas.size());
	for (const auto &[key, sa] : down.own.sas) {
		EXPECT_FALSE(sa.record.empty());
		EXPECT_EQ(backend.state(sa.id.spi), sa.state);
	}
	EXPECT_EQ(2u, down.final_numbers.size());
}

// A policy that may still carry traffic: the numbers are not final.
TEST_F(StandDownTest, APolicyThatDoesNotBlockIsNoCompleteStandDown)
{
	kernel.blocking_fails = true;
	const StoodDown down = block_and_read(kernel, feed);
	EXPECT_FALSE(down.complete);
	EXPECT_EQ(0u, down.blocked);
	EXPECT_EQ(2u, down.failed);
	// What could be read still is: it is this node's view.
	EXPECT_EQ(2u, down.own.sas.size());
	EXPECT_EQ(2u, down.own.policies.size());
}

TEST_F(StandDownTest, AnSaWhoseNumbersWentUnreadIsNoCompleteStandDown)
{
	ASSERT_TRUE(kernel.install_sa(sample_newsa(0x2003), KernelSink::Existing::keep).ok());
	const StoodDown down = block_and_read(kernel, feed);
	EXPECT_FALSE(down.complete);
	EXPECT_EQ(0u, down.failed);
	EXPECT_EQ(3u, down.own.sas.size());
}

TEST_F(StandDownTest, AnUnreadableSadIsNoCompleteStandDown)
{
	kernel.sad_unreadable = true;
	const StoodDown down = block_and_read(kernel, feed);
	EXPECT_FALSE(down.complete);
	EXPECT_EQ(1u, down.failed);
	EXPECT_EQ(2u, down.blocked);
	// The numbers still come, without records.
	ASSERT_EQ(2u, down.own.sas.size());
	for (const auto &[key, sa] : down.own.sas)
		EXPECT_TRUE(sa.record.empty());
}

// Packets past the policy lookup before it blocked still take numbers:
// the numbers are read until they stop moving.
TEST_F(StandDownTest, TheNumbersAreReadUntilTheyStopMoving)
{
	backend.sending_for_dumps[0x2001] = 3;
	const StoodDown down = block_and_read(kernel, feed);
	EXPECT_EQ(13u, backend.state(0x2001).oseq);
	bool seen = false;
	for (const auto &u : down.final_numbers) {
		if (u.id.spi != 0x2001)
			continue;
		seen = true;
		EXPECT_EQ(13u, u.state.oseq);
	}
	EXPECT_TRUE(seen);
	EXPECT_TRUE(down.complete);
}

TEST_F(StandDownTest, AnUnreadableSpdIsNoCompleteStandDown)
{
	kernel.spd_unreadable = true;
	const StoodDown down = block_and_read(kernel, feed);
	EXPECT_FALSE(down.complete);
	EXPECT_EQ(1u, down.failed);
	EXPECT_EQ(0u, down.blocked);
	EXPECT_EQ(2u, down.own.sas.size());
}

TEST_F(StandDownTest, TheNumbersAloneMakeAViewWithoutRecords)
{
	const ShadowView view = numbers_view(feed.table());
	ASSERT_EQ(2u, view.sas.size());
	EXPECT_TRUE(view.policies.empty());
	for (const auto &[key, sa] : view.sas) {
		EXPECT_TRUE(sa.record.empty());
		EXPECT_EQ(backend.state(sa.id.spi), sa.state);
	}
}

} // namespace
} // namespace failover
