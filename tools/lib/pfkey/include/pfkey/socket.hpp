// SPDX-License-Identifier: GPL-2.0
// A PF_KEY v2 socket: requests matched to their replies, everything else
// kept for the subscriber, and lost messages reported, never swallowed.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <variant>
#include <vector>

#include "pfkey/message.hpp"
#include "pfkey/result.hpp"

namespace pfkey {

// The kernel dropped messages for this socket (its queue was full): what
// the caller knows may be stale and should be read again (SADB_DUMP).
struct Overrun {
	bool operator==(const Overrun &) const = default;
};

using Event = std::variant<Message, Overrun>;

class Socket {
public:
	// A PF_KEY socket in the caller's network namespace (CAP_NET_ADMIN).
	static Result<Socket> open();

	Socket(Socket &&other) noexcept;
	Socket &operator=(Socket &&other) noexcept;
	Socket(const Socket &) = delete;
	Socket &operator=(const Socket &) = delete;
	~Socket();

	// For poll()-based event loops and socket options.
	int fd() const { return fd_; }

	// Sends @request with the next sequence number and this process's pid
	// and returns the reply of the same type, sequence and pid; @timeout
	// runs from the end of send(). A reply
	// with sadb_msg_errno set is returned as that errno. Whatever else
	// arrives meanwhile is kept for next_event().
	Result<Message> request(Message request,
				std::chrono::milliseconds timeout =
					std::chrono::seconds(3));

	// SADB_DUMP of @satype: every SA, in the kernel's order. An empty
	// table is an empty vector, not an error.
	Result<std::vector<Message>> dump(std::uint8_t satype,
					  std::chrono::milliseconds timeout =
						  std::chrono::seconds(3));

	// SADB_X_SPDDUMP: every SPD entry, with its policy extension.
	Result<std::vector<Message>> dump_policies(std::chrono::milliseconds timeout =
							   std::chrono::seconds(3));

	// Opts in to the replay extension (SADB_X_REPLAY_REGISTER). A kernel
	// without it answers EINVAL.
	Result<Message> register_replay();

	// Drops every message waiting on the socket and in the backlog: for a
	// socket that only sends requests, so broadcasts never fill its queue
	// (a full queue drops the kernel's replies too).
	void discard_pending();

	// The next message the kernel broadcast, or Overrun; ETIMEDOUT when
	// nothing arrived within @timeout.
	Result<Event> next_event(std::chrono::milliseconds timeout);

private:
	explicit Socket(int fd) : fd_(fd), rx_(kMaxMessage) {}
	Result<Event> receive(std::chrono::milliseconds timeout);
	// Numbers @req (sequence, pid) and sends it.
	Result<std::monostate> send_request(Message &req, const std::string &what);
	// ETIMEDOUT once @deadline passed.
	Result<Event> receive_before(std::chrono::steady_clock::time_point deadline,
				     const std::string &what);
	Result<std::vector<Message>> dump_of(std::uint8_t type, std::uint8_t satype,
					     std::chrono::milliseconds timeout);

	// sadb_msg_len counts 64-bit words in 16 bits.
	static constexpr std::size_t kMaxMessage = 65535 * 8;

	int fd_ = -1;
	std::uint32_t seq_ = 0;
	std::deque<Event> backlog_;
	std::vector<std::uint8_t> rx_;	// reused: one allocation per socket
};

} // namespace pfkey
