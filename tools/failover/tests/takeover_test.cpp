// SPDX-License-Identifier: GPL-2.0
#include "takeover.hpp"

#include <gtest/gtest.h>

#include "fake_kernel.hpp"
#include "samples.hpp"

namespace failover {
namespace {

// Replay state in memory. set_state moves forward only, as the kernel's
// merge does: a step back of either counter is ERANGE.
class FakeBackend final : public replay::Backend {
public:
	replay::Kind kind() const override { return replay::Kind::netlink; }
	Result<replay::SaReplay> get(const replay::SaId &id) override
	{
		auto it = sas.find(key_of(id));
		if (auto m = missing_reads.find(id.spi); m != missing_reads.end() && m->second > 0) {
			m->second--;
			return Error{ESRCH, "no SA yet"};
		}
		if (it == sas.end())
			return Error{ESRCH, "no SA"};
		return it->second;
	}
	Result<std::vector<replay::SaReplay>> dump(std::uint8_t) override
	{
		if (dump_fails)
			return Error{ENOBUFS, "dump"};
		std::vector<replay::SaReplay> out;
		for (const auto &[key, sa] : sas)
			out.push_back(sa);
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
		return Error{ETIMEDOUT, "no events"};
	}
	int event_fd() const override { return -1; }

	// An SA this kernel has, in @kernel's SAD and here.
	void add(FakeKernel &kernel, std::uint32_t spi, const replay::ReplayState &state)
	{
		const Bytes record = sample_newsa(spi);
		ASSERT_TRUE(kernel.install_sa(record, KernelSink::Existing::keep).ok());
		const replay::SaId id = sa_id_of(record);
		sas[key_of(id)] = replay::SaReplay{id, 1, std::nullopt, state};
	}
	replay::ReplayState state(std::uint32_t spi) const
	{
		return sas.at(key_of(sa_id_of(sample_newsa(spi)))).state;
	}

