// SPDX-License-Identifier: GPL-2.0
#include "pfkey/result.hpp"

#include <cstring>

namespace pfkey {

std::string Error::message() const
{
	return context + ": " + std::strerror(code);
}

} // namespace pfkey
