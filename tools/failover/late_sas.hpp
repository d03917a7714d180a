// SPDX-License-Identifier: GPL-2.0
// SAs an IKE daemon installs on the new active after its takeover read the
// SAD: an HA message of the old active still in flight, or a CHILD_SA the
// old active rekeyed just before it died. The takeover could not move
// them; the old active may have sent with them. For a while after the
// takeover (kWindow), every SA that appears is moved the way the takeover
// moved the others: by the margin past the old active's last report when
// it sent one (an SA of the view that was absent then), past the kernel's
// own numbers otherwise. Moving an SA this node's IKE daemon just created
// costs sequence space only.
#pragma once

#include <chrono>
#include <map>
#include <set>

#include "esp_fence.hpp"
#include "takeover.hpp"

namespace failover {

class LateSas {
public:
	using Clock = std::chrono::steady_clock;
	// HA messages arrive within milliseconds of the old active's death;
	// a loaded passive charon may take seconds to install what they carry.
	static constexpr std::chrono::seconds kWindow{10};

	// @view as the takeover moved it, and what it did (@report.sas in the
	// view's order), with the margins it used.
	LateSas(const ShadowView &view, const TakeoverReport &report, Margins margins,
		Clock::time_point until);

	// An SA appeared in the kernel (a NEWSA or UPDSA event) at @now. True
	// when it was moved; false when the takeover or an earlier event
	// moved it already, it is gone again, or the window is over. An SA
	// that cannot be read or moved is deleted (it must carry no traffic)
	// and the error returned.
	Result<bool> appeared(const replay::SaId &id, replay::Backend &backend, KernelSink &kernel,
			      Clock::time_point now);
	// Every ESP and AH SA of the kernel not moved yet is moved: those
	// installed before the events were heard, or whose event was lost.
	// How many; an error when the SAD cannot be read (then some may not
	// be moved: the caller must not let them send).
	Result<std::uint64_t> sweep(replay::Backend &backend, KernelSink &kernel);
	bool over(Clock::time_point now) const { return now > until_; }
	std::uint64_t moved() const { return moved_; }
	// How many could not be moved (each was deleted, or its deletion
	// failed too).
	std::uint64_t failed() const { return failed_; }
	// The SAs whose numbers are set: what may leave (esp_fence.hpp).
	std::set<Admitted> admitted() const;

private:
	Result<bool> move(const replay::SaId &id, replay::Backend &backend, KernelSink &kernel);
	// Deletes the SA that could not be moved, and says why.
	Result<bool> fail(const replay::SaId &id, KernelSink &kernel, const Error &why);

	std::map<SaKey, ShadowSa> reported_;	// of the view, absent at the takeover
	std::set<SaKey> settled_;		// moved, at the takeover or since
	Margins margins_;
	Clock::time_point until_;
	std::uint64_t moved_ = 0, failed_ = 0;
};

} // namespace failover
