// SPDX-License-Identifier: GPL-2.0
// One end of a sync channel connection: frames out with their sequence
// numbers and the acks that come back for them, frames in checked to
// follow each other without a gap, and when each way last saw a frame.
// What the frames mean is the daemon's.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "frame.hpp"
#include "tls.hpp"

namespace failover {

struct Link {
	using Clock = std::chrono::steady_clock;

	explicit Link(Connection c) : conn(std::move(c)) {}

	// Queues @body as the next frame. @track: kept until the peer acks it
	// (an active's sync lag is the age of the oldest one).
	void send(Body body, bool track);
	// Writes what is queued, as far as the socket takes it now.
	void flush();
	// The next frame's body; nullopt until more bytes come. EPROTO for a
	// frame out of sequence: the link must be dropped.
	Result<std::optional<Body>> receive();
	// The peer has every frame up to @seq. EPROTO for one never sent.
	Result<std::monostate> acked_up_to(std::uint64_t seq);

	Connection conn;
	bool hello_received = false;
	Role remote = Role::standby;
	std::string node;
	std::uint64_t tx_seq = 0, rx_seq = 0, acked = 0;
	std::deque<std::pair<std::uint64_t, Clock::time_point>> unacked;
	Clock::time_point last_tx = Clock::now(), last_rx = Clock::now();
	// Time this node itself stalled since the last frame came
	// (stall_watch.hpp): not the peer's silence.
	Clock::duration stalled_since_rx{};
	// This node asked the peer to hand over (an active) or for its final
	// numbers (a standby): once per link.
	bool asked_to_release = false;
	// This node opened the connection.
	bool outbound = false;

	Clock::duration silence(Clock::time_point now) const
	{
		return now - last_rx - stalled_since_rx;
	}
};

// Sends what is queued on @link until @deadline.
void drain(Link &link, Link::Clock::time_point deadline);
// Sends what is queued on every link, for at most @bound.
void drain(std::vector<Link> &links, std::chrono::milliseconds bound);

} // namespace failover
