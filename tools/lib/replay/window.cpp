// SPDX-License-Identifier: GPL-2.0
#include "replay/window.hpp"

#include <cerrno>

namespace replay {
namespace {

// Mirrors the input path's slot of "seq - age" (xfrm_replay_check_bmp()),
// in the same 32-bit arithmetic.
std::uint32_t ring_slot(std::uint32_t seq_lo, std::uint32_t window,
			std::uint32_t age)
{
	const std::uint32_t top = (seq_lo - 1) % window;

	return top >= age ? top - age : window - (age - top);
}

bool test_bit(std::span<const std::uint32_t> words, std::uint64_t bit)
{
	return bit / 32 < words.size() && words[bit / 32] >> (bit % 32) & 1;
}

void set_bit(std::vector<std::uint32_t> &words, std::uint64_t bit)
{
	words[bit / 32] |= 1U << (bit % 32);
}

std::size_t words_for(std::uint32_t window)
{
	return (window + 31) / 32;
}

} // namespace

std::vector<std::uint32_t> ring_to_canonical(std::span<const std::uint32_t> ring,
					     std::uint32_t seq_lo,
					     std::uint32_t window)
{
	std::vector<std::uint32_t> canonical(words_for(window), 0);

	for (std::uint32_t age = 0; age < window; age++)
		if (test_bit(ring, ring_slot(seq_lo, window, age)))
			set_bit(canonical, age);
	return canonical;
}

std::vector<std::uint32_t> canonical_to_ring(std::span<const std::uint32_t> canonical,
					     std::uint32_t seq_lo,
					     std::uint32_t window,
					     std::uint32_t ring_words)
{
	std::vector<std::uint32_t> ring(ring_words, 0);

	for (std::uint32_t age = 0; age < window; age++) {
		const std::uint32_t slot = ring_slot(seq_lo, window, age);
		if (test_bit(canonical, age) && slot / 32 < ring_words)
			set_bit(ring, slot);
	}
	return ring;
}

pfkey::Result<pfkey::ReplayState> merge_forward(const pfkey::ReplayState &now,
						const pfkey::ReplayState &want)
{
	const std::uint32_t window = now.window;

	if (want.window != window || want.esn != now.esn)
		return pfkey::Error{EINVAL, "window size or ESN differ from the SA's"};
	if (want.bitmap.size() != words_for(window))
		return pfkey::Error{EINVAL, "bitmap size does not match the window"};
	if (window % 32 && want.bitmap.back() >> (window % 32))
		return pfkey::Error{EINVAL, "bitmap has bits past the window"};
	if (!want.esn && (want.oseq >> 32 || want.seq >> 32))
		return pfkey::Error{EINVAL, "64-bit sequence number on an SA without ESN"};
	// A lower outbound number would reuse ESP sequence numbers, and with
	// them AES-GCM nonces; a lower inbound one would accept replays.
	if (want.oseq < now.oseq)
		return pfkey::Error{ERANGE, "outbound sequence number would move back"};
	if (want.seq < now.seq)
		return pfkey::Error{ERANGE, "inbound sequence number would move back"};

	pfkey::ReplayState next = want;
	const std::uint64_t shift = want.seq - now.seq;

	next.cause = 0;
	for (std::uint32_t age = 0; age < window; age++)
		if (age >= shift && test_bit(now.bitmap, age - shift))
			set_bit(next.bitmap, age);
	return next;
}

} // namespace replay
