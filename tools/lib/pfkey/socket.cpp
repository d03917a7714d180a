// SPDX-License-Identifier: GPL-2.0
#include "pfkey/socket.hpp"

#include <cerrno>
#include <linux/pfkey_replay.h>
#include <linux/pfkeyv2.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace pfkey {

Result<Socket> Socket::open()
{
	const int fd = ::socket(PF_KEY, SOCK_RAW | SOCK_CLOEXEC, PF_KEY_V2);

	if (fd < 0)
		return Error{errno, "PF_KEY socket"};
	return Socket(fd);
}

Socket::Socket(Socket &&other) noexcept
	: fd_(std::exchange(other.fd_, -1)), seq_(other.seq_),
	  backlog_(std::move(other.backlog_)), rx_(std::move(other.rx_))
{
}

Socket &Socket::operator=(Socket &&other) noexcept
{
	if (this != &other) {
		if (fd_ >= 0)
			::close(fd_);
		fd_ = std::exchange(other.fd_, -1);
		seq_ = other.seq_;
		backlog_ = std::move(other.backlog_);
		rx_ = std::move(other.rx_);
	}
	return *this;
}

Socket::~Socket()
{
	if (fd_ >= 0)
		::close(fd_);
}

Result<Event> Socket::receive(std::chrono::milliseconds timeout)
{
	pollfd pfd{fd_, POLLIN, 0};
	const int ready = ::poll(&pfd, 1, static_cast<int>(timeout.count()));

	if (ready < 0)
		return Error{errno, "PF_KEY poll"};
	if (ready == 0)
		return Error{ETIMEDOUT, "PF_KEY receive"};

	const ssize_t n = ::recv(fd_, rx_.data(), rx_.size(), MSG_DONTWAIT);
	if (n < 0 && errno == ENOBUFS)
		return Event{Overrun{}};
	if (n < 0)
		return Error{errno, "PF_KEY receive"};
	auto msg = decode(std::span(rx_).first(n));
	if (!msg)
		return msg.error();
	return Event{std::move(*msg)};
}

Result<std::monostate> Socket::send_request(Message &req, const std::string &what)
{
	req.seq = ++seq_;
	req.pid = static_cast<std::uint32_t>(::getpid());
	const auto bytes = encode(req);
	if (::send(fd_, bytes.data(), bytes.size(), 0) < 0)
		return Error{errno, what};
	return std::monostate{};
}

Result<Event> Socket::receive_before(std::chrono::steady_clock::time_point deadline,
				     const std::string &what)
{
	const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
		deadline - std::chrono::steady_clock::now());
	if (left.count() <= 0)
		return Error{ETIMEDOUT, what};
	return receive(left);
}

Result<Message> Socket::request(Message req, std::chrono::milliseconds timeout)
{
	const std::string what = "PF_KEY message type " + std::to_string(req.type);

	if (auto sent = send_request(req, what); !sent)
		return sent.error();
	// From here, not from before send(): af_key does its work inside
	// send() and queues the reply before it returns, and an SADB_ADD that
	// loads and self-tests an algorithm on a loaded host takes longer than
	// the timeout there. Its reply then waits behind what was queued
	// before it; reported as ETIMEDOUT, a change the kernel made would
	// look failed.
	const auto deadline = std::chrono::steady_clock::now() + timeout;
	for (;;) {
		auto event = receive_before(deadline, what);
		if (!event)
			return event.error();
		auto *reply = std::get_if<Message>(&*event);
		if (reply && reply->seq == req.seq && reply->pid == req.pid &&
		    reply->type == req.type) {
			if (reply->errnum)
				return Error{reply->errnum, what};
			return std::move(*reply);
		}
		backlog_.push_back(std::move(*event));
	}
}

Result<std::vector<Message>> Socket::dump(std::uint8_t satype,
					  std::chrono::milliseconds timeout)
{
	return dump_of(SADB_DUMP, satype, timeout);
}

Result<std::vector<Message>> Socket::dump_policies(std::chrono::milliseconds timeout)
{
	return dump_of(SADB_X_SPDDUMP, SADB_SATYPE_UNSPEC, timeout);
}

Result<std::vector<Message>> Socket::dump_of(std::uint8_t type, std::uint8_t satype,
					     std::chrono::milliseconds timeout)
{
	const std::string what = type == SADB_DUMP ? "SADB_DUMP" : "SADB_X_SPDDUMP";
	std::vector<Message> entries;
	Message req;

	req.type = type;
	req.satype = satype;
	if (auto sent = send_request(req, what); !sent)
		return sent.error();
	const auto deadline = std::chrono::steady_clock::now() + timeout;	// as in request()
	// Replies count down to sequence number 0 instead of echoing ours.
	for (;;) {
		auto event = receive_before(deadline, what);
		if (!event)
			return event.error();
		if (std::holds_alternative<Overrun>(*event))
			return Error{ENOBUFS, what};
		auto &m = std::get<Message>(*event);
		if (m.type != type || m.pid != req.pid) {
			backlog_.push_back(std::move(*event));
			continue;
		}
		if (m.errnum == ENOENT)
			return entries;
		if (m.errnum)
			return Error{m.errnum, what};
		const bool last = m.seq == 0;
		entries.push_back(std::move(m));
		if (last)
			return entries;
	}
}

Result<Message> Socket::register_replay()
{
	Message m;

	m.type = SADB_X_REPLAY_REGISTER;
	return request(std::move(m));
}

void Socket::discard_pending()
{
	backlog_.clear();
	while (::recv(fd_, rx_.data(), rx_.size(), MSG_DONTWAIT) >= 0 || errno == ENOBUFS)
		;
}

Result<Event> Socket::next_event(std::chrono::milliseconds timeout)
{
	if (!backlog_.empty()) {
		Event e = std::move(backlog_.front());
		backlog_.pop_front();
		return e;
	}
	return receive(timeout);
}

} // namespace pfkey
