// SPDX-License-Identifier: GPL-2.0
// When a connected peer counts as not reading: Backlog::judge().
#include <gtest/gtest.h>

#include <cerrno>

#include "sync_link.hpp"

namespace failover {
namespace {

using namespace std::chrono_literals;

const auto t0 = Link::Clock::time_point{} + 1h;
constexpr auto limit = 3500ms;

Backlog waiting_since(Link::Clock::time_point sent)
{
	Backlog b;
	b.frames_waiting = 3;
	b.oldest_sent = sent;
	b.last_ack = t0 - 1min;
	b.peer = "10.2.0.2:7500";
	return b;
}

TEST(Backlog, NothingWaitingIsFine)
{
	Backlog b;
	b.last_ack = t0 - 1h;
	EXPECT_FALSE(b.judge(t0, limit));
}

TEST(Backlog, FramesUnackedPastTheLimitDropThePeer)
{
	auto b = waiting_since(t0 - 4s);
	auto e = b.judge(t0, limit);
	ASSERT_TRUE(e);
	EXPECT_EQ(ETIMEDOUT, e->code);
	EXPECT_NE(std::string::npos, e->message().find("no ack from 10.2.0.2:7500 for 4000 ms"));
	EXPECT_FALSE(waiting_since(t0 - 3s).judge(t0, limit));
}

TEST(Backlog, AcksComingInKeepALongTransferGoing)
{
	// A snapshot queued 60 s ago, acked as it is read: the last ack is
	// what counts.
	auto b = waiting_since(t0 - 60s);
	b.last_ack = t0 - 1s;
	EXPECT_FALSE(b.judge(t0, limit));
	b.last_ack = t0 - 5s;
	EXPECT_TRUE(b.judge(t0, limit));
}

TEST(Backlog, ThisNodesOwnStallsAreNotThePeers)
{
	auto b = waiting_since(t0 - 5s);
	b.own_stalls = 2s;
	EXPECT_FALSE(b.judge(t0, limit));
	b.own_stalls = 1s;
	EXPECT_TRUE(b.judge(t0, limit));
}

TEST(Backlog, TooManyBytesQueuedDropAtOnce)
{
	Backlog b;
	b.queued_bytes = Backlog::kMaxQueuedBytes + 1;
	b.peer = "p";
	auto e = b.judge(t0, limit);
	ASSERT_TRUE(e);
	EXPECT_EQ(ENOBUFS, e->code);
	b.queued_bytes = Backlog::kMaxQueuedBytes;
	EXPECT_FALSE(b.judge(t0, limit));
}

// A snapshot of 100,000 SAs is about 65 MB, queued at once: only what
// is queued beyond it counts against the limit.
TEST(Backlog, ALargeSnapshotIsNotABacklog)
{
	Backlog b;
	b.peer = "p";
	b.queued_bytes = 3 * Backlog::kMaxQueuedBytes;
	b.snapshot_bytes = 2 * Backlog::kMaxQueuedBytes;
	EXPECT_FALSE(b.judge(t0, limit));
	b.queued_bytes++;
	auto e = b.judge(t0, limit);
	ASSERT_TRUE(e);
	EXPECT_EQ(ENOBUFS, e->code);
}

// Crossed dials between gw1 and gw2 (link A dialed by gw1, B by gw2),
// their Hellos in either order at either end: both ends keep the same one.
TEST(KeepsNewerLink, CrossedDialsKeepTheSameLinkAtBothEnds)
{
	// At a node, whether link A (else B) stays when @first said Hello first.
	auto keeps_a = [](const std::string &self, const std::string &peer, bool a_first) {
		const bool a_outbound = self == "gw1";	// gw1 dialed A
		const bool newer_is_a = !a_first;
		const bool newer_outbound = newer_is_a ? a_outbound : !a_outbound;
		const bool older_outbound = !newer_outbound;
		const bool keep_newer = keeps_newer_link(newer_outbound, older_outbound, self, peer);
		return keep_newer == newer_is_a;
	};
	for (bool at_gw1_a_first : {false, true})
		for (bool at_gw2_a_first : {false, true}) {
			EXPECT_EQ(keeps_a("gw1", "gw2", at_gw1_a_first),
				  keeps_a("gw2", "gw1", at_gw2_a_first));
			// gw1 sorts first: the link gw1 dialed.
			EXPECT_TRUE(keeps_a("gw1", "gw2", at_gw1_a_first));
		}
}

// A peer's new connection beside its old one: the new one stays.
TEST(KeepsNewerLink, SameDirectionKeepsTheNewer)
{
	EXPECT_TRUE(keeps_newer_link(false, false, "gw1", "gw2"));
	EXPECT_TRUE(keeps_newer_link(true, true, "gw1", "gw2"));
	EXPECT_TRUE(keeps_newer_link(false, false, "gw2", "gw1"));
}

} // namespace
} // namespace failover
