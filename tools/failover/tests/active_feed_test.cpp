// SPDX-License-Identifier: GPL-2.0
// What an active sends: ActiveFeed's table, snapshots and notifications,
// PF_KEY's unmarked names of marked SAs included.
#include <gtest/gtest.h>

#include "active_feed.hpp"
#include "fake_backend.hpp"

namespace failover {
namespace {

constexpr replay::Mark kMark{5, 0xff};

class ActiveFeedTest : public ::testing::Test {
protected:
	replay::SaId id(std::uint32_t spi, replay::Mark mark = {})
	{
		return sa_id_of(sample_newsa(spi, 0, mark));
	}
	replay::SaReplay notification(std::uint32_t spi, std::uint64_t oseq)
	{
		return replay::SaReplay{id(spi), 1, std::nullopt, numbers(oseq, 0)};
	}

	Config cfg;
	FakeKernel kernel;
	FakeBackend backend;
	ActiveFeed feed{cfg, backend, kernel};
};

TEST_F(ActiveFeedTest, TheTableHasEverySaOnce)
{
	backend.add(kernel, 0x2001, numbers(10, 0));
	backend.add(kernel, 0x2002, numbers(0, 20));
	const auto table = feed.table();
	ASSERT_EQ(2u, table.size());
	for (const auto &u : table)
		EXPECT_EQ(backend.state(u.id.spi), u.state);
	EXPECT_NE(table[0].id.spi, table[1].id.spi);
}

TEST_F(ActiveFeedTest, OverNetlinkAMarkedSaGoesWithItsMark)
{
	backend.add(kernel, 0x2001, numbers(10, 0), 0, kMark);
	const auto table = feed.table();
	ASSERT_EQ(1u, table.size());
	EXPECT_EQ(kMark, table[0].id.mark);
}

// af_key dumps the marked SA under its unmarked name: it is not sent,
// neither under that name (a phantom SA on the standby) nor another's.
TEST_F(ActiveFeedTest, OverPfkeyAMarkedSaAloneIsNotSent)
{
	backend.backend_kind = replay::Kind::pfkey;
	backend.add(kernel, 0x2001, numbers(10, 0), 0, kMark);
	EXPECT_TRUE(feed.table().empty());
}

// The unmarked SA that shares its name with a marked one is read by that
// name, once, with its own numbers, not its twin's.
TEST_F(ActiveFeedTest, OverPfkeyTheUnmarkedTwinIsReadByItsName)
{
	backend.backend_kind = replay::Kind::pfkey;
	backend.add(kernel, 0x2001, numbers(10, 0));
	backend.add(kernel, 0x2001, numbers(99, 0), 0, kMark);
	const auto table = feed.table();
	ASSERT_EQ(1u, table.size());
	EXPECT_FALSE(table[0].id.mark.any());
	EXPECT_EQ(10u, table[0].state.oseq);
}

TEST_F(ActiveFeedTest, ASnapshotIsBeginRecordsNumbersEnd)
{
	backend.add(kernel, 0x2001, numbers(10, 0));
	ASSERT_TRUE(kernel.install_policy(sample_newpolicy()).ok());
	std::vector<Body> frames;
	auto s = feed.snapshot(true, [&](Body b) { frames.push_back(std::move(b)); });
	ASSERT_TRUE(s);
	EXPECT_EQ(1u, s->sas);
	EXPECT_EQ(1u, s->policies);
	ASSERT_EQ(5u, frames.size());
	EXPECT_EQ((SnapshotBegin{1, 1}), std::get<SnapshotBegin>(frames[0]));
	EXPECT_TRUE(std::holds_alternative<SaRecord>(frames[1]));
	EXPECT_TRUE(std::holds_alternative<PolicyRecord>(frames[2]));
	EXPECT_EQ(10u, std::get<ReplayUpdate>(frames[3]).state.oseq);
	EXPECT_TRUE(std::holds_alternative<SnapshotEnd>(frames[4]));
}

// An IKE daemon's SAs: its HA syncs the records, only numbers go.
TEST_F(ActiveFeedTest, ASnapshotWithoutRecordsHasOnlyNumbers)
{
	backend.add(kernel, 0x2001, numbers(10, 0));
	ASSERT_TRUE(kernel.install_policy(sample_newpolicy()).ok());
	std::vector<Body> frames;
	auto s = feed.snapshot(false, [&](Body b) { frames.push_back(std::move(b)); });
	ASSERT_TRUE(s);
	ASSERT_EQ(3u, frames.size());
	EXPECT_EQ((SnapshotBegin{0, 0}), std::get<SnapshotBegin>(frames[0]));
	EXPECT_TRUE(std::holds_alternative<ReplayUpdate>(frames[1]));
	EXPECT_TRUE(std::holds_alternative<SnapshotEnd>(frames[2]));
}

TEST_F(ActiveFeedTest, NotificationsComeOutInOrder)
{
	backend.events.push_back(notification(0x2001, 5));
	backend.events.push_back(notification(0x2002, 6));
	backend.events.push_back(notification(0x2001, 7));
	const auto n = feed.drain(100);
	EXPECT_EQ(3u, n.notifications);
	EXPECT_EQ(0u, n.overruns);
	ASSERT_EQ(3u, n.updates.size());
	EXPECT_EQ(5u, n.updates[0].state.oseq);
	EXPECT_EQ(6u, n.updates[1].state.oseq);
	EXPECT_EQ(7u, n.updates[2].state.oseq);
	EXPECT_TRUE(backend.events.empty());
}

// A storm of notifications is read a bounded batch at a time.
TEST_F(ActiveFeedTest, ADrainStopsAfterItsBatch)
{
	for (std::uint64_t i = 1; i <= 10; i++)
		backend.events.push_back(notification(0x2001, i));
	auto n = feed.drain(4);
	ASSERT_EQ(4u, n.updates.size());
	EXPECT_EQ(4u, n.updates.back().state.oseq);
	EXPECT_TRUE(n.more);
	EXPECT_EQ(6u, backend.events.size());
	n = feed.drain(100);
	EXPECT_EQ(6u, n.updates.size());
	EXPECT_EQ(10u, n.updates.back().state.oseq);
	EXPECT_FALSE(n.more);
}

// Lost notifications: the whole table goes in their place.
TEST_F(ActiveFeedTest, AnOverrunSendsTheWholeTable)
{
	backend.add(kernel, 0x2001, numbers(10, 0));
	backend.add(kernel, 0x2002, numbers(20, 0));
	backend.events.push_back(replay::Overrun{});
	const auto n = feed.drain(100);
	EXPECT_EQ(1u, n.overruns);
	EXPECT_EQ(0u, n.notifications);
	EXPECT_EQ(2u, n.updates.size());
}

// Over PF_KEY a notification under the name of a marked SA is held back
// while the SAD says a marked SA answers to it: from the SAD read on
// becoming active, and from NEWSA/DELSA events after.
TEST_F(ActiveFeedTest, OverPfkeyNotificationsOfMarkedSasAreHeldBack)
{
	backend.backend_kind = replay::Kind::pfkey;
	backend.add(kernel, 0x2001, numbers(10, 0), 0, kMark);
	feed.apply_thresholds();
	backend.events.push_back(notification(0x2001, 11));
	backend.events.push_back(notification(0x2002, 1));
	auto n = feed.drain(100);
	ASSERT_EQ(1u, n.updates.size());
	EXPECT_EQ(0x2002u, n.updates[0].id.spi);

	feed.sa_added(id(0x2002, kMark));
	backend.events.push_back(notification(0x2002, 2));
	EXPECT_TRUE(feed.drain(100).updates.empty());

	feed.sa_deleted(id(0x2002, kMark));
	backend.events.push_back(notification(0x2002, 3));
	EXPECT_EQ(1u, feed.drain(100).updates.size());
}

} // namespace
} // namespace failover
