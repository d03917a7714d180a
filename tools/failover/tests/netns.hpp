// SPDX-License-Identifier: GPL-2.0
// Tests that need a network namespace of their own (a user namespace's,
// when not root), in a child process, and what they send there.
#pragma once

#include <arpa/inet.h>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace failover {

inline bool write_file(const char *path, const std::string &text)
{
	const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
	::close(fd);
	return ok;
}

// A fresh network namespace with lo up; "" or why not.
inline std::string enter_netns()
{
	const uid_t uid = geteuid();
	const gid_t gid = getegid();
	if (uid != 0) {
		if (unshare(CLONE_NEWUSER | CLONE_NEWNET))
			return std::string("unshare: ") + std::strerror(errno);
		if (!write_file("/proc/self/setgroups", "deny") ||
		    !write_file("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") ||
		    !write_file("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1"))
			return "user namespace maps";
	} else if (unshare(CLONE_NEWNET)) {
		return std::string("unshare: ") + std::strerror(errno);
	}
	const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ifreq ifr{};
	std::strcpy(ifr.ifr_name, "lo");
	ifr.ifr_flags = IFF_UP;
	const bool up = fd >= 0 && ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
	::close(fd);
	return up ? "" : "lo up";
}

// @body in a child process in its own network namespace: its result, ""
// when all went well, or what did not.
inline std::string in_netns(const std::function<std::string()> &body)
{
	int fds[2];
	if (pipe(fds))
		return "pipe";
	const pid_t pid = fork();
	if (pid == 0) {
		::close(fds[0]);
		std::string why = enter_netns();
		if (why.empty())
			why = body();
		(void)!::write(fds[1], why.data(), why.size());
		_exit(0);
	}
	::close(fds[1]);
	std::string why;
	char buf[256];
	ssize_t n;
	while ((n = ::read(fds[0], buf, sizeof(buf))) > 0)
		why.append(buf, n);
	::close(fds[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status))
		return "the child died";
	return why;
}

inline sockaddr_in loopback(std::uint16_t port)
{
	sockaddr_in to{};
	to.sin_family = AF_INET;
	to.sin_port = htons(port);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return to;
}

// 0, or the errno of sending an IP (@family AF_INET6: IPv6) packet of
// @proto with SPI @spi to the loopback address.
inline int send_ip(int proto, std::uint32_t spi = 1, int family = AF_INET)
{
	const int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, proto);
	if (fd < 0)
		return -errno;
	unsigned char payload[16] = {};
	// AH carries its SPI after 4 bytes of header, ESP at the start.
	const std::uint32_t be = htonl(spi);
	std::memcpy(payload + (proto == IPPROTO_AH ? 4 : 0), &be, sizeof(be));
	if (proto == IPPROTO_AH)
		payload[1] = 2;	// the AH length: (2 + 2) * 4 = 16 bytes
	sockaddr_in6 to6{};
	to6.sin6_family = AF_INET6;
	to6.sin6_addr = in6addr_loopback;
	const sockaddr_in to4 = loopback(0);
	const auto *to = family == AF_INET6 ? reinterpret_cast<const sockaddr *>(&to6)
					    : reinterpret_cast<const sockaddr *>(&to4);
	const socklen_t len = family == AF_INET6 ? sizeof(to6) : sizeof(to4);
	const int err = sendto(fd, payload, sizeof(payload), 0, to, len) < 0 ? errno : 0;
	::close(fd);
	return err;
}

// 0, or the errno of a UDP datagram from @port starting with @marker
// (@size bytes: 1 for a NAT-T keepalive).
inline int send_udp_from(std::uint16_t port, std::uint32_t marker, std::size_t size = 16)
{
	const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	const sockaddr_in from = loopback(port), to = loopback(4501);
	if (fd < 0 || bind(fd, reinterpret_cast<const sockaddr *>(&from), sizeof(from)))
		return -errno;
	unsigned char payload[16] = {};
	const std::uint32_t be = htonl(marker);
	std::memcpy(payload, &be, sizeof(be));
	if (size == 1)
		payload[0] = 0xff;
	const int err = sendto(fd, payload, size, 0, reinterpret_cast<const sockaddr *>(&to),
			       sizeof(to)) < 0 ? errno : 0;
	::close(fd);
	return err;
}
inline int send_from_4500(std::uint32_t marker) { return send_udp_from(4500, marker); }

inline std::string expect(const char *what, int got, int want)
{
	if (got == want)
		return "";
	return std::string(what) + ": errno " + std::to_string(got) + ", wanted " +
	       std::to_string(want) + "; ";
}

} // namespace failover
