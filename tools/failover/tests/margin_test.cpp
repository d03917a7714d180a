// SPDX-License-Identifier: GPL-2.0
#include "margin.hpp"

#include <gtest/gtest.h>

namespace failover {
namespace {

replay::ReplayState at(std::uint64_t oseq, std::uint64_t seq, bool esn = false)
{
	return replay::ReplayState{esn, 0, oseq, seq, 32, {1}};
}

TEST(Margin, CountPeriodPlusWhatFlowedWhileReportsWereInFlight)
{
	// N = 1000 at 10000 pps, 0.5 s lag + 0.2 s stale: 1000 + 7000.
	MarginInputs in{{1000, 1000}, 10000, 0.5, 0.2, 64};
	EXPECT_EQ(8000u, unseen_bound(in));
	const auto step = plan_takeover(at(50000, 0), in);
	EXPECT_EQ(58000u, step.state.oseq);
	EXPECT_EQ(8000u, step.margin);
	EXPECT_EQ(0u, step.inbound_exposure);	// nothing came in
}

TEST(Margin, TimerPeriodWhenNIsOff)
{
	MarginInputs in{{0, 2000}, 100, 0, 0, 0};
	EXPECT_EQ(200u, unseen_bound(in));
}

TEST(Margin, FloorWhenQuiet)
{
	MarginInputs in{{10, 0}, 0, 1, 1, 4096};
	const auto step = plan_takeover(at(7, 9), in);
	EXPECT_EQ(4096u + 7, step.state.oseq);
	EXPECT_EQ(9u, step.state.seq);	// inbound: the last report
	EXPECT_EQ(10u, step.inbound_exposure);
}

TEST(Margin, ThirtyTwoBitCounterStopsAtItsEnd)
{
	MarginInputs in{{1000, 0}, 0, 0, 0, 4096};
	const auto step = plan_takeover(at(0xffffff00, 0), in);
	EXPECT_TRUE(step.exhausted);
	EXPECT_EQ(0xffffffffu, step.state.oseq);
	EXPECT_FALSE(plan_takeover(at(0xffffff00, 0, true), in).exhausted);
}

TEST(Rate, PeakOfEitherCounterFromTheActivesClock)
{
	RateEstimate r;
	r.observe(at(0, 0), 1'000'000'000);
	r.observe(at(1000, 0), 2'000'000'000);		// 1000 pps
	r.observe(at(1000, 5000), 2'500'000'000);	// 10000 pps inbound
	r.observe(at(1100, 5000), 3'500'000'000);	// 100 pps
	EXPECT_DOUBLE_EQ(10000, r.peak_pps());
}

TEST(Rate, ReportsReadTogetherAfterAStallDoNotMakeARate)
{
	// 10 kpps, the active's loop stalled 300 ms: the reports it then reads
	// are stamped a microsecond apart.
	RateEstimate r;
	r.observe(at(0, 0), 1'000'000'000);
	r.observe(at(1000, 0), 1'100'000'000);
	r.observe(at(4000, 0), 1'400'000'000);
	r.observe(at(5000, 0), 1'400'001'000);
	EXPECT_LE(r.peak_pps(), 10'000.0 * 1.01);
	EXPECT_GE(r.peak_pps(), 10'000.0 * 0.99);
}

TEST(Rate, Capped)
{
	RateEstimate r;
	r.observe(at(0, 0, true), 1'000'000'000);
	r.observe(at(1ULL << 40, 0, true), 1'200'000'000);
	EXPECT_DOUBLE_EQ(RateEstimate::kMaxPps, r.peak_pps());
}

TEST(Margin, AboveFourBillionSaturatesNotWraps)
{
	// An ESN SA at the cap, silent for two days: the margin passes 2^32.
	MarginInputs in{{0, 1000}, RateEstimate::kMaxPps, 1, 172800, 0};
	EXPECT_GT(unseen_bound(in), 0xffffffffULL);
	const auto step = plan_takeover(at(1000, 0, true), in);
	EXPECT_EQ(1000 + step.margin, step.state.oseq);
	EXPECT_FALSE(step.exhausted);
	// Absurd inputs saturate instead of converting a huge double.
	MarginInputs huge{{0, 1000}, 1e300, 1e300, 1e300, 0};
	EXPECT_EQ(1ULL << 63, unseen_bound(huge));
	const auto end = plan_takeover(at(1000, 0, true), huge);
	EXPECT_EQ(1000 + (1ULL << 63), end.state.oseq);
	EXPECT_TRUE(plan_takeover(at(1ULL << 63, 0, true), huge).exhausted);
}

} // namespace
} // namespace failover
