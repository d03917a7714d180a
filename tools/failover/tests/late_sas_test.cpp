// SPDX-License-Identifier: GPL-2.0
#include "late_sas.hpp"

#include <gtest/gtest.h>

#include "fake_backend.hpp"

namespace failover {
namespace {

using namespace std::chrono_literals;
using Clock = LateSas::Clock;

replay::SaId id_of(std::uint32_t spi) { return sa_id_of(sample_newsa(spi)); }

// A takeover of @view over @backend's kernel, then the late SAs it left.
struct AfterTakeover {
	FakeKernel kernel;
	FakeBackend backend;
	Clock::time_point at = Clock::now();
	std::optional<LateSas> late;

	void take_over(const ShadowView &view)
	{
		const TakeoverReport report =
			execute_takeover(view, margins(), backend, kernel, AbsentSa::skipped);
		late.emplace(view, report, margins(), at + LateSas::kWindow);
	}
	Result<bool> appears(std::uint32_t spi, replay::ReplayState state,
			     Clock::duration after = 1s)
	{
		backend.add(kernel, spi, state);
		return late->appeared(id_of(spi), backend, kernel, at + after);
	}
};

TEST(LateSas, AnSaTheActiveReportedThatAppearsLateMovesPastItsReport)
{
	// The old active reported 0x2002; the HA message that installs it on
	// this node came after the takeover read the SAD.
	AfterTakeover t;
	t.backend.add(t.kernel, 0x2001, numbers(0, 0, 0));
	t.take_over(numbers_only({{0x2001, numbers(500, 6)}, {0x2002, numbers(7000, 90)}}));

	auto moved = t.appears(0x2002, numbers(0, 0, 0));
	ASSERT_TRUE(moved.ok()) << moved.error().message();
	EXPECT_TRUE(*moved);
	EXPECT_GE(t.backend.state(0x2002).oseq, 7000u + 1024u);
	EXPECT_EQ(90u, t.backend.state(0x2002).seq) << "inbound: the report, as is";
	EXPECT_EQ(1u, t.late->moved());
}

TEST(LateSas, AnSaNobodyReportedMovesByTheMarginFromItsOwnNumbers)
{
	// A CHILD_SA the old active rekeyed to just before it died: it sent
	// on it, under N packets, before any report.
	AfterTakeover t;
	t.take_over(numbers_only({}));

	auto moved = t.appears(0x3001, numbers(3, 0, 0));
	ASSERT_TRUE(moved.ok());
	EXPECT_TRUE(*moved);
	EXPECT_GE(t.backend.state(0x3001).oseq, 3u + 1024u);
	EXPECT_EQ(0u, t.backend.state(0x3001).seq);
}

TEST(LateSas, AnSaTheTakeoverMovedIsNotMovedAgain)
{
	AfterTakeover t;
	t.backend.add(t.kernel, 0x2001, numbers(0, 0, 0));
	t.take_over(numbers_only({{0x2001, numbers(500, 6)}}));
	const auto set = t.backend.state(0x2001);

	// strongSwan updates it (an UPDSA event): not news.
	auto again = t.late->appeared(id_of(0x2001), t.backend, t.kernel, t.at + 1s);
	ASSERT_TRUE(again.ok());
	EXPECT_FALSE(*again);
	EXPECT_EQ(set.oseq, t.backend.state(0x2001).oseq);
}

TEST(LateSas, EachLateSaMovesOnce)
{
	AfterTakeover t;
	t.take_over(numbers_only({}));
	ASSERT_TRUE(t.appears(0x3001, numbers(0, 0, 0)).ok());
	const auto first = t.backend.state(0x3001).oseq;
	auto again = t.late->appeared(id_of(0x3001), t.backend, t.kernel, t.at + 2s);
	ASSERT_TRUE(again.ok());
	EXPECT_FALSE(*again);
	EXPECT_EQ(first, t.backend.state(0x3001).oseq);
}

TEST(LateSas, AfterTheWindowNothingMoves)
{
	AfterTakeover t;
	t.take_over(numbers_only({{0x2002, numbers(7000, 90)}}));
	auto moved = t.appears(0x2002, numbers(0, 0, 0), LateSas::kWindow + 1s);
	ASSERT_TRUE(moved.ok());
	EXPECT_FALSE(*moved);
	EXPECT_EQ(0u, t.backend.state(0x2002).oseq);
	EXPECT_TRUE(t.late->over(t.at + LateSas::kWindow + 1s));
}

TEST(LateSas, ALateSaThatCannotBeSetIsDeleted)
{
	AfterTakeover t;
	t.take_over(numbers_only({{0x2002, numbers(7000, 90)}}));
	t.backend.fail_with[0x2002] = EPERM;
	auto moved = t.appears(0x2002, numbers(0, 0, 0));
	ASSERT_FALSE(moved.ok());
	EXPECT_EQ(EPERM, moved.error().code);
	EXPECT_EQ(0u, t.kernel.sas.count(key_of(id_of(0x2002)))) << "fail closed";
}

TEST(LateSas, AnSaDeletedAgainBeforeItMovesIsNotAFailure)
{
	AfterTakeover t;
	t.take_over(numbers_only({}));
	// Its event came; strongSwan deleted it before it was read.
	auto moved = t.late->appeared(id_of(0x3001), t.backend, t.kernel, t.at + 1s);
	ASSERT_TRUE(moved.ok()) << moved.error().message();
	EXPECT_FALSE(*moved);
}

TEST(LateSas, AnSaThatFailedAtTheTakeoverMovesWhenItComesBack)
{
	AfterTakeover t;
	t.backend.add(t.kernel, 0x2001, numbers(0, 0, 0));
	t.backend.fail_with[0x2001] = EPERM;
	t.take_over(numbers_only({{0x2001, numbers(500, 6)}}));
	ASSERT_EQ(0u, t.kernel.sas.count(key_of(id_of(0x2001)))) << "deleted at the takeover";
	t.backend.fail_with.clear();

	auto moved = t.appears(0x2001, numbers(0, 0, 0));
	ASSERT_TRUE(moved.ok());
	EXPECT_TRUE(*moved);
	EXPECT_GE(t.backend.state(0x2001).oseq, 500u + 1024u);
}

// An SA the takeover fenced because its numbers were unknown (its read
// failed while the SAD was listed): if it comes back, it moves by the
// margin past its own numbers, never from the view's base of 0.
TEST(LateSas, AnSaFencedWithoutNumbersMovesFromItsOwnWhenItComesBack)
{
	AfterTakeover t;
	ShadowView view = numbers_only({{0x2001, numbers(0, 0, 0)}});
	view.numbers_unknown[key_of(id_of(0x2001))] = "reading it failed";
	t.backend.add(t.kernel, 0x2001, numbers(5000, 0, 0));
	t.take_over(view);
	ASSERT_EQ(0u, t.kernel.sas.count(key_of(id_of(0x2001)))) << "fenced at the takeover";

	auto moved = t.appears(0x2001, numbers(5000, 0, 0));
	ASSERT_TRUE(moved.ok());
	EXPECT_TRUE(*moved);
	EXPECT_GE(t.backend.state(0x2001).oseq, 5000u + 1024u);
}

TEST(LateSas, SweepMovesWhatNoEventAnnounced)
{
	// Installed between the takeover's read of the SAD and the moment the
	// new active heard the kernel's events.
	AfterTakeover t;
	t.backend.add(t.kernel, 0x2001, numbers(0, 0, 0));
	t.take_over(numbers_only({{0x2001, numbers(500, 6)}, {0x2002, numbers(7000, 90)}}));
	const auto first = t.backend.state(0x2001).oseq;
	t.backend.add(t.kernel, 0x2002, numbers(0, 0, 0));
	t.backend.add(t.kernel, 0x3001, numbers(4, 0, 0));

	auto swept = t.late->sweep(t.backend, t.kernel);
	ASSERT_TRUE(swept.ok());
	EXPECT_EQ(2u, *swept);
	EXPECT_EQ(first, t.backend.state(0x2001).oseq) << "moved once, at the takeover";
	EXPECT_GE(t.backend.state(0x2002).oseq, 7000u + 1024u);
	EXPECT_GE(t.backend.state(0x3001).oseq, 4u + 1024u);
	std::set<std::uint32_t> spis;
	for (const auto &a : t.late->admitted()) {
		EXPECT_EQ(id_of(a.spi).dst.addr, a.dst);
		spis.insert(a.spi);
	}
	EXPECT_EQ((std::set<std::uint32_t>{0x2001, 0x2002, 0x3001}), spis);

	t.backend.dump_fails = true;
	EXPECT_FALSE(t.late->sweep(t.backend, t.kernel).ok());
}

// A marked SA that no event announced, over PF_KEY: its dump shows the SA
// unmarked, which no lookup finds; the sweep takes the marked SA from the
// kernel's SAD and, unable to set it, deletes it (it would send with the
// IKE daemon's numbers once the fence opens).
TEST(LateSas, SweepOverPfkeyDeletesAMarkedSaItCannotSet)
{
	AfterTakeover t;
	t.backend.backend_kind = replay::Kind::pfkey;
	t.take_over(numbers_only({}));
	t.backend.add(t.kernel, 0x3001, numbers(4, 0, 0), 0, {0x2a, 0xff});

	auto swept = t.late->sweep(t.backend, t.kernel);
	ASSERT_TRUE(swept.ok());
	EXPECT_EQ(0u, *swept);
	EXPECT_EQ(1u, t.late->failed());
	EXPECT_TRUE(t.kernel.sas.empty());

	// Its NEWSA event, queued meanwhile: gone already, not a second failure.
	const auto again = t.late->appeared(sa_id_of(sample_newsa(0x3001, 0, {0x2a, 0xff})),
					    t.backend, t.kernel, t.at + 1s);
	EXPECT_TRUE(again.ok());
	EXPECT_EQ(1u, t.late->failed());
}

} // namespace
} // namespace failover
