// SPDX-License-Identifier: GPL-2.0
// A standby's copy of the active's SAD and SPD and of every SA's replay
// state. Double-buffered: a snapshot in progress is collected apart and
// replaces the complete view only when it ends, so a takeover during a
// snapshot (the active died halfway) still has the last complete view,
// with what the cut-off snapshot brought that the view lacked.
// What it does to this node's kernel goes through a KernelSink: SAs are
// installed as they come (they carry nothing without a policy), policies
// as BLOCK placeholders, and at the end of a snapshot whatever the kernel
// holds that the new view does not is deleted.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "frame.hpp"
#include "margin.hpp"

namespace failover {

// The part of the kernel's SAD and SPD the shadow table writes.
class KernelSink {
public:
	virtual ~KernelSink() = default;
	virtual Result<std::vector<Bytes>> dump_sas() = 0;
	virtual Result<std::vector<Bytes>> dump_policies() = 0;
	// An SA already there with the same SPI, destination and protocol
	// is replaced (a standby mirrors the active's newer record), or kept
	// and reported as EEXIST (at takeover: it may hold numbers beyond
	// the record's, which a replacement would lose).
	enum class Existing { replace, keep };
	virtual Result<std::monostate> install_sa(std::span<const std::uint8_t> newsa,
						  Existing existing) = 0;
	virtual Result<std::monostate> delete_sa(const replay::SaId &id) = 0;
	virtual Result<std::monostate> install_blocking(std::span<const std::uint8_t> newpolicy) = 0;
	// The real policy, replacing its BLOCK placeholder (at takeover).
	virtual Result<std::monostate> install_policy(std::span<const std::uint8_t> newpolicy) = 0;
	// The policy a NEWPOLICY (or DELPOLICY) message names, by selector and
	// direction; ESRCH when there is none.
	virtual Result<std::monostate> delete_policy(std::span<const std::uint8_t> policy) = 0;
};

struct ShadowSa {
	replay::SaId id;
	Bytes record;	// NEWSA, empty until the record came
	replay::ReplayState state;
	std::optional<replay::ReplayThresh> thresh;
	RateEstimate rate;
};

using SaKey = std::tuple<std::uint32_t, std::uint8_t, int, std::array<std::uint8_t, 16>,
			 std::uint32_t, std::uint32_t>;
SaKey key_of(const replay::SaId &id);
// "0x00002001/192.0.2.1" (and "/mark:0x1/0xffffffff" for a marked SA), as
// logs and the control socket name an SA.
std::string sa_text(const replay::SaId &id);

struct ShadowView {
	std::map<SaKey, ShadowSa> sas;
	std::map<Bytes, Bytes> policies;	// policy_key() -> NEWPOLICY
	// SAs of the kernel listed without numbers at takeover
	// (with_unreported_sas), and why: they are fenced, never moved from
	// numbers that are not theirs.
	std::map<SaKey, std::string> numbers_unknown;
};

class ShadowTable {
public:
	// What a standby keeps of the active's tables: all of them, mirrored
	// into its kernel; or, when an IKE daemon installs the SAs and
	// policies on every node (sa_owner = "ike"), the replay state alone:
	// records are ignored, and the kernel is never written.
	enum class Mirror { tables, replay_only };
	explicit ShadowTable(KernelSink &kernel, Mirror mirror = Mirror::tables)
		: kernel_(kernel), mirror_(mirror)
	{
	}

	void begin_snapshot(const SnapshotBegin &b);
	// The collected snapshot becomes the view; the kernel loses what the
	// view does not have. False when no snapshot was in progress.
	bool end_snapshot();
	void sa(Bytes newsa);
	void sa_deleted(const replay::SaId &id);
	void policy(Bytes newpolicy);
	void policy_deleted(std::span<const std::uint8_t> delpolicy);
	// Forward only, as the kernel would take it; into the view and a
	// snapshot in progress alike (numbers must not vanish with a snapshot
	// that never ends).
	void replay(const ReplayUpdate &u);
	// Drops a snapshot in progress (the active is gone, or this node takes
	// over): the last complete view stays, and gains the SAs and policies
	// of the dropped snapshot it lacked (never losing or rewinding any).
	bool interrupt();
	// This node's own tables and numbers, as a complete view (a node that
	// stands down keeps what it had).
	void replace(ShadowView view);

	const ShadowView &view() const { return view_; }
	bool complete() const { return complete_; }
	bool in_progress() const { return incoming_.has_value(); }

private:
	ShadowView &target() { return incoming_ ? *incoming_ : view_; }

	KernelSink &kernel_;
	Mirror mirror_;
	ShadowView view_;
	std::optional<ShadowView> incoming_;
	SnapshotBegin expected_;
	bool complete_ = false;
};

} // namespace failover
