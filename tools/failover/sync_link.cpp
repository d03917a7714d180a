// SPDX-License-Identifier: GPL-2.0
#include "sync_link.hpp"

#include <algorithm>
#include <cerrno>
#include <poll.h>

namespace failover {

void Link::send(Body body, bool track)
{
	const std::uint64_t seq = ++tx_seq;
	conn.send(Frame{seq, std::move(body)});
	last_tx = Clock::now();
	if (track)
		unacked.emplace_back(seq, last_tx);
}

void Link::flush()
{
	// A write that fails shows up at the next poll() as an error.
	if (conn.queued())
		(void)conn.flush();
}

Result<std::optional<Body>> Link::receive()
{
	auto f = conn.next_frame();
	if (!f)
		return f.error();
	if (!*f)
		return std::optional<Body>();
	if ((*f)->seq != rx_seq + 1)
		return Error{EPROTO, "sync frame " + std::to_string((*f)->seq) + " after " +
					     std::to_string(rx_seq)};
	rx_seq = (*f)->seq;
	last_rx = Clock::now();
	stalled_since_rx = {};
	return std::optional<Body>(std::move((*f)->body));
}

Result<std::monostate> Link::acked_up_to(std::uint64_t seq)
{
	if (seq > tx_seq)
		return Error{EPROTO, "ack of an unsent frame"};
	if (seq > acked)
		last_ack = Clock::now();
	acked = std::max(acked, seq);
	while (!unacked.empty() && unacked.front().first <= acked)
		unacked.pop_front();
	return std::monostate{};
}

std::optional<Error> Link::backlogged(Clock::time_point now, Clock::duration limit) const
{
	// Only the snapshot is excused, not what was queued before it.
	const std::uint64_t from = std::max(snapshot_begins_at, conn.bytes_sent);
	const std::uint64_t snapshot_left = snapshot_ends_at > from ? snapshot_ends_at - from : 0;
	Backlog b{conn.queued(),
		  static_cast<std::size_t>(std::min<std::uint64_t>(snapshot_left, conn.queued())),
		  unacked.size(),
		  {},
		  last_ack,
		  stalled_since_rx,
		  conn.peer};
	if (!unacked.empty())
		b.oldest_sent = unacked.front().second;
	return b.judge(now, limit);
}

std::optional<Error> Backlog::judge(Link::Clock::time_point now, Link::Clock::duration limit) const
{
	using std::chrono::duration_cast;
	using std::chrono::milliseconds;

	if (queued_bytes - snapshot_bytes > kMaxQueuedBytes)
		return Error{ENOBUFS,
			     std::to_string(queued_bytes) + " bytes queued for " + peer + ", which does not read"};
	if (!frames_waiting)
		return std::nullopt;
	const auto waiting = now - std::max(oldest_sent, last_ack);
	if (waiting - own_stalls <= limit)
		return std::nullopt;
	return Error{ETIMEDOUT, "no ack from " + peer + " for " +
					std::to_string(duration_cast<milliseconds>(waiting).count()) +
					" ms, " + std::to_string(frames_waiting) + " frames waiting"};
}

bool keeps_newer_link(bool newer_outbound, bool older_outbound, const std::string &self,
		      const std::string &peer)
{
	if (newer_outbound == older_outbound)
		return true;
	return newer_outbound == (self < peer);
}

void drain(Link &l, Link::Clock::time_point deadline)
{
	while (l.conn.established() && l.conn.queued() && Link::Clock::now() < deadline) {
		pollfd p{l.conn.fd(), POLLOUT, 0};
		if (::poll(&p, 1, 50) > 0 && !l.conn.flush())
			break;
	}
}

void drain(std::vector<Link> &links, std::chrono::milliseconds bound)
{
	const auto deadline = Link::Clock::now() + bound;
	for (auto &l : links)
		drain(l, deadline);
}

} // namespace failover
