// SPDX-License-Identifier: GPL-2.0
// PF_KEY v2 (RFC 2367) messages as value types, with the replay-state
// extension of <linux/pfkey_replay.h>. decode() is strict: whatever the
// kernel or a peer sends, it returns a message or an error, and never reads
// outside the bytes it is given.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "pfkey/result.hpp"

namespace pfkey {

struct Sa {
	std::uint32_t spi = 0;	// host byte order
	std::uint8_t replay = 0;
	std::uint8_t state = 0;
	std::uint8_t auth = 0;
	std::uint8_t encrypt = 0;
	std::uint32_t flags = 0;
	bool operator==(const Sa &) const = default;
};

struct Lifetime {
	std::uint32_t allocations = 0;
	std::uint64_t bytes = 0;
	std::uint64_t addtime = 0;
	std::uint64_t usetime = 0;
	bool operator==(const Lifetime &) const = default;
};

struct Address {
	int family = 0;		// AF_INET or AF_INET6
	std::array<std::uint8_t, 16> addr{};	// 4 or 16 bytes used
	std::uint16_t port = 0;	// host byte order
	std::uint8_t proto = 0;
	std::uint8_t prefixlen = 0;
	bool operator==(const Address &) const = default;
};

// "10.0.0.1" or "fd00::1" as a host address (/32, /128); nullopt if neither.
std::optional<Address> parse_address(const std::string &text);
std::string to_string(const Address &address);

struct Key {
	std::uint16_t bits = 0;
	std::vector<std::uint8_t> bytes;	// (bits + 7) / 8 of them
	bool operator==(const Key &) const = default;
};

struct Sa2 {
	std::uint8_t mode = 0;
	std::uint32_t sequence = 0;
	std::uint32_t reqid = 0;
	bool operator==(const Sa2 &) const = default;
};

// One step of an SPD entry's IPsec processing (sadb_x_ipsecrequest).
struct IpsecRequest {
	std::uint16_t proto = 0;	// IPPROTO_ESP, IPPROTO_AH, IPPROTO_COMP
	std::uint8_t mode = 0;		// IPSEC_MODE_*
	std::uint8_t level = 0;		// IPSEC_LEVEL_*
	std::uint32_t reqid = 0;
	// Tunnel endpoints (source, destination), one family; absent in
	// transport mode.
	std::optional<std::pair<Address, Address>> tunnel;
	bool operator==(const IpsecRequest &) const = default;
};

// SADB_X_EXT_POLICY: an SPD entry's action and its IPsec requests.
struct Policy {
	std::uint16_t type = 0;		// IPSEC_POLICY_*
	std::uint8_t dir = 0;		// IPSEC_DIR_*
	std::uint32_t id = 0;		// the kernel's index
	std::uint32_t priority = 0;
	std::vector<IpsecRequest> requests;
	bool operator==(const Policy &) const = default;
};

struct ReplayThresh {
	std::uint32_t packets = 0;	// N
	std::uint32_t msecs = 0;	// T, milliseconds
	bool operator==(const ReplayThresh &) const = default;
};

struct ReplayState {
	bool esn = false;
	std::uint8_t cause = 0;
	std::uint64_t oseq = 0;
	std::uint64_t seq = 0;
	std::uint32_t window = 0;
	// Canonical: bit i of word i / 32 is "seq - i accepted".
	std::vector<std::uint32_t> bitmap;
	bool operator==(const ReplayState &) const = default;
};

struct Message {
	std::uint8_t type = 0;
	std::uint8_t satype = 0;
	std::uint8_t errnum = 0;
	// sadb_msg_reserved: Linux puts a policy's reference count there.
	std::uint16_t reserved = 0;
	std::uint32_t seq = 0;
	std::uint32_t pid = 0;

	std::optional<Sa> sa;
	std::optional<Lifetime> lifetime_current, lifetime_hard, lifetime_soft;
	std::optional<Address> src, dst, proxy;
	std::optional<Key> key_auth, key_encrypt;
	std::optional<Sa2> sa2;
	std::optional<Policy> policy;
	std::optional<ReplayThresh> replay_thresh;
	std::optional<ReplayState> replay_state;
	// Extensions without a model here, by type: their bytes after the
	// 4-byte extension header, kept so that re-encoding loses nothing.
	std::map<std::uint16_t, std::vector<std::uint8_t>> other;

	bool operator==(const Message &) const = default;
};

// The wire form: lengths in 64-bit words, extensions in type order.
std::vector<std::uint8_t> encode(const Message &msg);

// EINVAL for anything malformed (with the reason in Error::context),
// EMSGSIZE when the buffer is not the length the header claims.
Result<Message> decode(std::span<const std::uint8_t> bytes);

} // namespace pfkey
