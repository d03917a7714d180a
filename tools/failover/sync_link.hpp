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
	Clock::time_point last_ack = Clock::now();	// when acked last grew
	// Time this node itself stalled since the last frame came
	// (stall_watch.hpp): not the peer's silence.
	Clock::duration stalled_since_rx{};
	// This node asked the peer to hand over (an active) or for its final
	// numbers (a standby): once per link.
	bool asked_to_release = false;
	// This node opened the connection.
	bool outbound = false;
	// Where, in conn.bytes_sent, the last snapshot queued here lies: a
	// snapshot is queued whole, and may alone be larger than
	// Backlog::kMaxQueuedBytes (100,000 SAs are about 65 MB).
	std::uint64_t snapshot_begins_at = 0, snapshot_ends_at = 0;
	// Why this link goes: another link to the same node is kept
	// (keeps_newer_link). Not read from again; housekeeping drops it.
	std::string superseded;

	Clock::duration silence(Clock::time_point now) const
	{
		return now - last_rx - stalled_since_rx;
	}

	// A peer that stays connected, and may even heartbeat, but does not
	// read or does not ack: frames kept for it with no ack coming for
	// longer than @limit (less this node's own stalls; a long snapshot
	// acked as it is read is fine), or more than kMaxQueuedBytes not yet
	// written to its socket. Its queue would otherwise grow with every
	// notification for as long as it stays.
	std::optional<Error> backlogged(Clock::time_point now, Clock::duration limit) const;
};

// What Link::backlogged() judges, as values.
struct Backlog {
	static constexpr std::size_t kMaxQueuedBytes = 64u << 20;

	std::size_t queued_bytes = 0;	// not yet written to the socket
	std::size_t snapshot_bytes = 0;	// of them, a snapshot's: not judged
	std::size_t frames_waiting = 0;	// sent, not acked
	Link::Clock::time_point oldest_sent, last_ack;
	Link::Clock::duration own_stalls{};
	std::string peer;

	std::optional<Error> judge(Link::Clock::time_point now, Link::Clock::duration limit) const;
};

// Two links to one node: both dialed at once (crossed), or a peer's new
// connection beside its old one. Only one may stay, and the same one at
// both ends: a standby would otherwise take two snapshots of one active at
// once, interleaved. Crossed, the one kept is the one the node whose name
// sorts first dialed; both dialed by the same node, the newer. Whether
// @self keeps the link that just said Hello (@newer_outbound: @self dialed
// it) over an older one to @peer.
bool keeps_newer_link(bool newer_outbound, bool older_outbound, const std::string &self,
		      const std::string &peer);

// Sends what is queued on @link until @deadline.
void drain(Link &link, Link::Clock::time_point deadline);
// Sends what is queued on every link, for at most @bound.
void drain(std::vector<Link> &links, std::chrono::milliseconds bound);

} // namespace failover
