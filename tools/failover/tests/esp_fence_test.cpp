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
