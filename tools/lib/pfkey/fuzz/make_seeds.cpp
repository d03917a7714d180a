// SPDX-License-Identifier: GPL-2.0
// Writes the seed corpus: one well-formed message of each shape the kernel
// sends. Usage: make_seeds DIR
#include <arpa/inet.h>
#include <fstream>
#include <linux/ipsec.h>
#include <linux/pfkey_replay.h>
#include <linux/pfkeyv2.h>
#include <string>

#include "pfkey/message.hpp"

using namespace pfkey;

static void write(const std::string &dir, const std::string &name,
		  const Message &m)
{
	const auto bytes = encode(m);
	std::ofstream(dir + "/" + name, std::ios::binary)
		.write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	Message m;
	m.type = SADB_X_REPLAY_REGISTER;
	write(argv[1], "register", m);

	m.type = SADB_X_REPLAY_NOTIFY;
	m.satype = SADB_SATYPE_ESP;
	m.sa = Sa{0x1001, 32, SADB_SASTATE_MATURE, 0, SADB_X_EALG_AESCBC, 0};
	m.lifetime_current = Lifetime{3, 300, 1700000000, 0};
	m.src = Address{AF_INET, {10, 0, 0, 1}, 0, 0, 32};
	m.dst = Address{AF_INET, {10, 0, 0, 2}, 0, 0, 32};
	m.sa2 = Sa2{IPSEC_MODE_TRANSPORT, 0, 1};
	m.replay_thresh = ReplayThresh{10, 1000};
	m.replay_state = ReplayState{false, SADB_X_REPLAY_CAUSE_COUNT, 10, 0,
				     32, {0}};
	write(argv[1], "notify-v4-legacy", m);

	m.src = Address{AF_INET6, {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
			0, 0, 128};
	m.dst = Address{AF_INET6, {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2},
			0, 0, 128};
	m.replay_state = ReplayState{true, SADB_X_REPLAY_CAUSE_TIMER,
				     (1ULL << 32) + 3, 5, 128, {0x1f, 0, 0, 0}};
	write(argv[1], "notify-v6-esn", m);

	m.type = SADB_GET;
	m.key_auth = Key{256, std::vector<std::uint8_t>(32, 1)};
	m.key_encrypt = Key{128, std::vector<std::uint8_t>(16, 2)};
	m.lifetime_hard = Lifetime{0, 0, 3600, 0};
	m.lifetime_soft = Lifetime{0, 0, 3000, 0};
	m.other[SADB_X_EXT_NAT_T_TYPE] = {2, 0, 0, 0};
	write(argv[1], "get-full", m);

	Message spd;
	spd.type = SADB_X_SPDDUMP;
	spd.src = Address{AF_INET, {10, 1, 0, 0}, 0, IPPROTO_UDP, 16};
	spd.dst = Address{AF_INET, {10, 2, 0, 0}, 9000, 0, 16};
	spd.policy = Policy{IPSEC_POLICY_IPSEC, IPSEC_DIR_OUTBOUND, 0x101, 0,
			    {{IPPROTO_ESP, IPSEC_MODE_TRANSPORT, IPSEC_LEVEL_REQUIRE, 0,
			      std::nullopt},
			     {IPPROTO_ESP, IPSEC_MODE_TUNNEL, IPSEC_LEVEL_UNIQUE, 7,
			      std::pair{*parse_address("192.0.2.1"),
					*parse_address("192.0.2.2")}}}};
	write(argv[1], "spddump-tunnel", spd);
	return 0;
}