	std::map<SaKey, replay::SaReplay> sas;
	std::map<std::uint32_t, int> fail_with;
	std::map<std::uint32_t, replay::ReplayState> packets_before_set;
	// Reads that miss an SA before it shows (installed by someone else).
	std::map<std::uint32_t, int> missing_reads;
	int sets = 0;
	bool dump_fails = false;
};

replay::ReplayState numbers(std::uint64_t oseq, std::uint64_t seq, std::uint32_t bitmap = 1)
{
	return {false, 0, oseq, seq, 32, {bitmap}};
}

// A synced view of @spis with @state each, and one policy.
ShadowView view_of(std::initializer_list<std::pair<std::uint32_t, replay::ReplayState>> sas)
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

Margins margins()
{
	return Margins{0.5, 1.0, 1024,
		       [](const replay::SaId &) { return replay::ReplayThresh{1000, 1000}; }};
}

TEST(Takeover, HandoverSetsExactlyTheShadowNumbers)
{
	FakeKernel kernel;
	FakeBackend backend;
	backend.add(kernel, 0x2001, numbers(0, 0, 0));
	backend.add(kernel, 0x2002, numbers(0, 0, 0));
	const ShadowView view = view_of({{0x2001, numbers(500, 6)}, {0x2002, numbers(900, 40, 7)}});

	const TakeoverReport report = execute_takeover(view, std::nullopt, backend, kernel);
	EXPECT_EQ(numbers(500, 6), backend.state(0x2001));
	EXPECT_EQ(numbers(900, 40, 7), backend.state(0x2002));
	EXPECT_EQ(0u, report.failed);
	EXPECT_EQ(0u, report.margin_max);
	EXPECT_EQ(1u, report.policies);
	EXPECT_EQ(1, kernel.installed);
	ASSERT_EQ(2u, report.sas.size());
	EXPECT_FALSE(report.sas[0].error);
}

TEST(Takeover, KernelAheadInboundKeepsItsSeqWhileOseqMovesUp)
{
	// A node that stood down and came back accepted packets its shadow
	// never heard of: the window must not go back.
	FakeKernel kernel;
	FakeBackend backend;
	backend.add(kernel, 0x2001, numbers(10, 100, 0xff));
	const ShadowView view = view_of({{0x2001, numbers(500, 6)}});

	const TakeoverReport report = execute_takeover(view, margins(), backend, kernel);
	ASSERT_EQ(1u, report.sas.size());
	const auto planned = report.sas[0].step;
	EXPECT_GE(planned.margin, 1024u);
	EXPECT_EQ(500 + planned.margin, backend.state(0x2001).oseq);
	EXPECT_EQ(100u, backend.state(0x2001).seq);
	EXPECT_EQ(std::vector<std::uint32_t>{0xff}, backend.state(0x2001).bitmap);
	EXPECT_EQ(planned.margin, report.margin_max);
	EXPECT_EQ(0u, report.failed);
}

TEST(Takeover, PacketBetweenReadAndWriteIsReadAgain)
{
	FakeKernel kernel;
	FakeBackend backend;
	backend.add(kernel, 0x2001, numbers(0, 0, 0));
	// Inbound packets land after the read: the write would step back.
	backend.packets_before_set[0x2001] = numbers(3, 8, 0x3);
	const ShadowView view = view_of({{0x2001, numbers(500, 6)}});

	const TakeoverReport report = execute_takeover(view, std::nullopt, backend, kernel);
	EXPECT_EQ(2, backend.sets);
	EXPECT_EQ(numbers(500, 8, 0x3), backend.state(0x2001));
	EXPECT_EQ(0u, report.failed);
}

TEST(Takeover, SaInstalledByOthersMeanwhileIsSetNotFenced)
{
	FakeKernel kernel;
	FakeBackend backend;
	backend.add(kernel, 0x2001, numbers(0, 0, 0));
	// The first read misses it; installing it then finds it there.
	backend.missing_reads[0x2001] = 1;
	const ShadowView view = view_of({{0x2001, numbers(500, 6)}});

	const TakeoverReport report = execute_takeover(view, std::nullopt, backend, kernel);
	EXPECT_EQ(0u, report.failed);
	EXPECT_EQ(1u, kernel.sas.count(key_of(sa_id_of(sample_newsa(0x2001)))));
	EXPECT_EQ(numbers(500, 6), backend.state(0x2001));
}

TEST(Takeover, SaThatCannotBeSetIsDeletedAndPoliciesStillInstalled)
{
	FakeKernel kernel;
	FakeBackend backend;
	backend.add(kernel, 0x2001, numbers(0, 0, 0));
	backend.add(kernel, 0x2004, numbers(0, 0, 0));
	backend.fail_with[0x2004] = EINVAL;
	const ShadowView view = view_of({{0x2001, numbers(500, 6)}, {0x2004, numbers(700, 9)}});

	const TakeoverReport report = execute_takeover(view, std::nullopt, backend, kernel);
	EXPECT_EQ(1u, report.failed);
	EXPECT_EQ(1u, kernel.sas.count(key_of(sa_id_of(sample_newsa(0x2001)))));
	EXPECT_EQ(0u, kernel.sas.count(key_of(sa_id_of(sample_newsa(0x2004)))));
	EXPECT_EQ(numbers(500, 6), backend.state(0x2001));
	EXPECT_EQ(1u, report.policies);
	EXPECT_EQ(1, kernel.installed);
	ASSERT_EQ(2u, report.sas.size());
	ASSERT_TRUE(report.sas[1].error);
	EXPECT_EQ(EINVAL, report.sas[1].error->code);
}

// SAs of an IKE daemon (sa_owner = "ike"): the view has numbers and no
// records, the kernel has what the IKE daemon's HA installed.
ShadowView numbers_only(std::initializer_list<std::pair<std::uint32_t, replay::ReplayState>> sas)
{
	ShadowView view;
	for (const auto &[spi, state] : sas) {
		ShadowSa sa;
		sa.id = sa_id_of(sample_newsa(spi));
		sa.state = state;
		view.sas[key_of(sa.id)] = std::move(sa);
	}
	return view;
}

TEST(Takeover, IkeOwnedSaGoneFromTheKernelIsSkippedNotAFailure)
{
	FakeKernel kernel;
	FakeBackend backend;
	backend.add(kernel, 0x2001, numbers(0, 0, 0));
	// 0x2002 was rekeyed away by the IKE daemon before the takeover.
	const ShadowView view = numbers_only({{0x2001, numbers(500, 6)}, {0x2002, numbers(80, 1)}});

	const TakeoverReport report =
		execute_takeover(view, margins(), backend, kernel, AbsentSa::skipped);
	EXPECT_EQ(0u, report.failed);
	EXPECT_EQ(1u, report.absent);
	EXPECT_GT(backend.state(0x2001).oseq, 500u);
	EXPECT_EQ(0u, kernel.installed);
	EXPECT_EQ(1u, kernel.sas.size());
}

TEST(Takeover, SaMissingFromTheKernelFailsWhenTheDaemonOwnsIt)
{
	FakeKernel kernel;
	FakeBackend backend;
	const ShadowView view = numbers_only({{0x2002, numbers(80, 1)}});

	const TakeoverReport report = execute_takeover(view, margins(), backend, kernel);
	EXPECT_EQ(1u, report.failed);
	EXPECT_EQ(0u, report.absent);
}

TEST(Takeover, IkeOwnedSaTheActiveNeverReportedMovesByTheMargin)
{
	// Installed by the IKE daemon's HA here, at 0; the active sent on it
	// for less than N packets and T, so it never reported it.
	FakeKernel kernel;
	FakeBackend backend;
	backend.add(kernel, 0x2001, numbers(0, 0, 0));
	backend.add(kernel, 0x2003, numbers(0, 0, 0));
	std::uint64_t added = 0;
	const auto view =
		with_unreported_sas(numbers_only({{0x2001, numbers(500, 6)}}), backend, added);
	ASSERT_TRUE(view.ok());
	EXPECT_EQ(1u, added);
	ASSERT_EQ(2u, view->sas.size());
	// The configured N and T size its margin, not the kernel's.
	EXPECT_FALSE(view->sas.at(key_of(sa_id_of(sample_newsa(0x2003)))).thresh);

	const TakeoverReport report =
		execute_takeover(*view, margins(), backend, kernel, AbsentSa::skipped);
	EXPECT_EQ(0u, report.failed);
	EXPECT_GE(backend.state(0x2003).oseq, 1024u);	// the margin's floor
	EXPECT_GT(backend.state(0x2001).oseq, 500u);
}

TEST(Takeover, UnreadableSadFailsTheIkeOwnedView)
{
	// The SAs it cannot see would keep their numbers: no view, no takeover.
	FakeBackend backend;
	backend.dump_fails = true;
	std::uint64_t added = 0;
	const auto view = with_unreported_sas(numbers_only({{0x2001, numbers(500, 6)}}), backend,
					      added);
	ASSERT_FALSE(view.ok());
	EXPECT_EQ(ENOBUFS, view.error().code);
}

} // namespace
} // namespace failover
