// SPDX-License-Identifier: GPL-2.0
#include "takeover.hpp"

#include <algorithm>
#include <cerrno>
#include <map>
#include <netinet/in.h>

#include "kernel_tables.hpp"
#include "log.hpp"
#include "pfkey_names.hpp"

namespace failover {
namespace {

// True when the kernel holds at least @want (set now, or already).
Result<bool> set_forward_once(replay::Backend &backend, KernelSink &kernel, const ShadowSa &sa,
			      const replay::ReplayState &want, const char *event)
{
	auto now = backend.get(sa.id);
	if (!now && now.error().code == ESRCH && !sa.record.empty()) {
		// Not installed yet (or lost): install, then set. EEXIST: the
		// same SA appeared in between (a sync frame, an IKE daemon);
		// it is set forward like any other, never deleted for it.
		if (auto r = kernel.install_sa(sa.record, KernelSink::Existing::keep);
		    !r && r.error().code != EEXIST)
			return r.error();
		now = backend.get(sa.id);
	}
	if (!now)
		return now.error();
	if (now->state.oseq >= want.oseq && now->state.seq >= want.seq &&
	    now->state.window == want.window) {
		log("info", event, {{"sa", sa_text(sa.id)},
				    {"oseq_from", std::to_string(now->state.oseq)},
				    {"oseq_to", std::to_string(now->state.oseq)},
				    {"seq", std::to_string(now->state.seq)}});
		return true;
	}
	replay::ReplayState next = want;
	next.oseq = std::max(want.oseq, now->state.oseq);
	if (now->state.seq > want.seq) {
		next.seq = now->state.seq;
		next.bitmap = now->state.bitmap;
	}
	if (auto r = backend.set_state(sa.id, next); !r)
		return r.error();
	log("info", event, {{"sa", sa_text(sa.id)},
			    {"oseq_from", std::to_string(now->state.oseq)},
			    {"oseq_to", std::to_string(next.oseq)},
			    {"seq", std::to_string(next.seq)}});
	return true;
}

// Fail closed: an SA whose numbers could not be set would send numbers
// the peer has seen. Without it, its policies drop what they match.
void fence(KernelSink &kernel, const ShadowSa &sa, const Error &why)
{
	auto gone = kernel.delete_sa(sa.id);
	log("error", "takeover_sa_failed",
	    {{"sa", sa_text(sa.id)}, {"reason", why.message()},
	     {"fenced", gone || gone.error().code == ESRCH ? "SA deleted"
							     : gone.error().message()}});
}

} // namespace

// A packet the SA takes between the read and the write makes the kernel
// refuse the write (ERANGE); read again: the kernel may be past @want by
// then.
Result<std::monostate> set_forward(replay::Backend &backend, KernelSink &kernel,
				   const ShadowSa &sa, const replay::ReplayState &want,
				   const char *event)
{
	Result<bool> r = false;
	for (int attempt = 0; attempt < 5; attempt++) {
		r = set_forward_once(backend, kernel, sa, want, event);
		if (r && *r)
			return std::monostate{};
		if (!r && r.error().code != ERANGE)
			return r.error();
	}
	if (!r)
		return r.error();
	return Error{EAGAIN, "replay state kept moving while being set"};
}

TakeoverReport execute_takeover(const ShadowView &view, const std::optional<Margins> &margins,
				replay::Backend &backend, KernelSink &kernel, AbsentSa absent)
{
	TakeoverReport report;
	for (const auto &[key, sa] : view.sas) {
		SaOutcome &out = report.sas.emplace_back(
			SaOutcome{sa.id, TakeoverStep{sa.state, 0, 0, false}, std::nullopt});
		// A move from a base of 0 could land below what the SA
		// sent: fenced without one.
		if (auto u = view.numbers_unknown.find(key); u != view.numbers_unknown.end()) {
			out.error = Error{ENODATA, "its numbers are unknown: " + u->second};
			report.failed++;
			fence(kernel, sa, *out.error);
			continue;
		}
		if (margins)
			out.step = plan_takeover(
				sa.state, MarginInputs{sa.thresh.value_or(margins->thresh_for(sa.id)),
						       sa.rate.peak_pps(), margins->lag_s,
						       margins->staleness_s, margins->floor});
		if (auto r = set_forward(backend, kernel, sa, out.step.state, "takeover_sa"); !r) {
			if (r.error().code == ESRCH && absent == AbsentSa::skipped) {
				report.absent++;
				out.absent = true;
				log("info", "takeover_sa_absent", {{"sa", sa_text(sa.id)}});
				continue;
			}
			out.error = r.error();
			report.failed++;
			fence(kernel, sa, r.error());
			continue;
		}
		report.margin_max = std::max(report.margin_max, out.step.margin);
		report.exposure_max = std::max(report.exposure_max, out.step.inbound_exposure);
		report.exhausted += out.step.exhausted;
		if (out.step.exhausted)
			log("warning", "sa_exhausted", {{"sa", sa_text(sa.id)}});
	}
	for (const auto &[key, p] : view.policies) {
		if (auto r = kernel.install_policy(p); !r) {
			report.failed++;
			log("error", "takeover_policy_failed", {{"reason", r.error().message()}});
			continue;
		}
		report.policies++;
	}
	return report;
}

Result<std::vector<KernelSaRow>> kernel_sas(replay::Backend &backend, KernelSink &kernel)
{
	std::vector<KernelSaRow> rows;
	if (backend.kind() != replay::Kind::pfkey) {
		for (std::uint8_t proto : {IPPROTO_ESP, IPPROTO_AH}) {
			auto sas = backend.dump(proto);
			if (!sas)
				return sas.error();
			for (auto &sa : *sas)
				rows.push_back(KernelSaRow{sa.id, std::move(sa.state), {}, true});
		}
		return rows;
	}
	auto records = kernel.dump_sas();
	if (!records)
		return records.error();
	PfkeyNames names;
	names.reset(*records);
	// The PF_KEY dump's entry under a name marked SAs answer to may be any
	// of theirs: only names no marked SA shares are read from it.
	std::map<SaKey, replay::ReplayState> numbers;
	for (std::uint8_t proto : {IPPROTO_ESP, IPPROTO_AH}) {
		auto sas = backend.dump(proto);
		if (!sas)
			return sas.error();
		for (auto &sa : *sas)
			if (!sa.id.mark.any() && !names.ambiguous(sa.id))
				numbers.emplace(key_of(sa.id), std::move(sa.state));
	}
	for (const auto &record : *records) {
		const replay::SaId id = sa_id_of(record);
		if (id.proto != IPPROTO_ESP && id.proto != IPPROTO_AH)
			continue;
		if (id.mark.any() || (names.ambiguous(id) && !names.resolvable(id))) {
			rows.push_back(KernelSaRow{id, std::nullopt,
						   id.mark.any() ? "PF_KEY cannot read an SA with an XFRM mark"
								 : "PF_KEY cannot tell it from a twin of mark value 0",
						   false});
			continue;
		}
		if (names.ambiguous(id)) {
			// Read by its name, which finds it and none of its twins.
			// One that cannot be read has no numbers, and fences
			// alone: the others still move.
			if (auto sa = backend.get(id); sa) {
				rows.push_back(KernelSaRow{id, std::move(sa->state), {}, true});
			} else if (sa.error().code != ESRCH) {
				log("error", "replay_read_failed",
				    {{"sa", sa_text(id)}, {"reason", sa.error().message()}});
				rows.push_back(KernelSaRow{id, std::nullopt,
							   "reading it failed: " + sa.error().message(), true});
			}
			continue;
		}
		// Not in the PF_KEY dump, which came second: deleted between
		// the two (one added between is not in the list: the late-SA
		// sweep and its NEWSA event move it).
		if (auto it = numbers.find(key_of(id)); it != numbers.end())
			rows.push_back(KernelSaRow{id, std::move(it->second), {}, true});
	}
	return rows;
}

Result<ShadowView> with_unreported_sas(const ShadowView &view, replay::Backend &backend,
				       KernelSink &kernel, std::uint64_t &added)
{
	ShadowView out = view;
	added = 0;
	auto rows = kernel_sas(backend, kernel);
	if (!rows)
		return rows.error();
	for (auto &row : *rows) {
		// One PF_KEY cannot name alone is fenced even when the view has
		// its numbers: setting them by its name could move its twin.
		if (!row.addressable)
			out.numbers_unknown[key_of(row.id)] = row.no_numbers_why;
		auto [it, inserted] = out.sas.try_emplace(key_of(row.id));
		if (!inserted)
			continue;
		it->second.id = row.id;
		if (row.state)
			it->second.state = std::move(*row.state);
		else
			out.numbers_unknown[key_of(row.id)] = row.no_numbers_why;
		added++;
	}
	return out;
}

} // namespace failover
