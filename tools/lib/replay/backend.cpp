// SPDX-License-Identifier: GPL-2.0
#include "replay/backend.hpp"

#include <cerrno>

namespace replay {

std::string_view name(Kind kind)
{
	return kind == Kind::pfkey ? "pfkey" : "netlink";
}

Result<std::unique_ptr<Backend>> open(Choice choice)
{
	if (choice == Choice::netlink)
		return open_netlink();
	auto pfkey = open_pfkey();
	if (pfkey || choice == Choice::pfkey)
		return pfkey;
	// EINVAL: a PF_KEY without the extension; EPROTONOSUPPORT or
	// EAFNOSUPPORT: no af_key at all. Anything else is a real error.
	const int code = pfkey.error().code;
	if (code != EINVAL && code != EPROTONOSUPPORT && code != EAFNOSUPPORT)
		return pfkey;
	return open_netlink();
}

} // namespace replay
