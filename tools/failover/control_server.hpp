// SPDX-License-Identifier: GPL-2.0
// The daemon's control socket: a private Unix socket on which root or this
// daemon's user sends one short command per connection and gets one reply.
// What the commands do is the daemon's business, not this one's.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "frame.hpp"

namespace failover {

class ControlServer {
public:
	// One client's command, answered at most once; closed when destroyed.
	class Request {
	public:
		Request(Request &&other) noexcept;
		Request &operator=(Request &&) = delete;
		~Request();

		const std::string &command() const { return command_; }
		// Sends @json and a newline without waiting: a client that does
		// not read loses the reply, the loop goes on.
		void reply(std::string_view json);

	private:
		friend class ControlServer;
		Request(int fd, std::string command) : fd_(fd), command_(std::move(command)) {}
		int fd_;
		std::string command_;
	};

	// Mode 0600 whatever the umask. EADDRINUSE when a running daemon
	// answers on @path; a socket nobody answers on is a leftover and
	// replaced.
	static Result<ControlServer> open(const std::string &path);
	ControlServer(ControlServer &&other) noexcept;
	ControlServer &operator=(ControlServer &&) = delete;
	// Closes and removes the socket this server bound.
	~ControlServer();

	int fd() const { return fd_; }
	// The command of a waiting client; nullopt when there is none or it
	// is neither root nor this daemon's user. A client that says nothing
	// holds the caller 200 ms at most.
	std::optional<Request> accept();

private:
	ControlServer(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
	int fd_;
	std::string path_;
};

} // namespace failover
