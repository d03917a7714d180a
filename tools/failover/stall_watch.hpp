// SPDX-License-Identifier: GPL-2.0
// Time this process did not run when it meant to: a stalled VM, an
// overloaded host, a long step of its own. A peer heard nothing from in
// that time was not necessarily silent: it may not have run either, or
// its frames sat unread. Timers that judge a peer's silence leave that
// time out; timers that size a margin (how far the peer may have gone)
// must not.
#pragma once

#include <chrono>

namespace failover {

class StallWatch {
public:
	using Clock = std::chrono::steady_clock;

	explicit StallWatch(Clock::time_point start = Clock::now()) : last_(start) {}

	// Marks @now, a point meant to come within @expected of the last one;
	// returns how much later than that it came.
	Clock::duration lap(Clock::time_point now, Clock::duration expected)
	{
		const auto late = now - last_ - expected;
		last_ = now;
		return late > Clock::duration::zero() ? late : Clock::duration::zero();
	}

private:
	Clock::time_point last_;
};

} // namespace failover
