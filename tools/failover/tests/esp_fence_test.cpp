// SPDX-License-Identifier: GPL-2.0
// The ESP fence in a network namespace of its own (a user namespace's, when
// not root): what it drops is seen by sending, not by reading the rules.
#include "esp_fence.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace failover {
namespace {

bool write_file(const char *path, const std::string &text)
{
	const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
	::close(fd);
	return ok;
}

// A fresh network namespace with lo up; "" or why not.
std::string enter_netns()
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
std::string in_netns(const std::function<std::string()> &body)
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

sockaddr_in loopback(std::uint16_t port)
{
	sockaddr_in to{};
	to.sin_family = AF_INET;
	to.sin_port = htons(port);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return to;
}

// 0, or the errno of sending an IP packet of @proto to 127.0.0.1.
int send_ip(int proto)
{
	const int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, proto);
	if (fd < 0)
		return -errno;
	const char payload[16] = {0, 0, 0, 1};	// SPI 1
	const sockaddr_in to = loopback(0);
	const int err = sendto(fd, payload, sizeof(payload), 0,
			       reinterpret_cast<const sockaddr *>(&to), sizeof(to)) < 0 ? errno : 0;
	::close(fd);
	return err;
}

// 0, or the errno of a UDP datagram from port 4500 starting with @marker.
int send_from_4500(std::uint32_t marker)
{
	const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	const sockaddr_in from = loopback(4500), to = loopback(4501);
	if (fd < 0 || bind(fd, reinterpret_cast<const sockaddr *>(&from), sizeof(from)))
		return -errno;
	unsigned char payload[16] = {};
	const std::uint32_t be = htonl(marker);
	std::memcpy(payload, &be, sizeof(be));
	const int err = sendto(fd, payload, sizeof(payload), 0,
			       reinterpret_cast<const sockaddr *>(&to), sizeof(to)) < 0 ? errno : 0;
	::close(fd);
	return err;
}

std::string expect(const char *what, int got, int want)
{
	if (got == want)
		return "";
	return std::string(what) + ": errno " + std::to_string(got) + ", wanted " +
	       std::to_string(want) + "; ";
}

TEST(EspFence, ClosedDropsEspAhAndEspInUdpOnlyUntilOpened)
{
	EXPECT_EQ(in_netns([] {
			  auto fence = EspFence::open();
			  if (!fence)
				  return "open: " + fence.error().message();
			  std::string why = expect("ESP, no fence", send_ip(IPPROTO_ESP), 0);
			  if (auto r = fence->close(); !r)
				  return why + "close: " + r.error().message();
			  if (!fence->closed())
				  why += "not closed; ";
			  why += expect("ESP, closed", send_ip(IPPROTO_ESP), EPERM);
			  why += expect("AH, closed", send_ip(IPPROTO_AH), EPERM);
			  why += expect("ESP in UDP, closed", send_from_4500(0x1234), EPERM);
			  why += expect("IKE (marker 0), closed", send_from_4500(0), 0);
			  why += expect("GRE, closed", send_ip(IPPROTO_GRE), 0);
			  if (auto r = fence->open_gate(); !r)
				  return why + "open: " + r.error().message();
			  why += expect("ESP, opened", send_ip(IPPROTO_ESP), 0);
			  why += expect("ESP in UDP, opened", send_from_4500(0x1234), 0);
			  return why;
		  }),
		  "");
}

TEST(EspFence, ClosingTwiceAndReopeningAreIdempotent)
{
	EXPECT_EQ(in_netns([] {
			  auto fence = EspFence::open();
			  if (!fence)
				  return "open: " + fence.error().message();
			  // A second daemon start finds the table there.
			  auto again = EspFence::open();
			  if (!again)
				  return "open again: " + again.error().message();
			  for (int i = 0; i < 2; i++)
				  if (auto r = fence->close(); !r)
					  return "close: " + r.error().message();
			  std::string why = expect("ESP, closed twice", send_ip(IPPROTO_ESP), EPERM);
			  // One open lifts both closes: the rules were not doubled.
			  if (auto r = fence->open_gate(); !r)
				  return why + "open: " + r.error().message();
			  why += expect("ESP, opened once", send_ip(IPPROTO_ESP), 0);
			  if (auto r = again->open_gate(); !r)
				  return why + "open twice: " + r.error().message();
			  return why;
		  }),
		  "");
}

} // namespace
} // namespace failover
