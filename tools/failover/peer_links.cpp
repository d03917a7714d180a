// SPDX-License-Identifier: GPL-2.0
#include "peer_links.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <netinet/in.h>
#include <unistd.h>

#include "pfkey/message.hpp"

namespace failover {
namespace {

std::optional<pfkey::Address> address_of(const sockaddr_storage &ss)
{
	char text[INET6_ADDRSTRLEN] = "";
	const void *a = ss.ss_family == AF_INET
				? static_cast<const void *>(&reinterpret_cast<const sockaddr_in &>(ss).sin_addr)
				: static_cast<const void *>(&reinterpret_cast<const sockaddr_in6 &>(ss).sin6_addr);
	if ((ss.ss_family != AF_INET && ss.ss_family != AF_INET6) ||
	    !inet_ntop(ss.ss_family, a, text, sizeof(text)))
		return std::nullopt;
	return pfkey::parse_address(text);
}

} // namespace

Result<int> listen_on(const Endpoint &at)
{
	sockaddr_storage ss;
	const socklen_t len = to_sockaddr(at, ss);
	const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	const int one = 1;
	if (fd < 0)
		return Error{errno, "sync listen socket"};
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	if (::bind(fd, reinterpret_cast<sockaddr *>(&ss), len) < 0 || ::listen(fd, 8) < 0) {
		const int err = errno;
		::close(fd);
		return Error{err, "sync listen on " + at.host + ":" + std::to_string(at.port)};
	}
	return fd;
}

Admission admit(const sockaddr_storage &from, const std::vector<Endpoint> &peers,
		std::size_t pending)
{
	const auto peer = address_of(from);
	const bool known = peer && std::any_of(peers.begin(), peers.end(), [&](const Endpoint &e) {
		auto a = pfkey::parse_address(e.host);
		return a && a->addr == peer->addr && a->family == peer->family;
	});
	Admission out{peer ? pfkey::to_string(*peer) : "?", std::nullopt};
	if (!known)
		out.refused = "not a configured peer address";
	else if (pending >= kMaxPendingLinks)
		out.refused = "too many connections in their handshake";
	return out;
}

const Endpoint &Dialer::next(const std::vector<Endpoint> &peers, Clock::time_point now)
{
	next_ = now + backoff_;
	return peers[next_peer_++ % peers.size()];
}

void Dialer::back_off(Clock::time_point now)
{
	backoff_ = std::min(backoff_ * 2, std::chrono::milliseconds(2000));
	next_ = now + backoff_;
}

void Dialer::reset(Clock::time_point now)
{
	backoff_ = std::chrono::milliseconds(100);
	next_ = now;
}

std::optional<Error> hello_refusal(const Body &first, const Config &cfg,
				   const std::function<bool(const std::string &)> &peer_is)
{
	const auto *hello = std::get_if<Hello>(&first);
	if (!hello)
		return Error{EPROTO, "first frame is not a hello"};
	if (std::find(cfg.peer_names.begin(), cfg.peer_names.end(), hello->node) ==
	    cfg.peer_names.end())
		return Error{EACCES, "hello from node " + hello->node + ", which is not in sync.peer_names"};
	if (!peer_is(hello->node))
		return Error{EACCES, "hello from node " + hello->node +
					     ", which its certificate or PSK identity does not name"};
	if (hello->sa_owner != cfg.sa_owner)
		return Error{EPROTO, "node " + hello->node +
					     " has another sa_owner than this node: both must say the same"};
	return std::nullopt;
}

bool has_own_link(const std::vector<Link> &links)
{
	return std::any_of(links.begin(), links.end(),
			   [](const Link &l) { return l.outbound || l.hello_received; });
}

std::optional<Error> keep_one_link(std::vector<Link> &links, Link &l, const std::string &self,
				   const std::string &node)
{
	for (auto &o : links) {
		if (&o == &l || !o.hello_received || o.node != node || !o.superseded.empty())
			continue;
		if (!keeps_newer_link(l.outbound, o.outbound, self, node))
			return Error{EALREADY, "a second link to " + node + ", the other one is kept"};
		o.superseded = "a newer link to " + node + " is kept";
	}
	return std::nullopt;
}

} // namespace failover
