// SPDX-License-Identifier: GPL-2.0
// The inbound anti-replay window in the kernel's layouts and in the
// canonical one of <linux/pfkey_replay.h> (bit i = "seq - i accepted"), and
// the rule for moving it forward that the PF_KEY extension applies in the
// kernel, for backends that must apply it in user space.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "pfkey/message.hpp"
#include "pfkey/result.hpp"

namespace replay {

// Bitmap and ESN SAs (net/xfrm/xfrm_replay.c) keep a ring of @window bits
// in which the slot of the highest sequence number moves with it; @seq_lo
// is the low 32 bits of that number. The legacy 32-bit layout is the
// canonical one already.
std::vector<std::uint32_t> ring_to_canonical(std::span<const std::uint32_t> ring,
					     std::uint32_t seq_lo,
					     std::uint32_t window);
// A ring of @ring_words words (the kernel's bmp_len) holding @canonical.
std::vector<std::uint32_t> canonical_to_ring(std::span<const std::uint32_t> canonical,
					     std::uint32_t seq_lo,
					     std::uint32_t window,
					     std::uint32_t ring_words);

// The state an SA in state @now ends up in when asked to move to @want:
// EINVAL if @want does not fit the SA (window, ESN, bitmap size, bits past
// the window, 64-bit numbers without ESN), ERANGE if either counter would
// move back. Sequence numbers the SA already accepted stay accepted.
pfkey::Result<pfkey::ReplayState> merge_forward(const pfkey::ReplayState &now,
						const pfkey::ReplayState &want);

} // namespace replay
