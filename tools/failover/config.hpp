// SPDX-License-Identifier: GPL-2.0
// safailover's configuration file (TOML, see safailover.toml.example).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <sys/socket.h>
#include <string>
#include <vector>

#include "frame.hpp"

namespace failover {

struct Endpoint {
	std::string host;	// an address; "[fd00::1]:7500" for IPv6
	std::uint16_t port = 0;
	bool operator==(const Endpoint &) const = default;
};
std::optional<Endpoint> parse_endpoint(const std::string &text);
// @at as a socket address in @ss; its length, 0 if the host is no address.
unsigned to_sockaddr(const Endpoint &at, sockaddr_storage &ss);

struct Prefix {
	pfkey::Address address;	// prefixlen used
	bool contains(const pfkey::Address &a) const;
};

// First matching rule gives an SA its N and T; the default otherwise.
struct ThresholdRule {
	std::optional<Prefix> dst;
	std::optional<std::uint32_t> spi;
	replay::ReplayThresh thresh;
};

struct Config {
	std::string node;
	Role initial_role = Role::standby;
	SaOwner sa_owner = SaOwner::safailover;
	// Drop the ESP this node sends while it is not active (esp_fence.hpp).
	// On by default with sa_owner = "ike": the IKE daemon's policies
	// would carry traffic on a passive node. Off by default otherwise:
	// such a node holds BLOCK placeholders in their place.
	bool esp_fence = false;
	Endpoint listen;
	std::vector<Endpoint> peers;
	std::string certificate, key, ca;
	// Instead of certificate, key and ca: a file with a TLS 1.3 external
	// PSK (32 to 64 bytes, hex), shared by the nodes of a pair. Each
	// node's identity is its name; a node that holds the key can claim
	// any name of peer_names, so one key per pair.
	std::string psk_file;
	// The names the other nodes' certificates must carry (subjectAltName
	// DNS, or CN without one) and their Hellos must give: the CA alone
	// is not the trust boundary.
	std::vector<std::string> peer_names;
	std::chrono::milliseconds heartbeat{500};
	// How long a standby told to take over waits for a reachable active
	// to stop and hand over its final numbers before it takes over blind.
	std::chrono::milliseconds handover_timeout{1000};
	replay::Choice backend = replay::Choice::automatic;
	replay::ReplayThresh thresh{1000, 1000};
	std::vector<ThresholdRule> rules;
	std::uint64_t margin_floor = 1024;
	std::chrono::milliseconds margin_lag{1000};
	// Receive buffer of the notification socket: how big a burst the
	// kernel may queue before it reports lost notifications.
	int socket_buffer = 8 << 20;
	std::string control_socket = "/run/safailover.sock";
	std::optional<Endpoint> metrics;

	replay::ReplayThresh thresh_for(const replay::SaId &id) const;
};

// EINVAL with the file, key and reason for anything unknown or wrong.
Result<Config> load_config(const std::string &path);

} // namespace failover
