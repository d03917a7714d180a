// SPDX-License-Identifier: GPL-2.0
// What this node may send, and when: the ESP fence (esp_fence.hpp) moved
// with the role, and the SAs an IKE daemon installs after a takeover
// (late_sas.hpp), admitted through the fence one by one as their numbers
// are set. The daemon says when the role changes; this says what may leave.
#pragma once

#include <chrono>
#include <optional>

#include "esp_fence.hpp"
#include "late_sas.hpp"

namespace failover {

class EgressControl {
public:
	using Clock = std::chrono::steady_clock;
	// How often the fence is applied again: nft flush ruleset removes
	// it, and a change nftables refused is retried.
	static constexpr std::chrono::seconds kReassert{2};

	// Without @fence (esp_fence = false) only the late SAs are handled.
	EgressControl(std::optional<EspFence> fence, replay::Backend &backend, KernelSink &kernel)
		: fence_(std::move(fence)), backend_(backend), kernel_(kernel)
	{
	}

	// Standby, or standing down: nothing leaves; late SAs are forgotten.
	Result<std::monostate> stop(const char *why);
	// Active with every SA's numbers set: everything leaves.
	Result<std::monostate> open(const char *why);
	// A takeover of an IKE daemon's SAs moved @view with @margins: SAs
	// that appear in the next LateSas::kWindow are moved too.
	void expect_late_sas(const ShadowView &view, const TakeoverReport &report,
			     const Margins &margins);
	// The end of a takeover, once the kernel's SA events are heard: the
	// SAs installed since the SAD was read are moved, then only SPIs of
	// set numbers leave until the window is over (everything, without a
	// window).
	Result<std::monostate> release();
	// An SA appeared (a NEWSA or UPDSA event) on the active node: moved
	// and admitted if it is a late one. An error when it could not be
	// moved (it was deleted).
	Result<std::monostate> sa_appeared(const replay::SaId &id);
	// SA events were lost: the SAD is read again for late SAs.
	void resweep();
	// Housekeeping: the window closes with a last sweep (and the fence
	// opens, on an @active node; a sweep that failed is tried again,
	// closed until it works); the fence is applied again.
	void keep(Clock::time_point now, bool active);

	bool fenced() const { return fence_ && fence_->mode() == EspFence::Mode::closed; }
	bool late_window_open() const { return late_.has_value(); }
	std::uint64_t late_moved() const { return late_moved_; }
	// Late SAs that could not be moved since the last takeover.
	std::uint64_t late_failed() const { return late_failed_; }
	// "off", or the fence's mode, and whether the kernel holds it.
	const char *fence_mode() const { return fence_ ? name(fence_->mode()) : "off"; }
	bool fence_applied() const { return !fence_ || fence_->applied(); }

private:
	Result<std::monostate> logged(const Result<std::monostate> &r, const char *why);
	// Sweeps the SAD for late SAs; false when it could not be read.
	bool sweep(const char *when);

	std::optional<EspFence> fence_;
	std::optional<LateSas> late_;
	std::uint64_t late_moved_ = 0, late_failed_ = 0;
	replay::Backend &backend_;
	KernelSink &kernel_;
	Clock::time_point reasserted_ = Clock::now(), swept_ = Clock::now();
};

} // namespace failover
