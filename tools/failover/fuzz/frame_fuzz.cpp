// SPDX-License-Identifier: GPL-2.0
// libFuzzer target: whatever bytes a peer sends on the sync channel, the
// decoder returns frames or an error, stays in bounds, and what it accepts
// encodes back to the same bytes.
#include <cstdint>
#include <cstdlib>

#include "frame.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	failover::Decoder d;
	std::size_t used = 0;

	d.feed({data, size});
	for (;;) {
		auto f = d.next();
		if (!f || !*f)
			break;
		const auto bytes = failover::encode(**f);
		if (used + bytes.size() > size ||
		    !std::equal(bytes.begin(), bytes.end(), data + used))
			std::abort();
		used += bytes.size();
	}
	return 0;
}
