// SPDX-License-Identifier: GPL-2.0
// What an active does to its own kernel when it stops carrying traffic:
// every policy becomes a BLOCK placeholder, and every SA and its numbers,
// final once nothing more can be sent, are read. It returns them; telling
// the standbys (a Release) and changing role are the daemon's.
#pragma once

#include <cstdint>
#include <vector>

#include "active_feed.hpp"
#include "shadow_table.hpp"

namespace failover {

struct StoodDown {
	// This node's SAs (records and numbers) and policies: its view from
	// now on, as a standby's is.
	ShadowView own;
	// Every SA's numbers, read until two reads agreed.
	std::vector<ReplayUpdate> final_numbers;
	std::uint64_t blocked = 0;	// policies now BLOCK
	std::uint64_t failed = 0;	// policies not blocked, and tables not read
	// Every policy blocks and every ESP or AH SA's numbers were read: the
	// numbers are final and complete, and a Release may promise so.
	bool complete = false;
};

// Blocks every policy of @kernel and reads its SAs and @feed's numbers.
// Packets that passed the policy lookup before the switch (another CPU, a
// queue) still take numbers: the numbers are read until two reads 10 ms
// apart agree, at most 5 times.
StoodDown block_and_read(KernelSink &kernel, ActiveFeed &feed);

// @numbers as a view of SAs without records: what a node whose SAs and
// policies an IKE daemon owns knows of its own SAs when it stands down.
ShadowView numbers_view(const std::vector<ReplayUpdate> &numbers);

} // namespace failover
