// SPDX-License-Identifier: GPL-2.0
// Time this process did not run when it meant to: a stalled VM, an
// overloaded host. A peer heard nothing from in that time was not
// necessarily silent: it may not have run either, or its frames sat
// unread. Timers that decide when to give up on a peer leave that time
// out; nothing that decides what to trust (a Release's age) or how far
// the peer may have gone (a margin) does.
#pragma once

#include <chrono>

namespace failover {

using StallClock = std::chrono::steady_clock;

// How much longer than @asked, beyond @slack, a wait begun at @start
// lasted by @now: only an oversleep counts, never the process's own work.
inline StallClock::duration overslept(StallClock::time_point start, StallClock::duration asked,
				      StallClock::duration slack, StallClock::time_point now)
{
	const auto late = now - start - asked - slack;
	return late > StallClock::duration::zero() ? late : StallClock::duration::zero();
}

} // namespace failover
