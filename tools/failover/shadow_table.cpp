// SPDX-License-Identifier: GPL-2.0
#include "shadow_table.hpp"

#include <algorithm>
#include <set>

#include "kernel_tables.hpp"
#include "log.hpp"
#include "replay/xfrm_codec.hpp"

namespace failover {

SaKey key_of(const replay::SaId &id)
{
	return {id.spi, id.proto, id.dst.family, id.dst.addr, id.mark.v, id.mark.m};
}

std::string sa_text(const replay::SaId &id)
{
	char spi[16];
	std::snprintf(spi, sizeof(spi), "0x%08x/", id.spi);
	// Appended, not "const char * + std::string&&": GCC 12 -O2 warns
	// (-Wrestrict, a known false positive) on that form.
	std::string text(spi);
	text += pfkey::to_string(id.dst);
	if (id.mark.any()) {
		char mark[32];
		std::snprintf(mark, sizeof(mark), "/mark:0x%x/0x%x", id.mark.v, id.mark.m);
		text += mark;
	}
	return text;
}

void ShadowTable::begin_snapshot(const SnapshotBegin &b)
{
	if (incoming_)
		log("warning", "snapshot_restarted", {});
	incoming_.emplace();
	expected_ = b;
}

bool ShadowTable::end_snapshot()
{
	if (!incoming_)
		return false;
	view_ = std::move(*incoming_);
	incoming_.reset();
	complete_ = true;
	std::uint64_t sas_gone = 0, policies_gone = 0;
	if (mirror_ == Mirror::replay_only) {
		log("info", "synced", {{"sas", std::to_string(view_.sas.size())},
				       {"sa_owner", "ike"}});
		return true;
	}
	if (auto sas = kernel_.dump_sas()) {
		for (const auto &record : *sas) {
			const auto id = sa_id_of(record);
			if (view_.sas.count(key_of(id)))
				continue;
			if (auto r = kernel_.delete_sa(id); r)
				sas_gone++;
		}
	}
	if (auto policies = kernel_.dump_policies()) {
		for (const auto &p : *policies) {
			if (view_.policies.count(policy_key(p)))
				continue;
			if (auto r = kernel_.delete_policy(p); r)
				policies_gone++;
		}
	}
	log("info", "synced", {{"sas", std::to_string(view_.sas.size())},
			       {"policies", std::to_string(view_.policies.size())},
			       {"expected_sas", std::to_string(expected_.sas)},
			       {"expected_policies", std::to_string(expected_.policies)},
			       {"stale_sas_deleted", std::to_string(sas_gone)},
			       {"stale_policies_deleted", std::to_string(policies_gone)}});
	return true;
}

void ShadowTable::sa(Bytes newsa)
{
	if (mirror_ == Mirror::replay_only)
		return;
	const auto id = sa_id_of(newsa);
	if (auto done = kernel_.install_sa(newsa, KernelSink::Existing::replace); !done)
		log("error", "sa_install_failed", {{"sa", sa_text(id)},
						   {"reason", done.error().message()}});
	auto &sa = target().sas[key_of(id)];
	const bool known = !sa.record.empty() || sa.state.window;
	sa.id = id;
	sa.record = std::move(newsa);
	auto parsed = replay::xfrm::parse_sa(reinterpret_cast<const nlmsghdr *>(sa.record.data()));
	if (parsed) {
		auto state = replay::xfrm::to_canonical(parsed->replay, parsed->esn,
						       parsed->legacy_window);
		// A copy of an SA we know may be older than its reports.
		if (!known || state.oseq > sa.state.oseq || state.seq > sa.state.seq)
			sa.state = state;
	}
}

void ShadowTable::sa_deleted(const replay::SaId &id)
{
	if (mirror_ == Mirror::tables) {
		if (auto done = kernel_.delete_sa(id); !done && done.error().code != ESRCH)
			log("error", "sa_delete_failed", {{"sa", sa_text(id)},
							  {"reason", done.error().message()}});
	}
	view_.sas.erase(key_of(id));
	if (incoming_)
		incoming_->sas.erase(key_of(id));
}

void ShadowTable::policy(Bytes newpolicy)
{
	if (mirror_ == Mirror::replay_only)
		return;
	if (auto r = kernel_.install_blocking(newpolicy); !r)
		log("error", "policy_block_failed", {{"reason", r.error().message()}});
	target().policies[policy_key(newpolicy)] = std::move(newpolicy);
}

void ShadowTable::policy_deleted(std::span<const std::uint8_t> delpolicy)
{
	if (mirror_ == Mirror::replay_only)
		return;
	if (auto r = kernel_.delete_policy(delpolicy); !r && r.error().code != ESRCH)
		log("error", "policy_delete_failed", {{"reason", r.error().message()}});
	const auto key = policy_key(delpolicy);
	view_.policies.erase(key);
	if (incoming_)
		incoming_->policies.erase(key);
}

void ShadowTable::replay(const ReplayUpdate &u)
{
	auto update = [&u](ShadowSa &sa) {
		if (sa.record.empty() && !sa.state.window)
			sa.id = u.id;
		if (u.state.oseq >= sa.state.oseq && u.state.seq >= sa.state.seq)
			sa.state = u.state;
		if (u.thresh)
			sa.thresh = u.thresh;
		sa.rate.observe(u.state, u.observed_ns);
	};
	update(target().sas[key_of(u.id)]);
	if (!incoming_)
		return;
	if (auto known = view_.sas.find(key_of(u.id)); known != view_.sas.end())
		update(known->second);
}

bool ShadowTable::interrupt()
{
	if (!incoming_)
		return false;
	// The dropped snapshot's records are the active's SAD and SPD as it
	// dumped them, newer than the view (reports may have been lost while
	// the link was down): they join it, an SA the view has keeps the
	// higher of each number, and a record replaces the view's (a policy
	// changed meanwhile is installed as it is now). Nothing the view has
	// is removed, and the policies stay BLOCK placeholders until a
	// takeover. An SA the snapshot only named in a report, without its
	// record, is not in this kernel: it stays out (with an IKE daemon's
	// SAs, reports are all a snapshot carries, and they join).
	std::uint64_t sas_added = 0, policies_added = 0;
	for (auto &[key, sa] : incoming_->sas) {
		if (mirror_ == Mirror::tables && sa.record.empty())
			continue;
		const auto it = view_.sas.find(key);
		if (it == view_.sas.end()) {
			view_.sas.emplace(key, std::move(sa));
			sas_added++;
			continue;
		}
		ShadowSa &kept = it->second;
		if (!sa.record.empty())
			kept.record = std::move(sa.record);
		if (sa.thresh)
			kept.thresh = sa.thresh;
		kept.state.oseq = std::max(kept.state.oseq, sa.state.oseq);
		if (sa.state.seq > kept.state.seq) {
			kept.state.seq = sa.state.seq;
			kept.state.window = sa.state.window;
			kept.state.bitmap = std::move(sa.state.bitmap);
		}
	}
	for (auto &[key, record] : incoming_->policies)
		if (view_.policies.insert_or_assign(key, std::move(record)).second)
			policies_added++;
	log("warning", "snapshot_interrupted",
	    {{"received_sas", std::to_string(incoming_->sas.size())},
	     {"expected_sas", std::to_string(expected_.sas)},
	     {"kept_sas", std::to_string(view_.sas.size() - sas_added)},
	     {"added_sas", std::to_string(sas_added)},
	     {"added_policies", std::to_string(policies_added)}});
	incoming_.reset();
	return true;
}

void ShadowTable::replace(ShadowView view)
{
	incoming_.reset();
	view_ = std::move(view);
	complete_ = true;
}

} // namespace failover
