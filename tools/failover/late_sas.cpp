// SPDX-License-Identifier: GPL-2.0
#include "late_sas.hpp"

#include <cerrno>
#include <netinet/in.h>

#include "log.hpp"

namespace failover {

LateSas::LateSas(const ShadowView &view, const TakeoverReport &report, Margins margins,
		 Clock::time_point until)
	: margins_(std::move(margins)), until_(until)
{
	for (const auto &out : report.sas) {
		const auto key = key_of(out.id);
		if (!out.absent && !out.error) {
			settled_.insert(key);
			continue;
		}
		// Absent, or failed and deleted: if it comes, it moves past the
		// old active's report; past the kernel's, by the margin, when
		// there was none (numbers unknown: not a base of 0).
		if (view.numbers_unknown.count(key))
			continue;
		if (auto it = view.sas.find(key); it != view.sas.end())
			reported_.emplace(key, it->second);
	}
}

Result<bool> LateSas::appeared(const replay::SaId &id, replay::Backend &backend,
			       KernelSink &kernel, Clock::time_point now)
{
	if (over(now))
		return false;
	return move(id, backend, kernel);
}

Result<std::uint64_t> LateSas::sweep(replay::Backend &backend, KernelSink &kernel)
{
	std::uint64_t n = 0;
	auto sas = kernel_sas(backend, kernel);
	if (!sas)
		return sas.error();
	for (const auto &sa : *sas) {
		auto r = move(sa.id, backend, kernel);
		n += r && *r;
	}
	return n;
}

std::set<Admitted> LateSas::admitted() const
{
	std::set<Admitted> out;
	for (const auto &[spi, proto, family, dst, mark_v, mark_m] : settled_)
		out.insert(Admitted{family, dst, spi});
	return out;
}

Result<bool> LateSas::fail(const replay::SaId &id, KernelSink &kernel, const Error &why)
{
	auto gone = kernel.delete_sa(id);
	// Gone already (its owner deleted it, or an earlier failure here did:
	// a sweep and a queued event can both name it): nothing carries its
	// numbers, and nothing failed now.
	if (!gone && gone.error().code == ESRCH)
		return false;
	failed_++;
	log("error", "takeover_sa_failed",
	    {{"sa", sa_text(id)}, {"reason", why.message()},
	     {"fenced", gone ? "SA deleted" : gone.error().message()}});
	return why;
}

Result<bool> LateSas::move(const replay::SaId &id, replay::Backend &backend, KernelSink &kernel)
{
	const auto key = key_of(id);
	if (settled_.count(key))
		return false;
	ShadowSa sa;
	if (auto it = reported_.find(key); it != reported_.end()) {
		sa = it->second;
	} else {
		auto in_kernel = backend.get(id);
		if (!in_kernel && in_kernel.error().code == ESRCH)
			return false;	// deleted again: nothing to move
		if (!in_kernel)
			return fail(id, kernel, in_kernel.error());
		sa.id = id;
		sa.state = in_kernel->state;
	}
	const TakeoverStep step = plan_takeover(
		sa.state, MarginInputs{sa.thresh.value_or(margins_.thresh_for(id)),
				       sa.rate.peak_pps(), margins_.lag_s, margins_.staleness_s,
				       margins_.floor});
	// Never installed from here: the SA is the IKE daemon's.
	sa.record.clear();
	if (auto r = set_forward(backend, kernel, sa, step.state, "takeover_late_sa"); !r) {
		if (r.error().code == ESRCH)
			return false;
		return fail(id, kernel, r.error());
	}
	settled_.insert(key);
	reported_.erase(key);
	moved_++;
	return true;
}

} // namespace failover
