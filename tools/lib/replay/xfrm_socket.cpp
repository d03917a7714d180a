// SPDX-License-Identifier: GPL-2.0
#include "replay/xfrm_socket.hpp"

#include <cerrno>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <poll.h>
#include <sys/socket.h>

#include "replay/xfrm_codec.hpp"

namespace replay::xfrm {
namespace {

using namespace std::chrono_literals;

Result<std::monostate> wait_readable(int fd, std::chrono::milliseconds timeout,
				     const char *what)
{
	pollfd pfd{fd, POLLIN, 0};
	const int ready = ::poll(&pfd, 1, static_cast<int>(timeout.count()));

	if (ready < 0)
		return Error{errno, what};
	if (ready == 0)
		return Error{ETIMEDOUT, what};
	return std::monostate{};
}

Result<std::monostate> ack(const nlmsghdr *nlh, const char *what)
{
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(nlmsgerr))
		return Error{EPROTO, what};
	const auto *err = static_cast<const nlmsgerr *>(mnl_nlmsg_get_payload(nlh));
	if (err->error)
		return Error{-err->error, what};
	return std::monostate{};
}

} // namespace

void Socket::Close::operator()(mnl_socket *s) const
{
	mnl_socket_close(s);
}

// Dumps of many SAs come in datagrams of up to 64 KiB.
Socket::Socket(mnl_socket *s) : sock_(s), rx_(1 << 16) {}

Result<Socket> Socket::open(unsigned groups)
{
	mnl_socket *s = mnl_socket_open2(NETLINK_XFRM, SOCK_CLOEXEC);

	if (!s)
		return Error{errno, "XFRM netlink socket"};
	Socket sock(s);
	if (mnl_socket_bind(s, groups, MNL_SOCKET_AUTOPID) < 0)
		return Error{errno, "XFRM netlink bind"};
	return sock;
}

int Socket::fd() const
{
	return mnl_socket_get_fd(sock_.get());
}

void Socket::grow_receive_buffer(int bytes)
{
	if (setsockopt(fd(), SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)))
		setsockopt(fd(), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
}

Result<std::monostate> Socket::transact(nlmsghdr *req, const char *what)
{
	return transact(req, what, [](const nlmsghdr *) -> Result<std::monostate> {
		return std::monostate{};
	});
}

Result<std::monostate> Socket::transact(nlmsghdr *req, const char *what,
					const OnMessage &on_message)
{
	const std::uint32_t seq = ++seq_;
	const std::uint32_t portid = mnl_socket_get_portid(sock_.get());

	req->nlmsg_seq = seq;
	if (mnl_socket_sendto(sock_.get(), req, req->nlmsg_len) < 0)
		return Error{errno, what};
	for (;;) {
		auto ready = wait_readable(fd(), 5s, what);
		if (!ready)
			return ready.error();
		const ssize_t n = mnl_socket_recvfrom(sock_.get(), rx_.data(), rx_.size());
		if (n < 0)
			return Error{errno, what};
		auto messages = split({rx_.data(), static_cast<std::size_t>(n)});
		if (!messages)
			return messages.error();
		for (const nlmsghdr *nlh : *messages) {
			if (!mnl_nlmsg_seq_ok(nlh, seq) || !mnl_nlmsg_portid_ok(nlh, portid))
				continue;	// a late reply to an earlier request
			if (nlh->nlmsg_type == NLMSG_ERROR)
				return ack(nlh, what);
			if (nlh->nlmsg_type == NLMSG_DONE)
				return std::monostate{};
			auto handled = on_message(nlh);
			if (!handled)
				return handled.error();
			if (!(nlh->nlmsg_flags & NLM_F_MULTI))
				return std::monostate{};
		}
	}
}

Result<std::span<const std::uint8_t>> Socket::receive(std::chrono::milliseconds timeout)
{
	auto ready = wait_readable(fd(), timeout, "XFRM netlink notifications");
	if (!ready)
		return ready.error();
	const ssize_t n = mnl_socket_recvfrom(sock_.get(), rx_.data(), rx_.size());
	if (n < 0)
		return Error{errno, "XFRM netlink notifications"};
	return std::span<const std::uint8_t>(rx_.data(), static_cast<std::size_t>(n));
}

} // namespace replay::xfrm
