// SPDX-License-Identifier: GPL-2.0
// An XFRM netlink socket (libmnl): requests answered by ACK, error, one
// reply or a dump, and datagrams of the multicast groups it joined.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <variant>
#include <vector>

#include "pfkey/result.hpp"

struct mnl_socket;
struct nlmsghdr;

namespace replay::xfrm {

using pfkey::Error;
using pfkey::Result;

class Socket {
public:
	// @groups: a bit mask of XFRMNLGRP_* (bit n - 1 for group n).
	static Result<Socket> open(unsigned groups = 0);

	int fd() const;

	using OnMessage = std::function<Result<std::monostate>(const nlmsghdr *)>;
	// Sends @req (its sequence number is set here) and hands every reply
	// to @on_message until the kernel's ACK, error, NLMSG_DONE or a single
	// non-multipart reply. Kernel errors come back as their errno.
	Result<std::monostate> transact(nlmsghdr *req, const char *what,
					const OnMessage &on_message);
	Result<std::monostate> transact(nlmsghdr *req, const char *what);

	// One datagram of a group socket; ENOBUFS when the kernel dropped
	// some, ETIMEDOUT when none came within @timeout.
	Result<std::span<const std::uint8_t>> receive(std::chrono::milliseconds timeout);

	// Makes room for bursts (SO_RCVBUFFORCE with CAP_NET_ADMIN).
	void grow_receive_buffer(int bytes);

private:
	struct Close {
		void operator()(mnl_socket *s) const;
	};
	explicit Socket(mnl_socket *s);

	std::unique_ptr<mnl_socket, Close> sock_;
	std::uint32_t seq_ = 0;
	std::vector<std::uint8_t> rx_;
};

} // namespace replay::xfrm
