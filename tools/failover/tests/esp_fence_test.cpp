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
#include <nftables/libnftables.h>
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

// 0, or the errno of sending an IP (@family AF_INET6: IPv6) packet of
// @proto with SPI @spi to the loopback address.
int send_ip(int proto, std::uint32_t spi = 1, int family = AF_INET)
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
int send_udp_from(std::uint16_t port, std::uint32_t marker, std::size_t size = 16)
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
int send_from_4500(std::uint32_t marker) { return send_udp_from(4500, marker); }

std::string expect(const char *what, int got, int want)
{
	if (got == want)
		return "";
	return std::string(what) + ": errno " + std::to_string(got) + ", wanted " +
	       std::to_string(want) + "; ";
}

// What the ruleset looks like to somebody else: Debian's nftables.service
// starts with this.
std::string flush_ruleset()
{
	nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	const int rc = nft_run_cmd_from_buffer(ctx, "flush ruleset\n");
	nft_ctx_free(ctx);
	return rc ? "flush ruleset failed; " : "";
}

TEST(EspFence, ClosedDropsEspAhAndEspInUdpOnlyUntilOpened)
{
	EXPECT_EQ(in_netns([] {
			  auto fence = EspFence::create();
			  if (!fence)
				  return "create: " + fence.error().message();
			  std::string why = expect("ESP, no fence", send_ip(IPPROTO_ESP), 0);
			  if (auto r = fence->close(); !r)
				  return why + "close: " + r.error().message();
			  if (fence->mode() != EspFence::Mode::closed || !fence->applied())
				  why += "not closed; ";
			  why += expect("ESP, closed", send_ip(IPPROTO_ESP), EPERM);
			  why += expect("AH, closed", send_ip(IPPROTO_AH), EPERM);
			  why += expect("ESP over IPv6, closed", send_ip(IPPROTO_ESP, 1, AF_INET6), EPERM);
			  why += expect("AH over IPv6, closed", send_ip(IPPROTO_AH, 1, AF_INET6), EPERM);
			  why += expect("ESP in UDP, closed", send_from_4500(0x1234), EPERM);
			  why += expect("IKE (marker 0), closed", send_from_4500(0), 0);
			  why += expect("NAT-T keepalive, closed", send_udp_from(4500, 0, 1), 0);
			  why += expect("UDP from 4501, closed", send_udp_from(4501, 0x1234), 0);
			  why += expect("GRE, closed", send_ip(IPPROTO_GRE), 0);
			  if (auto r = fence->open(); !r)
				  return why + "open: " + r.error().message();
			  why += expect("ESP, opened", send_ip(IPPROTO_ESP), 0);
			  why += expect("ESP in UDP, opened", send_from_4500(0x1234), 0);
			  return why;
		  }),
		  "");
}

TEST(EspFence, AdmittingLetsOutOnlyTheSpisWhoseNumbersAreSet)
{
	EXPECT_EQ(in_netns([] {
			  auto fence = EspFence::create();
			  if (!fence)
				  return "create: " + fence.error().message();
			  if (auto r = fence->admit_only({0x2001, 0x2002}); !r)
				  return "admit: " + r.error().message();
			  std::string why = expect("ESP of a set SA", send_ip(IPPROTO_ESP, 0x2001), 0);
			  why += expect("ESP of another", send_ip(IPPROTO_ESP, 0x3001), EPERM);
			  why += expect("AH of a set SA", send_ip(IPPROTO_AH, 0x2002), 0);
			  why += expect("AH of another", send_ip(IPPROTO_AH, 0x3001), EPERM);
			  why += expect("ESP in UDP of a set SA", send_from_4500(0x2001), 0);
			  why += expect("ESP in UDP of another", send_from_4500(0x3001), EPERM);
			  why += expect("IKE", send_from_4500(0), 0);
			  // A late SA, moved: one more.
			  if (auto r = fence->admit(0x3001); !r)
				  return why + "admit one: " + r.error().message();
			  why += expect("ESP of the late SA", send_ip(IPPROTO_ESP, 0x3001), 0);
			  why += expect("ESP of the first", send_ip(IPPROTO_ESP, 0x2001), 0);
			  why += expect("ESP of a third", send_ip(IPPROTO_ESP, 0x4001), EPERM);
			  return why;
		  }),
		  "");
}

TEST(EspFence, ReassertPutsBackWhatFlushRulesetRemoved)
{
	EXPECT_EQ(in_netns([] {
			  auto fence = EspFence::create();
			  if (!fence)
				  return "create: " + fence.error().message();
			  if (auto r = fence->close(); !r)
				  return "close: " + r.error().message();
			  std::string why = flush_ruleset();
			  why += expect("ESP, table flushed", send_ip(IPPROTO_ESP), 0);
			  if (auto r = fence->reassert(); !r)
				  return why + "reassert: " + r.error().message();
			  why += expect("ESP, reasserted", send_ip(IPPROTO_ESP), EPERM);
			  // Closing again after a flush works too (declares the table).
			  why += flush_ruleset();
			  if (auto r = fence->close(); !r)
				  return why + "close after flush: " + r.error().message();
			  why += expect("ESP, closed after a flush", send_ip(IPPROTO_ESP), EPERM);
			  return why;
		  }),
		  "");
}

TEST(EspFence, ASecondCreateKeepsTheModeTheFirstLeft)
{
	EXPECT_EQ(in_netns([] {
			  auto fence = EspFence::create();
			  if (!fence)
				  return "create: " + fence.error().message();
			  if (auto r = fence->close(); !r)
				  return "close: " + r.error().message();
			  // A daemon that restarts: closed until it picks a mode.
			  auto again = EspFence::create();
			  if (!again)
				  return "create again: " + again.error().message();
			  std::string why = expect("ESP, after a second create", send_ip(IPPROTO_ESP), EPERM);
			  if (auto r = again->open(); !r)
				  return why + "open: " + r.error().message();
			  why += expect("ESP, opened by the second", send_ip(IPPROTO_ESP), 0);
			  return why;
		  }),
		  "");
}

} // namespace
} // namespace failover
