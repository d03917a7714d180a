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

} // namespace
} // namespace failover
