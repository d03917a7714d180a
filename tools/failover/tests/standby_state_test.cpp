// SPDX-License-Identifier: GPL-2.0
// What a standby holds of its active: when it is synced, which link's
// loss interrupts a snapshot, and how long a Release counts.
#include <gtest/gtest.h>

#include "fake_backend.hpp"
#include "standby_state.hpp"

namespace failover {
namespace {

using namespace std::chrono_literals;
using Change = StandbyState::Change;

class StandbyStateTest : public ::testing::Test {
protected:
	Change apply(Body body, int fd = kLink)
	{
		auto change = standby.apply(body, fd, t0);
		EXPECT_TRUE(change) << change.error().message();
		return change ? *change : Change::none;
	}
	// A snapshot of one SA and one policy, cut short after its SA when
	// @whole is false.
	void snapshot(bool whole, int fd = kLink)
	{
		EXPECT_EQ(Change::snapshot_began, apply(SnapshotBegin{1, 1}, fd));
		EXPECT_EQ(Change::none, apply(SaRecord{sample_newsa(0x2001)}, fd));
		if (!whole)
			return;
		EXPECT_EQ(Change::none, apply(PolicyRecord{sample_newpolicy()}, fd));
		EXPECT_EQ(Change::snapshot_ended, apply(SnapshotEnd{}, fd));
	}

	static constexpr int kLink = 7;
	const StandbyState::Clock::time_point t0 = StandbyState::Clock::now();
	FakeKernel kernel;
	StandbyState standby{kernel, ShadowTable::Mirror::tables};
};

TEST_F(StandbyStateTest, ASnapshotThatEndsCompleteMakesItSynced)
{
	EXPECT_FALSE(standby.synced());
	snapshot(true);
	EXPECT_TRUE(standby.synced());
	EXPECT_FALSE(standby.table().in_progress());
	EXPECT_EQ(1u, standby.view().sas.size());
	EXPECT_EQ(1u, standby.view().policies.size());
}

// Only the loss of the link the snapshot comes over interrupts it; the
// last complete view stays, and this node is not synced by the half.
TEST_F(StandbyStateTest, OnlyTheSnapshotsOwnLinkInterruptsIt)
{
	snapshot(false);
	standby.link_lost(kLink + 1);
	EXPECT_TRUE(standby.table().in_progress());
	standby.link_lost(kLink);
	EXPECT_FALSE(standby.table().in_progress());
	EXPECT_FALSE(standby.synced());
	// Once interrupted, the old link's number interrupts nothing: a
	// snapshot now comes over another.
	snapshot(false, kLink + 2);
	standby.link_lost(kLink);
	EXPECT_TRUE(standby.table().in_progress());
	standby.link_lost(kLink + 2);
	EXPECT_FALSE(standby.table().in_progress());
}

// Numbers and a Release from elsewhere (a standby peer's link) leave the
// snapshot's link as it is.
TEST_F(StandbyStateTest, FramesFromAnotherLinkLeaveTheSnapshotsLink)
{
	snapshot(false);
	replay::SaId id = sa_id_of(sample_newsa(0x2001));
	apply(ReplayUpdate{id, std::nullopt, numbers(50, 60), 1}, kLink + 1);
	apply(Release{2}, kLink + 1);
	standby.link_lost(kLink + 1);
	EXPECT_TRUE(standby.table().in_progress());
}

TEST_F(StandbyStateTest, ATakeoverStopsASnapshotInProgress)
{
	snapshot(false);
	standby.stop_snapshot();
	EXPECT_FALSE(standby.table().in_progress());
	EXPECT_FALSE(standby.synced());
	// Its SA joined the view (ShadowTable::interrupt).
	EXPECT_EQ(1u, standby.view().sas.size());
}

TEST_F(StandbyStateTest, NumbersMoveTheViewForward)
{
	snapshot(true);
	replay::SaId id = sa_id_of(sample_newsa(0x2001));
	EXPECT_EQ(Change::numbers, apply(ReplayUpdate{id, std::nullopt, numbers(50, 60), 1}));
	EXPECT_EQ(50u, standby.view().sas.begin()->second.state.oseq);
	EXPECT_EQ(60u, standby.view().sas.begin()->second.state.seq);
}

TEST_F(StandbyStateTest, AReleaseCountsForItsAgeOnly)
{
	EXPECT_EQ(Change::released, apply(Release{3}));
	EXPECT_TRUE(standby.released());
	EXPECT_TRUE(standby.fresh_release(t0 + 2s, 2s));
	EXPECT_TRUE(standby.released());
	EXPECT_FALSE(standby.fresh_release(t0 + 2001ms, 2s));
	EXPECT_FALSE(standby.released());
}

TEST_F(StandbyStateTest, ANewSnapshotOrANewRoleSpendsARelease)
{
	apply(Release{3});
	ASSERT_TRUE(standby.released());
	snapshot(false);
	EXPECT_FALSE(standby.released());
	apply(Release{4});
	ASSERT_TRUE(standby.released());
	standby.reset();
	EXPECT_FALSE(standby.released());
}

TEST_F(StandbyStateTest, ANewRoleIsNotSyncedButKeepsTheView)
{
	snapshot(true);
	standby.reset();
	EXPECT_FALSE(standby.synced());
	EXPECT_EQ(1u, standby.view().sas.size());
}

TEST_F(StandbyStateTest, FramesAnActiveNeverSendsAreRefused)
{
	for (Body body : {Body{HandoverRequest{1}}, Body{Hello{}}, Body{Ack{1}}}) {
		auto change = standby.apply(body, kLink, t0);
		ASSERT_FALSE(change);
		EXPECT_EQ(EPROTO, change.error().code);
	}
	EXPECT_EQ(Change::none, apply(Heartbeat{}));
}

} // namespace
} // namespace failover
