// SPDX-License-Identifier: GPL-2.0
// The window layouts and the forward-only rule, with the cases the kernel's
// KUnit suite (net/key/af_key_replay_test.c) checks for the PF_KEY path.
#include "replay/window.hpp"

#include <cerrno>
#include <gtest/gtest.h>

namespace replay {
namespace {

pfkey::ReplayState state(std::uint64_t oseq, std::uint64_t seq, std::uint32_t window,
			 std::vector<std::uint32_t> bitmap, bool esn = false)
{
	pfkey::ReplayState s;
	s.oseq = oseq;
	s.seq = seq;
	s.window = window;
	s.bitmap = std::move(bitmap);
	s.esn = esn;
	return s;
}

TEST(Ring, TopOfWindowIsTheSlotOfSeqMinusOne)
{
	// seq 70 in a 64-bit ring: "70" is slot 69 % 64 = 5, "64" is slot
	// 63 (wrapped), as xfrm_replay_advance_bmp() places them.
	std::vector<std::uint32_t> ring(2, 0);
	ring[0] = 1U << 5;
	ring[1] = 1U << 31;
	const auto canonical = ring_to_canonical(ring, 70, 64);
	EXPECT_EQ(canonical, (std::vector<std::uint32_t>{1U | 1U << 6, 0}));
}

TEST(Ring, RoundTripsEveryAgeAtEveryTop)
{
	for (std::uint32_t window : {1U, 31U, 64U, 100U, 4096U}) {
		for (std::uint32_t seq : {0U, 1U, 63U, 64U, 65U, 4097U, 0xffffffffU}) {
			std::vector<std::uint32_t> canonical((window + 31) / 32, 0);
			for (std::uint32_t age = 0; age < window; age += 3)
				canonical[age / 32] |= 1U << (age % 32);
			const auto ring = canonical_to_ring(canonical, seq, window,
							    (window + 31) / 32);
			EXPECT_EQ(ring_to_canonical(ring, seq, window), canonical)
				<< "window " << window << " seq " << seq;
		}
	}
}

TEST(Merge, KeepsWhatTheSaAcceptedShiftedByTheMove)
{
	// The SA accepted 100 and 99; the new top 102 comes with 102 only.
	auto next = merge_forward(state(10, 100, 32, {0x3}), state(20, 102, 32, {0x1}));
	ASSERT_TRUE(next.ok()) << next.error().message();
	EXPECT_EQ(next->oseq, 20U);
	EXPECT_EQ(next->seq, 102U);
	EXPECT_EQ(next->bitmap, (std::vector<std::uint32_t>{0x1 | 0x3 << 2}));
}

TEST(Merge, AMoveBeyondTheWindowForgetsTheOldBits)
{
	auto next = merge_forward(state(0, 100, 32, {~0U}), state(0, 200, 32, {0x1}));
	ASSERT_TRUE(next.ok());
	EXPECT_EQ(next->bitmap, (std::vector<std::uint32_t>{0x1}));
}

TEST(Merge, SameTopOrsTheBitmaps)
{
	auto next = merge_forward(state(5, 100, 64, {0x1, 0}, true),
				  state(5, 100, 64, {0, 0x8000'0000}, true));
	ASSERT_TRUE(next.ok());
	EXPECT_EQ(next->bitmap, (std::vector<std::uint32_t>{0x1, 0x8000'0000}));
}

TEST(Merge, RefusesStepsBack)
{
	auto out = merge_forward(state(10, 100, 32, {0}), state(9, 100, 32, {0}));
	ASSERT_FALSE(out.ok());
	EXPECT_EQ(out.error().code, ERANGE);
	auto in = merge_forward(state(10, 100, 32, {0}), state(10, 99, 32, {0}));
	ASSERT_FALSE(in.ok());
	EXPECT_EQ(in.error().code, ERANGE);
}

TEST(Merge, RefusesStatesThatDoNotFitTheSa)
{
	const auto now = state(0, 0, 32, {0});
	struct Case {
		const char *what;
		pfkey::ReplayState want;
	} cases[] = {
		{"window", state(0, 0, 64, {0, 0})},
		{"esn", state(0, 0, 32, {0}, true)},
		{"bitmap size", state(0, 0, 32, {0, 0})},
		{"64-bit without esn", state(1ULL << 32, 0, 32, {0})},
	};
	for (const auto &c : cases) {
		auto r = merge_forward(now, c.want);
		ASSERT_FALSE(r.ok()) << c.what;
		EXPECT_EQ(r.error().code, EINVAL) << c.what;
	}
	auto past = merge_forward(state(0, 0, 20, {0}), state(0, 0, 20, {1U << 20}));
	ASSERT_FALSE(past.ok());
	EXPECT_EQ(past.error().code, EINVAL);
}

} // namespace
} // namespace replay
