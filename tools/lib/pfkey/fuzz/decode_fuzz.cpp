// SPDX-License-Identifier: GPL-2.0
// libFuzzer target: whatever the bytes, decode() returns a value or an
// error without touching memory it was not given; and what it accepts
// encodes back to bytes that decode to the same message.
#include <cstdlib>

#include "pfkey/message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	const auto msg = pfkey::decode({data, size});

	if (msg.ok()) {
		const auto again = pfkey::decode(pfkey::encode(*msg));
		if (!again.ok() || !(*again == *msg))
			std::abort();
	}
	return 0;
}
