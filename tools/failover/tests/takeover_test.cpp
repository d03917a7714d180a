// SPDX-License-Identifier: GPL-2.0
#include "takeover.hpp"

#include <gtest/gtest.h>

#include "fake_backend.hpp"
#include "fake_kernel.hpp"
#include "samples.hpp"

namespace failover {
namespace {

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
		with_unreported_sas(numbers_only({{0x2001, numbers(500, 6)}}), backend, kernel,
				    added);
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

// Route-based tunnels: two SAs with the same SPI and destination, told
// apart by their marks, each moved to its own numbers.
TEST(Takeover, MarkedSasAreTheirOwnSas)
{
	FakeKernel kernel;
	FakeBackend backend;
	backend.add(kernel, 0x2001, numbers(0, 0, 0), 0, {1, 0xffffffff});
	backend.add(kernel, 0x2001, numbers(0, 0, 0), 0, {2, 0xffffffff});
	ShadowView view;
	for (const auto &[mark, oseq] : {std::pair{1u, 500u}, std::pair{2u, 9000u}}) {
		ShadowSa sa;
		sa.id = sa_id_of(sample_newsa(0x2001, 0, {mark, 0xffffffff}));
		sa.state = numbers(oseq, 1);
		view.sas[key_of(sa.id)] = std::move(sa);
	}
	ASSERT_EQ(2u, view.sas.size());

	const TakeoverReport report =
		execute_takeover(view, std::nullopt, backend, kernel, AbsentSa::skipped);
	EXPECT_EQ(0u, report.failed);
	EXPECT_EQ(500u, backend.sas.at(key_of(sa_id_of(sample_newsa(0x2001, 0, {1, 0xffffffff}))))
				.state.oseq);
	EXPECT_EQ(9000u, backend.sas.at(key_of(sa_id_of(sample_newsa(0x2001, 0, {2, 0xffffffff}))))
				 .state.oseq);
}

// A node whose replay backend is PF_KEY, and its kernel.
class PfkeyTakeover : public ::testing::Test {
protected:
	PfkeyTakeover() { backend.backend_kind = replay::Kind::pfkey; }

	// @reported with the SAs of the kernel it lacks (with_unreported_sas).
	ShadowView listed(const ShadowView &reported, std::uint64_t expect_added)
	{
		std::uint64_t added = 0;
		auto view = with_unreported_sas(reported, backend, kernel, added);
		EXPECT_TRUE(view.ok());
		EXPECT_EQ(expect_added, added);
		return view ? std::move(*view) : ShadowView{};
	}
	TakeoverReport take_over(const ShadowView &view)
	{
		return execute_takeover(view, margins(), backend, kernel, AbsentSa::skipped);
	}

