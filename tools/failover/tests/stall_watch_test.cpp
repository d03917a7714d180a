// SPDX-License-Identifier: GPL-2.0
#include "stall_watch.hpp"

#include <gtest/gtest.h>

namespace failover {
namespace {

using namespace std::chrono_literals;
using Clock = StallWatch::Clock;

TEST(StallWatch, OnTimeIsNoStall)
{
	const auto t0 = Clock::time_point{};
	StallWatch w(t0);
	EXPECT_EQ(Clock::duration::zero(), w.lap(t0 + 40ms, 50ms));
	EXPECT_EQ(Clock::duration::zero(), w.lap(t0 + 90ms, 50ms));
}

TEST(StallWatch, LateByTheTimeBeyondWhatWasExpected)
{
	const auto t0 = Clock::time_point{};
	StallWatch w(t0);
	EXPECT_EQ(Clock::duration(2450ms), w.lap(t0 + 2500ms, 50ms));
	// Measured from the last lap, not from the start.
	EXPECT_EQ(Clock::duration::zero(), w.lap(t0 + 2520ms, 50ms));
	EXPECT_EQ(Clock::duration(100ms), w.lap(t0 + 2670ms, 50ms));
}

} // namespace
} // namespace failover
