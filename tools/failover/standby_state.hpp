// SPDX-License-Identifier: GPL-2.0
// What a standby holds of the active it follows: the active's tables and
// numbers (ShadowTable), whether they are a complete copy, the link a
// snapshot in progress comes over, and a Release (the active's final
// numbers) with its age. It applies the active's frames and answers
// questions; the links and the role are the daemon's.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "shadow_table.hpp"

namespace failover {

class StandbyState {
public:
	using Clock = std::chrono::steady_clock;

	StandbyState(KernelSink &kernel, ShadowTable::Mirror mirror) : shadow_(kernel, mirror) {}

	// What a frame changed, for the daemon's log and metrics.
	enum class Change { none, snapshot_began, snapshot_ended, numbers, released };
	// A frame from an active (or, numbers and a Release, from a standby
	// peer that was asked for them), read from the link whose socket is
	// @link_fd. EPROTO for a frame an active never sends. A Release holds
	// the numbers final from @now.
	Result<Change> apply(Body &body, int link_fd, Clock::time_point now);
	// The link of @link_fd went: a snapshot it was sending will not end.
	void link_lost(int link_fd);
	// Stops a snapshot in progress: the last complete view is what a
	// takeover moves (ShadowTable::interrupt).
	void stop_snapshot();
	// A new role: no snapshot, not synced, no Release.
	void reset();
	// This node's own tables and numbers (it stood down).
	void replace(ShadowView own) { shadow_.replace(std::move(own)); }

	// A Release is held (and not spent).
	bool released() const { return released_at_.has_value(); }
	// A Release held that is no older than @max_age at @now; an older one
	// is spent (the other node may have taken over again since).
	bool fresh_release(Clock::time_point now, Clock::duration max_age);
	// Used, given away or outdated: the next takeover asks again.
	void spend_release() { released_at_.reset(); }

	const ShadowTable &table() const { return shadow_; }
	const ShadowView &view() const { return shadow_.view(); }
	// A snapshot ended complete since this node became a standby.
	bool synced() const { return synced_; }

private:
	// One per kind of frame: a new kind does not compile until it has one.
	Result<Change> on(SnapshotBegin &b, int link_fd, Clock::time_point now);
	Result<Change> on(SnapshotEnd &e, int link_fd, Clock::time_point now);
	Result<Change> on(SaRecord &r, int link_fd, Clock::time_point now);
	Result<Change> on(SaDelete &d, int link_fd, Clock::time_point now);
	Result<Change> on(PolicyRecord &p, int link_fd, Clock::time_point now);
	Result<Change> on(PolicyDelete &p, int link_fd, Clock::time_point now);
	Result<Change> on(ReplayUpdate &u, int link_fd, Clock::time_point now);
	Result<Change> on(Release &r, int link_fd, Clock::time_point now);
	Result<Change> on(Heartbeat &h, int link_fd, Clock::time_point now);
	Result<Change> on(HandoverRequest &h, int link_fd, Clock::time_point now);
	Result<Change> on(Hello &h, int link_fd, Clock::time_point now);
	Result<Change> on(Ack &a, int link_fd, Clock::time_point now);

	ShadowTable shadow_;
	bool synced_ = false;
	// The socket of the link whose snapshot is in progress; -1 when none.
	int snapshot_fd_ = -1;
	std::optional<Clock::time_point> released_at_;
};

} // namespace failover
