// SPDX-License-Identifier: GPL-2.0
// The sync channel's connections as a set: where a node listens, which
// connections it lets in, when and whom a standby dials, and which of two
// links to one node stays. What flows over a link is the daemon's.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <sys/socket.h>
#include <vector>

#include "config.hpp"
#include "sync_link.hpp"

namespace failover {

// A listening TCP socket for the sync channel, non-blocking; it may bind
// a VIP this node does not hold (yet).
Result<int> listen_on(const Endpoint &at);

// Connections accepted but not past their Hello yet.
constexpr std::size_t kMaxPendingLinks = 4;

struct Admission {
	std::string peer;			// @from as text, "?" if no address
	std::optional<std::string> refused;	// why, when it is
};
// Connections come only from the configured peers' addresses, and only a
// few (@pending: links not past their Hello) may be in their handshake at
// once: a flood of idle TCP connections must not crowd out the standbys or
// the heartbeats.
Admission admit(const sockaddr_storage &from, const std::vector<Endpoint> &peers,
		std::size_t pending);

// Whom a standby dials next, and when: the configured peers in turn, 100 ms
// apart at first, twice as long after each failure or drop, up to 2 s.
class Dialer {
public:
	using Clock = std::chrono::steady_clock;

	// Not before the next attempt is due, nor without a peer.
	bool due(const std::vector<Endpoint> &peers, Clock::time_point now) const
	{
		return !peers.empty() && now >= next_;
	}
	// The peer to dial now (@peers not empty); the next attempt is one
	// backoff later.
	const Endpoint &next(const std::vector<Endpoint> &peers, Clock::time_point now);
	// A dial failed or a link dropped: wait twice as long.
	void back_off(Clock::time_point now);
	// Dial now, and quickly again: a fresh start (a new role, a resync).
	void reset(Clock::time_point now);
	std::chrono::milliseconds backoff() const { return backoff_; }

private:
	std::size_t next_peer_ = 0;
	std::chrono::milliseconds backoff_{100};
	Clock::time_point next_ = Clock::now();
};

// A link this node opened, or one whose peer said who it is: an anonymous
// inbound connection (anyone at a peer's address can open one) must not
// keep this node from connecting out.
bool has_own_link(const std::vector<Link> &links);

// Why a link's first frame is refused; nullopt when it is not. It must
// be a Hello from a node of sync.peer_names that the peer proved to be
// (@peer_is: Connection::peer_is; one peer's certificate cannot speak
// for another configured node), with this node's sa_owner (a node
// mirroring tables onto one whose IKE daemon owns them would delete or
// block that daemon's policies).
std::optional<Error> hello_refusal(const Body &first, const Config &cfg,
				   const std::function<bool(const std::string &)> &peer_is);

// One link per node (keeps_newer_link): @l, which just said Hello as
// @node, against the other links of @links to that node. EALREADY when
// @l is the one to go; otherwise an older one is marked superseded (it
// stops being read, and housekeeping drops it: it cannot be dropped
// inside a walk over the links). @self: this node's name.
std::optional<Error> keep_one_link(std::vector<Link> &links, Link &l, const std::string &self,
				   const std::string &node);

} // namespace failover
