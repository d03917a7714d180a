// SPDX-License-Identifier: GPL-2.0
// The ESP fence in a network namespace of its own (a user namespace's, when
// not root): what it drops is seen by sending, not by reading the rules.
#include "esp_fence.hpp"

#include <gtest/gtest.h>
#include <nftables/libnftables.h>

#include "netns.hpp"

namespace failover {
namespace {

// What the ruleset looks like to somebody else: Debian's nftables.service
// starts with this.
std::string flush_ruleset()
{
	nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	const int rc = nft_run_cmd_from_buffer(ctx, "flush ruleset\n");
	nft_ctx_free(ctx);
	return rc ? "flush ruleset failed; " : "";
}

// The packets the after_encryption counter counted, or -1.
long after_encryption_drops()
{
	nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	nft_ctx_buffer_output(ctx);
	long n = -1;
	if (nft_run_cmd_from_buffer(ctx, "list counter inet safailover after_encryption\n") == 0) {
		const std::string out = nft_ctx_get_output_buffer(ctx);
		if (auto at = out.find("packets "); at != std::string::npos)
			n = std::stol(out.substr(at + 8));
	}
	nft_ctx_free(ctx);
	return n;
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

Admitted loopback_sa(std::uint32_t spi, int family = AF_INET)
{
	Admitted a{family, {}, spi};
	if (family == AF_INET)
		std::memcpy(a.dst.data(), "\x7f\0\0\x01", 4);
	else
		a.dst[15] = 1;	// ::1
	return a;
}

TEST(EspFence, AdmittingLetsOutOnlyTheSasWhoseNumbersAreSet)
{
	EXPECT_EQ(in_netns([] {
			  auto fence = EspFence::create();
			  if (!fence)
				  return "create: " + fence.error().message();
			  if (auto r = fence->admit_only({loopback_sa(0x2001), loopback_sa(0x2002),
							  loopback_sa(0x5001, AF_INET6)});
			      !r)
				  return "admit: " + r.error().message();
			  std::string why = expect("ESP of a set SA", send_ip(IPPROTO_ESP, 0x2001), 0);
			  why += expect("ESP of another", send_ip(IPPROTO_ESP, 0x3001), EPERM);
			  why += expect("AH of a set SA", send_ip(IPPROTO_AH, 0x2002), 0);
			  why += expect("AH of another", send_ip(IPPROTO_AH, 0x3001), EPERM);
			  why += expect("ESP in UDP of a set SA", send_from_4500(0x2001), 0);
			  why += expect("ESP in UDP of another", send_from_4500(0x3001), EPERM);
			  why += expect("IKE", send_from_4500(0), 0);
			  why += expect("IPv6 ESP of a set SA", send_ip(IPPROTO_ESP, 0x5001, AF_INET6), 0);
			  why += expect("IPv6 ESP, an IPv4 SA's SPI", send_ip(IPPROTO_ESP, 0x2001, AF_INET6),
					EPERM);
			  // A late SA, moved: one more.
			  if (auto r = fence->admit(loopback_sa(0x3001)); !r)
				  return why + "admit one: " + r.error().message();
			  why += expect("ESP of the late SA", send_ip(IPPROTO_ESP, 0x3001), 0);
			  why += expect("ESP of the first", send_ip(IPPROTO_ESP, 0x2001), 0);
			  why += expect("ESP of a third", send_ip(IPPROTO_ESP, 0x4001), EPERM);
			  return why;
		  }),
		  "");
}

TEST(EspFence, ALargeSetIsAdmittedInFull)
{
	// More than one transaction can carry in a user namespace.
	EXPECT_EQ(in_netns([] {
			  auto fence = EspFence::create();
			  if (!fence)
				  return "create: " + fence.error().message();
			  std::set<Admitted> sas;
			  for (std::uint32_t spi = 0x10000; spi < 0x10000 + 20000; spi++)
				  sas.insert(loopback_sa(spi));
			  if (auto r = fence->admit_only(sas); !r)
				  return "admit: " + r.error().message();
			  std::string why = expect("the first", send_ip(IPPROTO_ESP, 0x10000), 0);
			  why += expect("the last", send_ip(IPPROTO_ESP, 0x10000 + 19999), 0);
			  why += expect("one past", send_ip(IPPROTO_ESP, 0x10000 + 20000), EPERM);
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
			  std::string why = expect("ESP, closed", send_ip(IPPROTO_ESP), EPERM);
			  // Intact: the reassert leaves it, and its counter, alone.
			  if (auto r = fence->reassert(); !r)
				  return why + "reassert intact: " + r.error().message();
			  if (after_encryption_drops() != 1)
				  why += "counter " + std::to_string(after_encryption_drops()) + ", not 1; ";
			  why += flush_ruleset();
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
