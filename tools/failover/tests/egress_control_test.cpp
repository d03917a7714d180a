// SPDX-License-Identifier: GPL-2.0
// EgressControl with a real ESP fence in a network namespace of its own
// and a replay backend in memory: what leaves is seen by sending.
#include "egress_control.hpp"

#include <gtest/gtest.h>

#include "fake_backend.hpp"
#include "netns.hpp"

namespace failover {
namespace {

using namespace std::chrono_literals;

// The SAs' destination: where the tests send their ESP.
constexpr std::uint32_t kLoopback = 0x7f000001;
replay::SaId loopback_id(std::uint32_t spi) { return sa_id_of(sample_newsa(spi, kLoopback)); }

// A takeover of an IKE daemon's SAs, with the late SAs' window, over a
// fence that starts closed (a standby).
struct IkeTakeover {
	FakeKernel kernel;
	FakeBackend backend;
	std::optional<EgressControl> egress;

	std::string start()
	{
		auto fence = EspFence::create();
		if (!fence)
			return "create: " + fence.error().message();
		egress.emplace(std::move(*fence), backend, kernel);
		if (auto r = egress->stop("standby"); !r)
			return "stop: " + r.error().message();
		return "";
	}
	// The takeover moved 0x2001; 0x2002 (reported) was absent then.
	TakeoverReport take_over()
	{
		const ShadowView view =
			numbers_only({{0x2001, numbers(500, 6)}, {0x2002, numbers(7000, 90)}}, kLoopback);
		TakeoverReport report =
			execute_takeover(view, margins(), backend, kernel, AbsentSa::skipped);
		egress->expect_late_sas(view, report, margins());
		return report;
	}
};

TEST(EgressControl, AfterAnIkeTakeoverOnlySetSasSendUntilTheWindowIsOver)
{
	EXPECT_EQ(in_netns([] {
			  IkeTakeover t;
			  if (auto why = t.start(); !why.empty())
				  return why;
			  t.backend.add(t.kernel, 0x2001, numbers(0, 0, 0), kLoopback);
			  std::string why = expect("ESP, standby", send_ip(IPPROTO_ESP, 0x2001), EPERM);
			  t.take_over();
			  // Installed by the IKE daemon before the events were heard.
			  t.backend.add(t.kernel, 0x2002, numbers(0, 0, 0), kLoopback);
			  if (auto r = t.egress->release(); !r)
				  return why + "release: " + r.error().message();
			  if (t.backend.state(0x2002, kLoopback).oseq < 7000 + 1024)
				  why += "0x2002 not swept; ";
			  why += expect("ESP of the moved SA", send_ip(IPPROTO_ESP, 0x2001), 0);
			  why += expect("ESP of the swept SA", send_ip(IPPROTO_ESP, 0x2002), 0);
			  // A late one: dropped until its event moves it.
			  t.backend.add(t.kernel, 0x3001, numbers(2, 0, 0), kLoopback);
			  why += expect("ESP of a late SA, unmoved", send_ip(IPPROTO_ESP, 0x3001), EPERM);
			  if (auto r = t.egress->sa_appeared(loopback_id(0x3001)); !r)
				  return why + "appeared: " + r.error().message();
			  why += expect("ESP of the late SA, moved", send_ip(IPPROTO_ESP, 0x3001), 0);
			  why += expect("ESP of an unknown SPI", send_ip(IPPROTO_ESP, 0x4001), EPERM);
			  if (t.egress->late_moved() != 2)
				  why += "late_moved " + std::to_string(t.egress->late_moved()) + "; ";
			  t.egress->keep(EgressControl::Clock::now() + LateSas::kWindow + 1s, true);
			  why += expect("ESP, the window over", send_ip(IPPROTO_ESP, 0x4001), 0);
			  if (t.egress->late_window_open())
				  why += "window still open; ";
			  return why;
		  }),
		  "");
}

TEST(EgressControl, ALateSaThatCannotBeSetNeverSends)
{
	EXPECT_EQ(in_netns([] {
			  IkeTakeover t;
			  if (auto why = t.start(); !why.empty())
				  return why;
			  t.take_over();
			  if (auto r = t.egress->release(); !r)
				  return "release: " + r.error().message();
			  t.backend.add(t.kernel, 0x2002, numbers(0, 0, 0), kLoopback);
			  t.backend.fail_with[0x2002] = EPERM;
			  std::string why;
			  if (t.egress->sa_appeared(loopback_id(0x2002)).ok())
				  why += "a failure reported as success; ";
			  if (t.kernel.sas.count(key_of(loopback_id(0x2002))))
				  why += "not deleted; ";
			  why += expect("ESP of the failed SA", send_ip(IPPROTO_ESP, 0x2002), EPERM);
			  return why;
		  }),
		  "");
}

TEST(EgressControl, AStandDownClosesAndForgetsTheWindow)
{
	EXPECT_EQ(in_netns([] {
			  IkeTakeover t;
			  if (auto why = t.start(); !why.empty())
				  return why;
			  t.take_over();
			  if (auto r = t.egress->release(); !r)
				  return "release: " + r.error().message();
			  if (auto r = t.egress->stop("told to stand by"); !r)
				  return "stop: " + r.error().message();
			  std::string why = expect("ESP, stood down", send_ip(IPPROTO_ESP, 0x2001), EPERM);
			  if (t.egress->late_window_open() || !t.egress->fenced())
				  why += "window open or not fenced; ";
			  // Housekeeping on a standby never opens it.
			  t.egress->keep(EgressControl::Clock::now() + LateSas::kWindow + 1s, false);
			  why += expect("ESP, standby later", send_ip(IPPROTO_ESP, 0x2001), EPERM);
			  return why;
		  }),
		  "");
}

} // namespace
} // namespace failover
