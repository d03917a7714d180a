// SPDX-License-Identifier: GPL-2.0
// A replay backend for tests, and the views and margins the takeover tests
// feed it.
#pragma once

#include <gtest/gtest.h>
#include <algorithm>
#include <deque>
#include <map>

#include "fake_kernel.hpp"
#include "replay/backend.hpp"
#include "samples.hpp"
#include "takeover.hpp"

namespace failover {

// Replay state in memory. set_state moves forward only, as the kernel's
// merge does: a step back of either counter is ERANGE.
class FakeBackend final : public replay::Backend {
public:
	replay::Kind kind() const override { return backend_kind; }
	Result<replay::SaReplay> get(const replay::SaId &id) override
	{
		if (backend_kind == replay::Kind::pfkey && id.mark.any())
			return Error{EOPNOTSUPP, "PF_KEY cannot name an SA with an XFRM mark"};
		auto it = sas.find(key_of(id));
		if (auto m = missing_reads.find(id.spi); m != missing_reads.end() && m->second > 0) {
			m->second--;
			return Error{ESRCH, "no SA yet"};
		}
		if (it == sas.end())
			return Error{ESRCH, "no SA"};
		if (auto f = get_fails_with.find(id.spi); f != get_fails_with.end())
			return Error{f->second, "get"};
		return it->second;
	}
	Result<std::vector<replay::SaReplay>> dump(std::uint8_t proto) override
	{
		if (dump_fails)
			return Error{ENOBUFS, "dump"};
		std::vector<replay::SaReplay> out;
		for (auto &[key, sa] : sas) {
			if (sa.id.proto != proto)
				continue;
			if (auto s = sending_for_dumps.find(sa.id.spi);
			    s != sending_for_dumps.end() && s->second > 0) {
				sa.state.oseq++;
				s->second--;
			}
			out.push_back(sa);
			// af_key's dump shows no marks.
			if (backend_kind == replay::Kind::pfkey)
				out.back().id.mark = {};
		}
		// The kernel dumps in the order SAs were added, which need not
		// be this map's.
		if (dump_reversed)
			std::reverse(out.begin(), out.end());
		return out;
	}
	Result<replay::SaReplay> set_thresh(const replay::SaId &id,
					    const replay::ReplayThresh &) override
	{
		return get(id);
	}
	Result<replay::SaReplay> set_state(const replay::SaId &id,
					   const replay::ReplayState &state) override
	{
		sets++;
		auto it = sas.find(key_of(id));
		if (it == sas.end())
			return Error{ESRCH, "no SA"};
		if (auto f = fail_with.find(id.spi); f != fail_with.end())
			return Error{f->second, "set_state"};
		// Packets the SA took after the caller's read.
		if (auto p = packets_before_set.find(id.spi); p != packets_before_set.end()) {
			it->second.state = p->second;
			packets_before_set.erase(p);
		}
		auto &now = it->second.state;
		if (state.oseq < now.oseq || state.seq < now.seq)
			return Error{ERANGE, "set_state"};
		now = state;
		return it->second;
	}
	Result<std::monostate> subscribe() override { return std::monostate{}; }
	Result<replay::Event> next_event(std::chrono::milliseconds) override
	{
		if (events.empty())
			return Error{ETIMEDOUT, "no events"};
		Result<replay::Event> e = events.front();
		events.pop_front();
		return e;
	}
	int event_fd() const override { return -1; }

	// An SA this kernel has, in @kernel's SAD and here.
	void add(FakeKernel &kernel, std::uint32_t spi, const replay::ReplayState &state,
		 std::uint32_t dst = 0, replay::Mark mark = {})
	{
		const Bytes record = sample_newsa(spi, dst, mark);
		ASSERT_TRUE(kernel.install_sa(record, KernelSink::Existing::keep).ok());
		const replay::SaId id = sa_id_of(record);
		sas[key_of(id)] = replay::SaReplay{id, 1, std::nullopt, state};
	}
	replay::ReplayState state(std::uint32_t spi, std::uint32_t dst = 0) const
	{
		return sas.at(key_of(sa_id_of(sample_newsa(spi, dst)))).state;
	}

	// pfkey: what a PF_KEY backend cannot do, it refuses (marked SAs).
	replay::Kind backend_kind = replay::Kind::netlink;
	std::map<SaKey, replay::SaReplay> sas;
	std::map<std::uint32_t, int> fail_with;	// set_state
	std::map<std::uint32_t, int> get_fails_with;
	std::map<std::uint32_t, replay::ReplayState> packets_before_set;
	// SAs still sending: the next N dumps each find one packet more.
	std::map<std::uint32_t, int> sending_for_dumps;
	// Reads that miss an SA before it shows (installed by someone else).
	std::map<std::uint32_t, int> missing_reads;
	// What next_event() returns, in order.
	std::deque<replay::Event> events;
	int sets = 0;
	bool dump_fails = false, dump_reversed = false;
};

inline replay::ReplayState numbers(std::uint64_t oseq, std::uint64_t seq, std::uint32_t bitmap = 1)
{
	return {false, 0, oseq, seq, 32, {bitmap}};
}

// A synced view of @spis with @state each, and one policy.
inline ShadowView view_of(std::initializer_list<std::pair<std::uint32_t, replay::ReplayState>> sas)
{
	ShadowView view;
	for (const auto &[spi, state] : sas) {
		ShadowSa sa;
		sa.record = sample_newsa(spi);
		sa.id = sa_id_of(sa.record);
		sa.state = state;
		view.sas[key_of(sa.id)] = std::move(sa);
	}
	const Bytes policy = sample_newpolicy();
	view.policies[policy_key(policy)] = policy;
	return view;
}

inline Margins margins()
{
	return Margins{0.5, 1.0, 1024,
		       [](const replay::SaId &) { return replay::ReplayThresh{1000, 1000}; }};
}

// SAs of an IKE daemon (sa_owner = "ike"): the view has numbers and no
// records, the kernel has what the IKE daemon's HA installed.
inline ShadowView numbers_only(std::initializer_list<std::pair<std::uint32_t, replay::ReplayState>> sas,
				std::uint32_t dst = 0)
{
	ShadowView view;
	for (const auto &[spi, state] : sas) {
		ShadowSa sa;
		sa.id = sa_id_of(sample_newsa(spi, dst));
		sa.state = state;
		view.sas[key_of(sa.id)] = std::move(sa);
	}
	return view;
}

} // namespace failover
