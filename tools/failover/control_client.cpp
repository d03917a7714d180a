// SPDX-License-Identifier: GPL-2.0
#include "control_client.hpp"

#include <cerrno>
#include <cstring>
#include <sstream>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace failover {

Result<std::string> control_request(const std::string &socket_path, const std::string &command,
				    std::chrono::milliseconds timeout)
{
	sockaddr_un sun{};
	if (socket_path.size() >= sizeof(sun.sun_path))
		return Error{ENAMETOOLONG, "control socket " + socket_path};
	const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return Error{errno, "control socket"};
	const auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout);
	const timeval tv{static_cast<time_t>(secs.count()),
			 static_cast<suseconds_t>((timeout - secs).count() * 1000)};
	::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	sun.sun_family = AF_UNIX;
	std::strcpy(sun.sun_path, socket_path.c_str());
	if (::connect(fd, reinterpret_cast<sockaddr *>(&sun), sizeof(sun)) < 0) {
		const int err = errno;
		::close(fd);
		return Error{err, socket_path + " (is the daemon running?)"};
	}
	const std::string line = command + "\n";
	if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
		const int err = errno;
		::close(fd);
		return Error{err, socket_path};
	}
	std::string reply;
	char buf[4096];
	ssize_t n;
	while ((n = ::read(fd, buf, sizeof(buf))) > 0)
		reply.append(buf, n);
	const int err = errno;
	::close(fd);
	if (n < 0)
		return Error{err == EAGAIN ? ETIMEDOUT : err,
			     socket_path + ": no reply to " + command};
	return reply;
}

std::optional<std::string> command_for_vrrp_line(const std::string &line,
						 const std::string &instance)
{
	std::istringstream in(line);
	std::string kind, name, state;
	if (!(in >> kind >> name >> state) || kind != "INSTANCE")
		return std::nullopt;
	if (name.size() >= 2 && name.front() == '"' && name.back() == '"')
		name = name.substr(1, name.size() - 2);
	if (!instance.empty() && name != instance)
		return std::nullopt;
	if (state == "MASTER")
		return "takeover";
	if (state == "BACKUP" || state == "FAULT" || state == "STOP")
		return "standby";
	return std::nullopt;
}

} // namespace failover
