// SPDX-License-Identifier: GPL-2.0
#include "control_server.hpp"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <utility>

#include "log.hpp"

namespace failover {

ControlServer::Request::Request(Request &&other) noexcept
	: fd_(std::exchange(other.fd_, -1)), command_(std::move(other.command_))
{
}

ControlServer::Request::~Request()
{
	if (fd_ >= 0)
		::close(fd_);
}

void ControlServer::Request::reply(std::string_view json)
{
	const std::string out = std::string(json) + "\n";
	(void)!::send(fd_, out.data(), out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
}

Result<ControlServer> ControlServer::open(const std::string &path)
{
	sockaddr_un sun{};
	if (path.size() >= sizeof(sun.sun_path))
		return Error{ENAMETOOLONG, "control socket " + path};
	const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return Error{errno, "control socket"};
	sun.sun_family = AF_UNIX;
	std::strcpy(sun.sun_path, path.c_str());
	// A socket somebody answers on belongs to a running daemon: never
	// take it over. One nobody answers on is a leftover.
	const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	const bool taken = probe >= 0 &&
			   ::connect(probe, reinterpret_cast<sockaddr *>(&sun), sizeof(sun)) == 0;
	if (probe >= 0)
		::close(probe);
	if (taken) {
		::close(fd);
		return Error{EADDRINUSE, "control socket " + path + ": another safailover runs"};
	}
	::unlink(path.c_str());
	// Mode 0600 from the start, whatever the umask: takeover and standby
	// are for root (and this daemon's user) only.
	const mode_t umask_was = ::umask(0177);
	const int bound = ::bind(fd, reinterpret_cast<sockaddr *>(&sun), sizeof(sun));
	::umask(umask_was);
	if (bound < 0 || ::listen(fd, 4) < 0) {
		const int err = errno;
		::close(fd);
		return Error{err, "control socket " + path};
	}
	return ControlServer(fd, path);
}

ControlServer::ControlServer(ControlServer &&other) noexcept
	: fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_))
{
}

ControlServer::~ControlServer()
{
	if (fd_ < 0)
		return;
	::close(fd_);
	::unlink(path_.c_str());
}

std::optional<ControlServer::Request> ControlServer::accept()
{
	const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
	if (fd < 0)
		return std::nullopt;
	// Besides the socket's mode: only root and this daemon's user.
	ucred cred{};
	socklen_t len = sizeof(cred);
	if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    (cred.uid != 0 && cred.uid != ::geteuid())) {
		log("warning", "control_refused", {{"uid", std::to_string(cred.uid)}});
		::close(fd);
		return std::nullopt;
	}
	// A client that connects and says nothing stalls the loop for
	// 200 ms at most; the reply is small and never waits for it.
	pollfd pfd{fd, POLLIN, 0};
	char buf[64] = {};
	if (::poll(&pfd, 1, 200) == 1)
		(void)!::recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	std::string cmd(buf);
	cmd.erase(cmd.find_last_not_of(" \n") + 1);
	return Request(fd, std::move(cmd));
}

} // namespace failover