	FakeKernel kernel;
	FakeBackend backend;
};

// PF_KEY shows marked SAs without their marks and cannot find them: the
// IKE-owned view takes them from the kernel, and the takeover deletes
// them (fail closed) instead of leaving them at the IKE daemon's numbers.
TEST_F(PfkeyTakeover, MarkedSasOverPfkeyAreFenced)
{
	backend.add(kernel, 0x2001, numbers(0, 0, 0));
	// Its PF_KEY dump shows it unmarked, a twin no lookup finds.
	backend.add(kernel, 0x2005, numbers(0, 0, 0), 0, {7, 0xff});
	const auto view = listed(numbers_only({{0x2001, numbers(500, 6)}}), 1);
	ASSERT_EQ(2u, view.sas.size());

	EXPECT_EQ(1u, take_over(view).failed);
	EXPECT_EQ(1u, kernel.sas.size());	// the marked SA is gone
	EXPECT_GT(backend.state(0x2001).oseq, 500u);
}

// An unmarked SA that shares its PF_KEY name with a marked one: the dump's
// entry under that name may be the twin's (it was added first), so the
// unmarked SA is read by its name, which finds it alone. With a twin of
// mark value 0, which the lookup could find instead, it has no numbers.
TEST_F(PfkeyTakeover, UnmarkedTwinOfAMarkedSaHasItsOwnNumbersOverPfkey)
{
	backend.dump_reversed = true;	// the marked twin first
	backend.add(kernel, 0x2001, numbers(700, 0, 0));
	backend.add(kernel, 0x2001, numbers(9000, 0, 0), 0, {7, 0xff});
	auto rows = kernel_sas(backend, kernel);
	ASSERT_TRUE(rows.ok());
	ASSERT_EQ(2u, rows->size());
	for (const auto &row : *rows) {
		if (row.id.mark.any()) {
			EXPECT_FALSE(row.state.has_value());
		} else {
			ASSERT_TRUE(row.state.has_value());
			EXPECT_EQ(700u, row.state->oseq);
		}
	}
}

TEST_F(PfkeyTakeover, UnmarkedTwinOfAMarkValueZeroSaHasNoNumbersOverPfkey)
{
	backend.add(kernel, 0x2001, numbers(700, 0, 0));
	backend.add(kernel, 0x2001, numbers(9000, 0, 0), 0, {0, 0xff});
	auto rows = kernel_sas(backend, kernel);
	ASSERT_TRUE(rows.ok());
	ASSERT_EQ(2u, rows->size());
	for (const auto &row : *rows)
		EXPECT_FALSE(row.state.has_value());
}

// An unmarked twin whose read failed while the SAD was listed: without
// numbers, and fenced alone, even though its read works again when the
// takeover moves it (from a base of 0 it could land below the numbers it
// sent). The rest of the SAD is listed and moves.
TEST_F(PfkeyTakeover, AnSaListedWithoutNumbersIsFencedNotMoved)
{
	backend.add(kernel, 0x2001, numbers(700, 0, 0));
	backend.add(kernel, 0x2001, numbers(9000, 0, 0), 0, {7, 0xff});
	backend.add(kernel, 0x2002, numbers(50, 0, 0));
	backend.get_fails_with[0x2001] = EIO;
	const auto view = listed(ShadowView{}, 3);
	EXPECT_EQ(2u, view.numbers_unknown.size());
	backend.get_fails_with.clear();

	EXPECT_EQ(2u, take_over(view).failed);
	EXPECT_EQ(1, backend.sets);	// 0x2002's move, by the margin
	ASSERT_EQ(1u, kernel.sas.size());
	EXPECT_EQ(0x2002u, sa_id_of(kernel.sas.begin()->second).spi);
	EXPECT_GT(backend.state(0x2002).oseq, 50u);
}

// The view has the unmarked SA's numbers, and a twin of mark value 0
// appeared since: setting them by its PF_KEY name could move the twin
// instead, so both are fenced.
TEST_F(PfkeyTakeover, AReportedSaWithATwinOfMarkValueZeroIsFencedOverPfkey)
{
	backend.add(kernel, 0x2001, numbers(700, 0, 0));
	backend.add(kernel, 0x2001, numbers(9000, 0, 0), 0, {0, 0xff});
	const auto view = listed(numbers_only({{0x2001, numbers(700, 0)}}), 1);
	EXPECT_EQ(2u, view.numbers_unknown.size());
	EXPECT_EQ(2u, take_over(view).failed);
	EXPECT_EQ(0, backend.sets);
}

// Over netlink the marked SA is an SA like any other.
TEST(Takeover, MarkedSasOverNetlinkMove)
{
	FakeKernel kernel;
	FakeBackend backend;
	backend.add(kernel, 0x2005, numbers(0, 0, 0), 0, {7, 0xff});
	std::uint64_t added = 0;
	const auto view = with_unreported_sas(ShadowView{}, backend, kernel, added);
	ASSERT_TRUE(view.ok());
	EXPECT_EQ(1u, added);

	const TakeoverReport report =
		execute_takeover(*view, margins(), backend, kernel, AbsentSa::skipped);
	EXPECT_EQ(0u, report.failed);
	EXPECT_EQ(1u, kernel.sas.size());
	EXPECT_GE(backend.sas.begin()->second.state.oseq, 1024u);
}

TEST(Takeover, UnreadableSadFailsTheIkeOwnedView)
{
	// The SAs it cannot see would keep their numbers: no view, no takeover.
	FakeBackend backend;
	backend.dump_fails = true;
	std::uint64_t added = 0;
	FakeKernel kernel;
	const auto view = with_unreported_sas(numbers_only({{0x2001, numbers(500, 6)}}), backend,
					      kernel, added);
	ASSERT_FALSE(view.ok());
	EXPECT_EQ(ENOBUFS, view.error().code);
}

} // namespace
} // namespace failover
