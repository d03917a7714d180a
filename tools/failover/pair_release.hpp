// SPDX-License-Identifier: GPL-2.0
// A two-node pair where neither node is active: the last active stood
// down, so its kernel holds the final numbers and the other node holds
// what it knew. Together they are exact, and the node wanted active takes
// over from them without a margin. Only a node that cannot send (every
// policy blocked) vouches for its numbers; one that is wanted active
// itself refuses (both MASTER is keepalived's split brain, left to the
// no_active timer). This file judges whether a standby may vouch.
#pragma once

#include <cstddef>
#include <string>

#include "shadow_table.hpp"

namespace failover {

// What the standby asked for its numbers knows of itself.
struct ReleaseFacts {
	bool ike_owned = false;		// an IKE daemon owns its policies
	bool wanted_active = false;	// keepalived wants it active
	std::size_t peers = 0;		// configured sync peers
	bool active_connected = false;	// an active is on a link
	// Its numbers are known final: its last stand-down was complete, or
	// it is synced with the last active.
	bool numbers_final = false;
};

// Why this standby may not vouch for its numbers; empty when it may. The
// policies are read from @kernel: every one must block.
std::string release_refusal(const ReleaseFacts &facts, KernelSink &kernel);

} // namespace failover
