// SPDX-License-Identifier: GPL-2.0
#include "config.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>
#include <set>
#include <toml.hpp>

namespace failover {
namespace {

Error invalid(const std::string &path, const std::string &why)
{
	return Error{EINVAL, path + ": " + why};
}

// A misspelt key would otherwise be a silent default.
std::optional<std::string> unknown_key(const toml::value &table,
				       const std::set<std::string> &known)
{
	for (const auto &[key, value] : table.as_table())
		if (!known.count(key))
			return key;
	return std::nullopt;
}

template <class T>
T get_or(const toml::value &v, const std::string &key, T fallback)
{
	return v.contains(key) ? toml::find<T>(v, key) : fallback;
}

} // namespace

std::optional<Endpoint> parse_endpoint(const std::string &text)
{
	const auto colon = text.rfind(':');
	if (colon == std::string::npos || colon + 1 == text.size())
		return std::nullopt;
	std::string host = text.substr(0, colon);
	if (host.size() > 2 && host.front() == '[' && host.back() == ']')
		host = host.substr(1, host.size() - 2);
	if (!pfkey::parse_address(host))
		return std::nullopt;
	std::size_t used = 0;
	unsigned long port;
	try {
		port = std::stoul(text.substr(colon + 1), &used);
	} catch (const std::exception &) {
		return std::nullopt;
	}
	if (used != text.size() - colon - 1 || port == 0 || port > 65535)
		return std::nullopt;
	return Endpoint{host, static_cast<std::uint16_t>(port)};
}

unsigned to_sockaddr(const Endpoint &at, sockaddr_storage &ss)
{
	const auto addr = pfkey::parse_address(at.host);

	ss = {};
	if (!addr)
		return 0;
	if (addr->family == AF_INET) {
		auto *sin = reinterpret_cast<sockaddr_in *>(&ss);
		sin->sin_family = AF_INET;
		sin->sin_port = htons(at.port);
		std::memcpy(&sin->sin_addr, addr->addr.data(), 4);
		return sizeof(*sin);
	}
	auto *sin6 = reinterpret_cast<sockaddr_in6 *>(&ss);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(at.port);
	std::memcpy(&sin6->sin6_addr, addr->addr.data(), 16);
	return sizeof(*sin6);
}

bool Prefix::contains(const pfkey::Address &a) const
{
	if (a.family != address.family)
		return false;
	for (unsigned bit = 0; bit < address.prefixlen; bit++) {
		const unsigned mask = 0x80 >> (bit % 8);
		if ((a.addr[bit / 8] & mask) != (address.addr[bit / 8] & mask))
			return false;
	}
	return true;
}

replay::ReplayThresh Config::thresh_for(const replay::SaId &id) const
{
	for (const auto &rule : rules)
		if ((!rule.dst || rule.dst->contains(id.dst)) &&
		    (!rule.spi || *rule.spi == id.spi))
			return rule.thresh;
	return thresh;
}

Result<Config> load_config(const std::string &path)
{
	Config c;

	try {
		const auto root = toml::parse(path);
		if (auto k = unknown_key(root, {"node", "role", "sa_owner", "esp_fence", "sync",
						"replay", "control", "metrics"}))
			return invalid(path, "unknown key " + *k);
		c.node = toml::find<std::string>(root, "node");
		if (!valid_node_name(c.node))
			return invalid(path, "node: 1 to 255 letters, digits, '.', '-' or '_'");
		const auto role = get_or<std::string>(root, "role", "standby");
		if (role != "active" && role != "standby")
			return invalid(path, "role: active or standby");
		c.initial_role = role == "active" ? Role::active : Role::standby;
		const auto owner = get_or<std::string>(root, "sa_owner", "safailover");
		if (owner != "safailover" && owner != "ike")
			return invalid(path, "sa_owner: safailover or ike");
		c.sa_owner = owner == "ike" ? SaOwner::ike : SaOwner::safailover;
		c.esp_fence = get_or<bool>(root, "esp_fence", c.sa_owner == SaOwner::ike);

		// Tables are copied, not bound by reference: GCC 14 (Debian 13)
		// takes a reference to find()'s result as dangling.
		const toml::value sync = toml::find(root, "sync");
		if (auto k = unknown_key(sync, {"listen", "peers", "certificate", "key", "ca",
						"psk_file", "heartbeat_ms", "handover_timeout_ms",
						"peer_names"}))
			return invalid(path, "unknown key sync." + *k);
		auto listen = parse_endpoint(toml::find<std::string>(sync, "listen"));
		if (!listen)
			return invalid(path, "sync.listen: ADDRESS:PORT");
		c.listen = *listen;
		for (const auto &p : get_or<std::vector<std::string>>(sync, "peers", {})) {
			auto e = parse_endpoint(p);
			if (!e)
				return invalid(path, "sync.peers: not ADDRESS:PORT: " + p);
			c.peers.push_back(*e);
		}
		c.peer_names = toml::find<std::vector<std::string>>(sync, "peer_names");
		if (c.peer_names.empty() || c.peer_names.size() > 64)
			return invalid(path, "sync.peer_names: 1 to 64 names");
		for (const auto &name : c.peer_names)
			if (!valid_node_name(name) || name == c.node)
				return invalid(path, "sync.peer_names: not a node name, or this node's: " +
							     name.substr(0, 64));
		c.psk_file = get_or<std::string>(sync, "psk_file", "");
		c.certificate = get_or<std::string>(sync, "certificate", "");
		c.key = get_or<std::string>(sync, "key", "");
		c.ca = get_or<std::string>(sync, "ca", "");
		const bool all_pki = !c.certificate.empty() && !c.key.empty() && !c.ca.empty();
		const bool any_pki = !c.certificate.empty() || !c.key.empty() || !c.ca.empty();
		if (c.psk_file.empty() ? !all_pki : any_pki)
			return invalid(path, "sync: certificate, key and ca, or psk_file alone");
		// A shared key cannot tell its holders apart.
		if (!c.psk_file.empty() && c.peer_names.size() != 1)
			return invalid(path, "sync.psk_file: one key per pair, so one peer name");
		const auto heartbeat = get_or<std::int64_t>(sync, "heartbeat_ms", 500);
		if (heartbeat < 10 || heartbeat > 60000)
			return invalid(path, "sync.heartbeat_ms: 10 to 60000");
		c.heartbeat = std::chrono::milliseconds(heartbeat);
		const auto handover = get_or<std::int64_t>(sync, "handover_timeout_ms", 1000);
		if (handover < 10 || handover > 10000)
			return invalid(path, "sync.handover_timeout_ms: 10 to 10000");
		c.handover_timeout = std::chrono::milliseconds(handover);

		if (root.contains("replay")) {
			const toml::value r = toml::find(root, "replay");
			if (auto k = unknown_key(r, {"backend", "packets", "msecs", "margin_floor",
						     "margin_lag_ms", "socket_buffer", "rule"}))
				return invalid(path, "unknown key replay." + *k);
			const auto backend = get_or<std::string>(r, "backend", "auto");
			if (backend != "auto" && backend != "pfkey" && backend != "netlink")
				return invalid(path, "replay.backend: auto, pfkey or netlink");
			c.backend = backend == "pfkey"	   ? replay::Choice::pfkey
				    : backend == "netlink" ? replay::Choice::netlink
							   : replay::Choice::automatic;
			c.thresh.packets = get_or<std::uint32_t>(r, "packets", c.thresh.packets);
			c.thresh.msecs = get_or<std::uint32_t>(r, "msecs", c.thresh.msecs);
			c.margin_floor = get_or<std::uint64_t>(r, "margin_floor", c.margin_floor);
			c.margin_lag = std::chrono::milliseconds(
				get_or<std::uint32_t>(r, "margin_lag_ms", 1000));
			const auto buffer = get_or<std::int64_t>(r, "socket_buffer", c.socket_buffer);
			if (buffer < 1024 || buffer > (1 << 30))
				return invalid(path, "replay.socket_buffer: 1024 to 1 GiB");
			c.socket_buffer = static_cast<int>(buffer);
			if (!c.thresh.packets && !c.thresh.msecs)
				return invalid(path, "replay: N = T = 0 would never notify");
			for (const auto &rule : get_or<std::vector<toml::value>>(r, "rule", {})) {
				if (auto k = unknown_key(rule, {"dst", "spi", "packets", "msecs"}))
					return invalid(path, "unknown key replay.rule." + *k);
				ThresholdRule tr;
				if (rule.contains("dst")) {
					const auto text = toml::find<std::string>(rule, "dst");
					const auto slash = text.find('/');
					auto a = pfkey::parse_address(text.substr(0, slash));
					if (!a)
						return invalid(path, "replay.rule.dst: " + text);
					if (slash != std::string::npos) {
						const int len = std::stoi(text.substr(slash + 1));
						if (len < 0 || len > a->prefixlen)
							return invalid(path, "replay.rule.dst: " + text);
						a->prefixlen = len;
					}
					tr.dst = Prefix{*a};
				}
				if (rule.contains("spi"))
					tr.spi = toml::find<std::uint32_t>(rule, "spi");
				tr.thresh = {toml::find<std::uint32_t>(rule, "packets"),
					     toml::find<std::uint32_t>(rule, "msecs")};
				// Such an SA would never be reported: its standby copy
				// would only ever have the snapshot's numbers.
				if (!tr.thresh.packets && !tr.thresh.msecs)
					return invalid(path, "replay.rule: N = T = 0 would never notify");
				c.rules.push_back(tr);
			}
		}
		if (root.contains("control")) {
			const toml::value ctl = toml::find(root, "control");
			if (auto k = unknown_key(ctl, {"socket"}))
				return invalid(path, "unknown key control." + *k);
			c.control_socket = get_or<std::string>(ctl, "socket", c.control_socket);
		}
		if (root.contains("metrics")) {
			const toml::value m = toml::find(root, "metrics");
			if (auto k = unknown_key(m, {"listen"}))
				return invalid(path, "unknown key metrics." + *k);
			c.metrics = parse_endpoint(toml::find<std::string>(m, "listen"));
			if (!c.metrics)
				return invalid(path, "metrics.listen: ADDRESS:PORT");
		}
	} catch (const std::exception &e) {
		// toml11 names the file, line and key in its messages.
		return Error{EINVAL, e.what()};
	}
	return c;
}

} // namespace failover
