// SPDX-License-Identifier: GPL-2.0
// libFuzzer target: whatever bytes arrive on an XFRM netlink socket, the
// netlink backend's parsers return a value or an error and stay in bounds.
#include <cstdint>
#include <cstring>
#include <linux/netlink.h>
#include <vector>

#include "replay/xfrm_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	if (!size)
		return 0;
	// The socket layer hands over aligned buffers; so does this.
	std::vector<std::uint32_t> aligned((size + 3) / 4);
	std::memcpy(aligned.data(), data, size);
	auto messages = replay::xfrm::split(
		{reinterpret_cast<const std::uint8_t *>(aligned.data()), size});
	if (!messages)
		return 0;
	for (const nlmsghdr *nlh : *messages) {
		if (auto sa = replay::xfrm::parse_sa(nlh); sa.ok())
			(void)replay::xfrm::to_canonical(sa->replay, sa->esn,
							 sa->legacy_window);
		if (auto ae = replay::xfrm::parse_aevent(nlh); ae.ok())
			(void)replay::xfrm::to_canonical(ae->replay, true, 32);
	}
	return 0;
}
