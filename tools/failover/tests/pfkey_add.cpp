// SPDX-License-Identifier: GPL-2.0
// Test helper: adds an SA or a policy through PF_KEY, as a PF_KEY key
// manager would (the failover test installs gw1's state this way).
//   pfkey_add sa SPI SRC DST ENC_KEY_HEX AUTH_KEY_HEX   (AES-CBC, HMAC-SHA256)
//   pfkey_add policy in|out SRC DST                     (ESP transport)
#include <cstdio>
#include <cstdlib>
#include <linux/ipsec.h>
#include <linux/pfkeyv2.h>
#include <netinet/in.h>
#include <string>

#include "pfkey/socket.hpp"

using namespace pfkey;

static std::optional<std::vector<std::uint8_t>> hex(const std::string &text)
{
	std::vector<std::uint8_t> out;
	if (text.size() % 2)
		return std::nullopt;
	for (std::size_t i = 0; i < text.size(); i += 2) {
		char *end;
		const std::string byte = text.substr(i, 2);
		out.push_back(static_cast<std::uint8_t>(std::strtoul(byte.c_str(), &end, 16)));
		if (*end)
			return std::nullopt;
	}
	return out;
}

static int usage()
{
	std::fprintf(stderr, "usage: pfkey_add sa SPI SRC DST ENC_HEX AUTH_HEX\n"
			     "       pfkey_add policy in|out SRC DST\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	const std::string what = argv[1];
	Message m;

	if (what == "sa" && argc == 7) {
		auto src = parse_address(argv[3]), dst = parse_address(argv[4]);
		auto enc = hex(argv[5]), auth = hex(argv[6]);
		if (!src || !dst || !enc || !auth)
			return usage();
		m.type = SADB_ADD;
		m.satype = SADB_SATYPE_ESP;
		m.sa = Sa{static_cast<std::uint32_t>(std::strtoul(argv[2], nullptr, 0)), 32,
			  SADB_SASTATE_MATURE, SADB_X_AALG_SHA2_256HMAC, SADB_X_EALG_AESCBC, 0};
		m.src = src;
		m.dst = dst;
		m.key_encrypt = Key{static_cast<std::uint16_t>(enc->size() * 8), *enc};
		m.key_auth = Key{static_cast<std::uint16_t>(auth->size() * 8), *auth};
		m.sa2 = Sa2{IPSEC_MODE_TRANSPORT, 0, 0};
	} else if (what == "policy" && argc == 5) {
		auto src = parse_address(argv[3]), dst = parse_address(argv[4]);
		const std::string dir = argv[2];
		if (!src || !dst || (dir != "in" && dir != "out"))
			return usage();
		m.type = SADB_X_SPDADD;
		m.satype = SADB_SATYPE_UNSPEC;
		src->proto = dst->proto = IPSEC_ULPROTO_ANY;
		m.src = src;
		m.dst = dst;
		m.policy = Policy{IPSEC_POLICY_IPSEC,
				  static_cast<std::uint8_t>(dir == "in" ? IPSEC_DIR_INBOUND
									: IPSEC_DIR_OUTBOUND),
				  0, 0,
				  {{IPPROTO_ESP, IPSEC_MODE_TRANSPORT, IPSEC_LEVEL_REQUIRE, 0,
				    std::nullopt}}};
	} else {
		return usage();
	}
	auto sock = Socket::open();
	if (!sock) {
		std::fprintf(stderr, "pfkey_add: %s\n", sock.error().message().c_str());
		return 1;
	}
	if (auto r = sock->request(m); !r) {
		std::fprintf(stderr, "pfkey_add: %s\n", r.error().message().c_str());
		return 1;
	}
	return 0;
}
