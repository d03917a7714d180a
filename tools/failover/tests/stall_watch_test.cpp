// SPDX-License-Identifier: GPL-2.0
#include "stall_watch.hpp"

#include <gtest/gtest.h>

namespace failover {
namespace {

using namespace std::chrono_literals;

TEST(Overslept, WithinTheSlackIsNoStall)
{
	const auto t0 = StallClock::time_point{};
	EXPECT_EQ(StallClock::duration::zero(), overslept(t0, 50ms, 250ms, t0 + 40ms));
	EXPECT_EQ(StallClock::duration::zero(), overslept(t0, 50ms, 250ms, t0 + 300ms));
}

TEST(Overslept, TheTimeBeyondTheWaitAndItsSlack)
{
	const auto t0 = StallClock::time_point{};
	EXPECT_EQ(StallClock::duration(2200ms), overslept(t0, 50ms, 250ms, t0 + 2500ms));
}

} // namespace
} // namespace failover
