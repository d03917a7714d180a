// SPDX-License-Identifier: GPL-2.0
#include "pfkey/message.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <gtest/gtest.h>
#include <linux/ipsec.h>
#include <linux/pfkey_replay.h>
#include <linux/pfkeyv2.h>
#include <sys/socket.h>

namespace pfkey {
namespace {

Address v4(const char *ip, std::uint8_t prefix = 32)
{
	auto a = *parse_address(ip);
	a.prefixlen = prefix;
	return a;
}

Address v6(const char *ip)
{
	return *parse_address(ip);
}

// What the kernel sends for SADB_GET to a socket registered for replay.
Message full_sa_message()
{
	Message m;
	m.type = SADB_GET;
	m.satype = SADB_SATYPE_ESP;
	m.seq = 7;
	m.pid = 4242;
	m.sa = Sa{0x1001, 32, SADB_SASTATE_MATURE, SADB_X_AALG_SHA2_256HMAC,
		  SADB_X_EALG_AESCBC, 0};
	m.lifetime_current = Lifetime{5, 500, 1700000000, 1700000001};
	m.lifetime_hard = Lifetime{0, 1ULL << 40, 3600, 0};
	m.lifetime_soft = Lifetime{0, 1ULL << 39, 3000, 0};
	m.src = v4("10.0.0.1");
	m.dst = v4("10.0.0.2");
	m.key_auth = Key{256, std::vector<std::uint8_t>(32, 0xab)};
	m.key_encrypt = Key{128, std::vector<std::uint8_t>(16, 0xcd)};
	m.sa2 = Sa2{IPSEC_MODE_TRANSPORT, 0, 9};
	m.replay_thresh = ReplayThresh{1000, 1000};
	m.replay_state = ReplayState{true, SADB_X_REPLAY_CAUSE_COUNT,
				     (1ULL << 32) + 5, 77, 128,
				     {0xffffffff, 1, 0, 0x80000000}};
	return m;
}

std::size_t ext_offset(const std::vector<std::uint8_t> &bytes, std::uint16_t type);

void expect_round_trip(const Message &m)
{
	const auto bytes = encode(m);
	ASSERT_EQ(0u, bytes.size() % 8);
	const auto back = decode(bytes);
	ASSERT_TRUE(back.ok()) << back.error().message();
	EXPECT_EQ(m, *back);
	EXPECT_EQ(bytes, encode(*back));
}

TEST(RoundTrip, EveryMessageType)
{
	for (std::uint8_t type : {SADB_GETSPI, SADB_UPDATE, SADB_ADD, SADB_DELETE,
				  SADB_GET, SADB_REGISTER, SADB_EXPIRE,
				  SADB_FLUSH, SADB_DUMP, SADB_X_SPDADD,
				  SADB_X_SPDDELETE, SADB_X_SPDDUMP,
				  SADB_X_REPLAY_REGISTER, SADB_X_REPLAY_NOTIFY,
				  SADB_X_SET_REPLAY}) {
		Message m = full_sa_message();
		m.type = type;
		expect_round_trip(m);
	}
}

TEST(RoundTrip, BaseHeaderOnly)
{
	Message m;
	m.type = SADB_X_REPLAY_REGISTER;
	EXPECT_EQ(16u, encode(m).size());
	expect_round_trip(m);
}

TEST(RoundTrip, Ipv6AddressesWithPorts)
{
	Message m = full_sa_message();
	m.src = v6("fd00::1");
	m.dst = v6("fd00::2");
	m.proxy = v6("2001:db8::7");
	m.proxy->port = 4500;
	m.proxy->proto = IPPROTO_UDP;
	expect_round_trip(m);
}

TEST(RoundTrip, ReplayStateWindows)
{
	for (std::uint32_t window : {0u, 1u, 31u, 32u, 33u, 64u, 65u, 4096u}) {
		Message m;
		m.type = SADB_X_SET_REPLAY;
		std::vector<std::uint32_t> bitmap((window + 31) / 32, 0);
		if (!bitmap.empty())
			bitmap.front() = 1;
		m.replay_state = ReplayState{false, 0, 10, 9, window, bitmap};
		expect_round_trip(m);
	}
}

// What SADB_X_SPDADD / SPDDUMP carry: selector addresses and a policy.
Message spd_message(Policy policy)
{
	Message m;
	m.type = SADB_X_SPDADD;
	m.src = v4("10.1.0.0", 16);
	m.src->proto = IPPROTO_UDP;
	m.dst = v4("10.2.0.0", 16);
	m.dst->port = 9000;
	m.lifetime_current = Lifetime{0, 0, 1700000000, 0};
	m.policy = std::move(policy);
	return m;
}

TEST(RoundTrip, PoliciesWithTransportAndTunnelRequests)
{
	IpsecRequest transport{IPPROTO_ESP, IPSEC_MODE_TRANSPORT,
			       IPSEC_LEVEL_REQUIRE, 0, std::nullopt};
	IpsecRequest tunnel4{IPPROTO_ESP, IPSEC_MODE_TUNNEL, IPSEC_LEVEL_UNIQUE, 7,
			     std::pair{v4("192.0.2.1"), v4("192.0.2.2")}};
	IpsecRequest tunnel6{IPPROTO_AH, IPSEC_MODE_TUNNEL, IPSEC_LEVEL_USE, 8,
			     std::pair{v6("2001:db8::1"), v6("2001:db8::2")}};

	expect_round_trip(spd_message(Policy{IPSEC_POLICY_IPSEC, IPSEC_DIR_OUTBOUND,
					     0x101, 0x80000000, {transport}}));
	expect_round_trip(spd_message(Policy{IPSEC_POLICY_IPSEC, IPSEC_DIR_INBOUND,
					     0x102, 0, {tunnel4, tunnel6}}));
	expect_round_trip(spd_message(Policy{IPSEC_POLICY_DISCARD, IPSEC_DIR_FWD,
					     0, 0, {}}));
	// 16 bytes of policy, 16 of request, 2 x 16 of sockaddr_in.
	const auto bytes = encode(spd_message(Policy{IPSEC_POLICY_IPSEC,
						     IPSEC_DIR_OUTBOUND, 0, 0, {tunnel4}}));
	std::uint16_t len;
	std::memcpy(&len, bytes.data() + ext_offset(bytes, SADB_X_EXT_POLICY), 2);
	EXPECT_EQ(8u, len);
}

TEST(RoundTrip, UnmodelledExtensionsAreKept)
{
	Message m;
	m.type = SADB_X_SPDADD;
	m.other[SADB_X_EXT_NAT_T_TYPE] = {2, 0, 0, 0};
	m.other[SADB_X_EXT_SEC_CTX] = std::vector<std::uint8_t>(12, 0x11);
	expect_round_trip(m);
}

// Writes @v at @off of @bytes.
template <class T>
void poke(std::vector<std::uint8_t> &bytes, std::size_t off, T v)
{
	std::memcpy(bytes.data() + off, &v, sizeof(v));
}

// Offset of the extension of @type in an encoded message.
std::size_t ext_offset(const std::vector<std::uint8_t> &bytes,
		       std::uint16_t type)
{
	std::size_t off = sizeof(sadb_msg);

	while (off < bytes.size()) {
		std::uint16_t len, t;

		std::memcpy(&len, bytes.data() + off, 2);
		std::memcpy(&t, bytes.data() + off + 2, 2);
		if (t == type)
			return off;
		off += len * 8;
	}
	ADD_FAILURE() << "no extension " << type;
	return 0;
}

void expect_error(const std::vector<std::uint8_t> &bytes, int code)
{
	const auto r = decode(bytes);
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(code, r.error().code) << r.error().message();
	EXPECT_FALSE(r.error().context.empty());
}

TEST(Malformed, Sizes)
{
	const auto good = encode(full_sa_message());

	expect_error({}, EMSGSIZE);
	expect_error(std::vector<std::uint8_t>(good.begin(), good.begin() + 8),
		     EMSGSIZE);
	auto odd = good;
	odd.push_back(0);
	expect_error(odd, EMSGSIZE);
	auto longer = good;
	longer.resize(good.size() + 8);
	expect_error(longer, EMSGSIZE);
	auto shorter = good;
	shorter.resize(good.size() - 8);
	expect_error(shorter, EMSGSIZE);
}

TEST(Malformed, Header)
{
	auto bytes = encode(full_sa_message());
	bytes[offsetof(sadb_msg, sadb_msg_version)] = 1;
	expect_error(bytes, EINVAL);
}

// Linux's SPD messages carry the policy's reference count in the header's
// reserved field (pfkey_xfrm_policy2msg()); found by the VM test.
TEST(RoundTrip, ReservedHeaderFieldIsKept)
{
	Message m = spd_message(Policy{IPSEC_POLICY_IPSEC, IPSEC_DIR_OUTBOUND, 0, 0, {}});
	m.type = SADB_X_SPDDUMP;
	m.reserved = 2;
	expect_round_trip(m);
}

TEST(Malformed, ExtensionFraming)
{
	const auto good = encode(full_sa_message());
	const std::size_t sa = ext_offset(good, SADB_EXT_SA);

	auto zero = good;
	poke<std::uint16_t>(zero, sa, 0);
	expect_error(zero, EINVAL);
	auto past = good;
	poke<std::uint16_t>(past, sa, 0x400);
	expect_error(past, EINVAL);
	auto reserved = good;
	poke<std::uint16_t>(reserved, sa + 2, SADB_EXT_RESERVED);
	expect_error(reserved, EINVAL);
	// Make the second extension claim the type of the first.
	auto dup = good;
	poke<std::uint16_t>(dup, ext_offset(good, SADB_EXT_LIFETIME_CURRENT) + 2,
			    SADB_EXT_SA);
	expect_error(dup, EINVAL);
}

TEST(Malformed, StandardExtensions)
{
	Message m = full_sa_message();
	auto bytes = encode(m);

	const std::size_t src = ext_offset(bytes, SADB_EXT_ADDRESS_SRC);
	auto fam = bytes;
	poke<std::uint16_t>(fam, src + sizeof(sadb_address), AF_UNIX);
	expect_error(fam, EINVAL);
	auto prefix = bytes;
	prefix[src + offsetof(sadb_address, sadb_address_prefixlen)] = 33;
	expect_error(prefix, EINVAL);
	auto key = bytes;
	poke<std::uint16_t>(key, ext_offset(bytes, SADB_EXT_KEY_AUTH) +
					 offsetof(sadb_key, sadb_key_bits),
			    512);
	expect_error(key, EINVAL);
	auto lifetime = bytes;
	poke<std::uint16_t>(lifetime, ext_offset(bytes, SADB_EXT_LIFETIME_HARD),
			    3);
	expect_error(lifetime, EINVAL);
}

TEST(Malformed, ReplayExtensions)
{
	const Message m = full_sa_message();
	const auto bytes = encode(m);
	const std::size_t th = ext_offset(bytes, SADB_X_EXT_REPLAY_THRESH);
	const std::size_t st = ext_offset(bytes, SADB_X_EXT_REPLAY_STATE);

	auto reserved = bytes;
	poke<std::uint32_t>(reserved, th + 12, 1);
	expect_error(reserved, EINVAL);

	auto window = bytes;	// 129 needs one more word than is there
	poke<std::uint32_t>(window, st + 24, 129);
	expect_error(window, EINVAL);
	auto huge = bytes;
	poke<std::uint32_t>(huge, st + 24, SADB_X_REPLAY_WINDOW_MAX + 32);
	expect_error(huge, EINVAL);
	auto flags = bytes;
	flags[st + 4] |= 0x80;
	expect_error(flags, EINVAL);
	auto cause = bytes;
	cause[st + 5] = 9;
	expect_error(cause, EINVAL);
	auto no_esn = bytes;
	no_esn[st + 4] = 0;
	expect_error(no_esn, EINVAL);

	Message narrow;
	narrow.replay_state = ReplayState{false, 0, 1, 1, 20, {0}};
	auto past = encode(narrow);
	poke<std::uint32_t>(past, ext_offset(past, SADB_X_EXT_REPLAY_STATE) + 32,
			    1u << 20);
	expect_error(past, EINVAL);
	auto pad = encode(narrow);
	poke<std::uint32_t>(pad, ext_offset(pad, SADB_X_EXT_REPLAY_STATE) + 36, 1);
	expect_error(pad, EINVAL);
}

// Every prefix, and every single-byte change, decodes to a value or an
// error; under ASan this also proves no read past the buffer.
TEST(Malformed, PolicyExtension)
{
	IpsecRequest tunnel{IPPROTO_ESP, IPSEC_MODE_TUNNEL, IPSEC_LEVEL_UNIQUE, 7,
			    std::pair{v4("192.0.2.1"), v4("192.0.2.2")}};
	const auto good = encode(spd_message(Policy{IPSEC_POLICY_IPSEC,
						    IPSEC_DIR_OUTBOUND, 0, 0, {tunnel}}));
	const std::size_t pol = ext_offset(good, SADB_X_EXT_POLICY);
	const std::size_t rq = pol + sizeof(sadb_x_policy);
	const std::size_t ends = rq + sizeof(sadb_x_ipsecrequest);

	struct Case {
		const char *what;
		std::size_t off;
		std::uint16_t value;
	} cases[] = {
		{"request shorter than its header", rq, 8},
		{"request length not in words", rq, 44},
		{"request past the extension", rq, 56},
		{"endpoint family unknown", ends, 99},
		{"endpoints of two families", ends + sizeof(sockaddr_in), AF_INET6},
	};
	for (const auto &c : cases) {
		SCOPED_TRACE(c.what);
		auto bytes = good;
		poke(bytes, c.off, c.value);
		expect_error(bytes, EINVAL);
	}

	// A policy extension cut below its own header.
	auto shorter = good;
	poke<std::uint16_t>(shorter, pol, 1);
	poke<std::uint16_t>(shorter, pol + 8, 1);	// the rest, as an extension
	poke<std::uint16_t>(shorter, pol + 10, SADB_X_EXT_SEC_CTX);
	expect_error(shorter, EINVAL);
}

TEST(Malformed, NoPrefixOrByteFlipCrashes)
{
	const auto good = encode(full_sa_message());

	for (std::size_t n = 0; n < good.size(); n++)
		EXPECT_FALSE(decode(std::span(good).first(n)).ok()) << n;
	for (std::size_t i = 0; i < good.size(); i++) {
		auto bytes = good;
		bytes[i] ^= 0xff;
		(void)decode(bytes);
	}
}

TEST(Address, ParsesHostAddressesOnly)
{
	EXPECT_EQ(AF_INET, parse_address("10.0.0.1")->family);
	EXPECT_EQ(AF_INET6, parse_address("fd00::2")->family);
	EXPECT_EQ("fd00::2", to_string(*parse_address("fd00::2")));
	for (const char *bad : {"", "nope", "10.0.0.256", "10.0.0.0/8", "fd00::1::2"})
		EXPECT_FALSE(parse_address(bad).has_value()) << bad;
}

TEST(ErrorText, CarriesErrnoText)
{
	Error e{ERANGE, "SADB_X_SET_REPLAY"};
	EXPECT_EQ("SADB_X_SET_REPLAY: Numerical result out of range", e.message());
}

} // namespace
} // namespace pfkey
