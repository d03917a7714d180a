// SPDX-License-Identifier: GPL-2.0
// The takeover executor: moves every SA of a shadow view to its numbers in
// this node's kernel, deletes (fences) an SA whose numbers cannot be set so
// it carries no traffic, then installs the real policies in place of their
// BLOCK placeholders. It returns what it did; logging the summary, the
// metrics and the role change are the daemon's.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "margin.hpp"
#include "shadow_table.hpp"

namespace failover {

// A takeover without the old active's final numbers: how far past the
// last report each SA moves (margin.hpp).
struct Margins {
	double staleness_s = 0;		// since the active last said anything
	double lag_s = 0;		// the operator's bound on the channel's delay
	std::uint64_t floor = 0;
	// N and T of an SA whose report did not carry them.
	std::function<replay::ReplayThresh(const replay::SaId &)> thresh_for;
};

struct SaOutcome {
	replay::SaId id;
	TakeoverStep step;		// what was to be set
	std::optional<Error> error;	// why it was not: the SA is fenced
	bool absent = false;		// not in this kernel (AbsentSa::skipped)
};

struct TakeoverReport {
	std::uint64_t policies = 0;	// installed
	std::uint64_t failed = 0;	// SAs fenced and policies not installed
	std::uint64_t absent = 0;	// SAs of the view this kernel no longer has
	std::uint64_t exhausted = 0, margin_max = 0, exposure_max = 0;
	std::vector<SaOutcome> sas;	// in the view's order
};

// An SA of the view that this node's kernel does not have: a failure (the
// daemon installs every SA it takes over), or, when an IKE daemon owns the
// SAs, one it deleted or rekeyed away: nothing left to protect.
enum class AbsentSa { fails, skipped };

// @margins empty: the numbers in @view are final (a handover) and set
// exactly. Logs takeover_sa, takeover_sa_failed, takeover_sa_absent,
// sa_exhausted and takeover_policy_failed per SA or policy.
TakeoverReport execute_takeover(const ShadowView &view, const std::optional<Margins> &margins,
				replay::Backend &backend, KernelSink &kernel,
				AbsentSa absent = AbsentSa::fails);

// An SA of this node's kernel, and its numbers when the backend can read
// them.
struct KernelSaRow {
	replay::SaId id;
	std::optional<replay::ReplayState> state;
	std::string no_numbers_why;	// without state: why
	// PF_KEY can name it alone (not marked, no twin of mark value 0):
	// its numbers can be set by that name.
	bool addressable = true;
};

// Every ESP or AH SA of this node's kernel, as the backend names it. PF_KEY
// shows a marked SA without its mark (an unmarked twin that no lookup
// finds): over PF_KEY the list is @kernel's SAD, read over netlink, with
// the numbers of the PF_KEY dump for unmarked SAs and none for marked ones
// (PF_KEY cannot read or set those: whoever moves them fails, and fences).
// An unmarked SA whose name marked SAs share is read by a PF_KEY lookup
// when that finds it alone, and comes without numbers when not
// (pfkey_names.hpp) or when that lookup fails.
Result<std::vector<KernelSaRow>> kernel_sas(replay::Backend &backend, KernelSink &kernel);

// @view with every ESP or AH SA of this node's kernel that it does not
// have, at the kernel's numbers and without thresholds (the margin takes
// the configured ones): SAs an IKE daemon installed here that the active
// never reported (new, or not yet past N packets or T), which a takeover
// with margins must move forward too (kernel_sas(): over PF_KEY, a marked
// SA comes without numbers, and execute_takeover() fences it). How many
// were added in @added. An SAD that cannot be read is an error: those SAs
// would keep their numbers.
Result<ShadowView> with_unreported_sas(const ShadowView &view, replay::Backend &backend,
				       KernelSink &kernel, std::uint64_t &added);

// Moves an SA's kernel state forward to @want, field by field: never below
// what the kernel already holds (a node that stood down and comes back may
// have counted further than its shadow says). An SA the kernel does not
// have is installed from its record first. Logs @event with the numbers
// set.
Result<std::monostate> set_forward(replay::Backend &backend, KernelSink &kernel,
				   const ShadowSa &sa, const replay::ReplayState &want,
				   const char *event);

} // namespace failover
