// SPDX-License-Identifier: GPL-2.0
// What an active tells its standbys, read from the kernel: snapshots of
// the SAD and SPD with every SA's replay numbers, the numbers each
// notification brings, and the thresholds that pace those notifications.
// It reads and returns frames; the daemon decides who gets them.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "config.hpp"
#include "frame.hpp"
#include "kernel_tables.hpp"
#include "pfkey_names.hpp"
#include "replay/backend.hpp"

namespace failover {

// The sender's steady clock, which a ReplayUpdate's observed_ns carries.
std::uint64_t observed_now_ns();

class ActiveFeed {
public:
	ActiveFeed(const Config &cfg, replay::Backend &backend, KernelSink &tables)
		: cfg_(cfg), backend_(backend), tables_(tables)
	{
	}

	// Every SA in the SAD gets the thresholds the config gives it (on
	// becoming active: the SAs were made with the previous active's).
	void apply_thresholds();
	// An SA appeared (a NEWSA event): its thresholds are set.
	void sa_added(const replay::SaId &id);
	void sa_deleted(const replay::SaId &id);
	// SAD events were lost or the SAD was flushed: what the names of
	// marked SAs stand for is read again.
	void reread_names();

	// Every SA's numbers as the kernel has them now.
	std::vector<ReplayUpdate> table();

	struct SnapshotSize {
		std::size_t sas = 0, policies = 0;
	};
	// A full copy for a standby, frame by frame into @emit: SnapshotBegin,
	// the records, every SA's numbers, SnapshotEnd. A record is handed on
	// as it goes (and freed once @emit has queued it), so a snapshot is in
	// memory about once, not as frames and as queued bytes at once
	// (100,000 SAs are about 65 MB). @records false: SAs and policies are
	// an IKE daemon's to sync, only the numbers go. Nothing is emitted
	// when the tables cannot be read.
	Result<SnapshotSize> snapshot(bool records, const std::function<void(Body)> &emit);

	struct Notifications {
		std::vector<ReplayUpdate> updates;	// in the order they came
		std::uint64_t notifications = 0;	// of them, one per event
		std::uint64_t overruns = 0;		// each added the whole table
		// Stopped at the batch's end: more may be queued, in the
		// backend's own buffer too, where poll() does not see it.
		bool more = false;
	};
	// What the backend has queued, without waiting, up to @max_events:
	// under a storm of notifications the loop still gets to its links
	// and heartbeats, and poll() says when more are queued.
	Notifications drain(std::size_t max_events);

private:
	std::optional<ReplayUpdate> update_for(replay::SaReplay sa, const PfkeyNames &names);
	void set_thresh(const replay::SaId &id);

	const Config &cfg_;
	replay::Backend &backend_;
	KernelSink &tables_;
	// While active: the unmarked names of marked SAs (PF_KEY only).
	PfkeyNames names_;
};

} // namespace failover
