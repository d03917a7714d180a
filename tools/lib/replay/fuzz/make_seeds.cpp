// SPDX-License-Identifier: GPL-2.0
// Writes the seed corpus of replay_xfrm_fuzz: notifications in both replay
// layouts and a datagram holding two. Usage: replay_make_seeds DIR
#include <fstream>
#include <libmnl/libmnl.h>
#include <netinet/in.h>
#include <string>
#include <vector>

#include "replay/xfrm_codec.hpp"

using namespace replay;

static void write(const std::string &path, const std::vector<std::uint8_t> &bytes)
{
	std::ofstream(path, std::ios::binary)
		.write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
}

static std::vector<std::uint8_t> aevent(const xfrm::KernelReplay &replay)
{
	std::vector<std::uint8_t> buf(8192);
	const SaId id{0x1001, IPPROTO_ESP, *pfkey::parse_address("fd00::1"),
		      *pfkey::parse_address("fd00::2"), {0x10, 0xff}};
	xfrm::AeUpdate u;

	u.replay = replay;
	u.packets = 1;
	u.etimer_jiffies = 10;
	const nlmsghdr *nlh = xfrm::build_new_ae(buf, id, 1, u);
	buf.resize(nlh->nlmsg_len);
	return buf;
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	const std::string dir = argv[1];
	const auto legacy = aevent({false, 5, 6, 0, 0, 0, {0x3}});
	const auto ring = aevent({true, 7, 70, 1, 2, 128, {0x20, 0, 0, 1}});

	write(dir + "/aevent-legacy", legacy);
	write(dir + "/aevent-ring", ring);
	auto both = legacy;
	both.insert(both.end(), ring.begin(), ring.end());
	write(dir + "/aevent-two", both);
	return 0;
}
