// SPDX-License-Identifier: GPL-2.0
// Which connections a node lets in, and when and whom a standby dials.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "peer_links.hpp"

namespace failover {
namespace {

using namespace std::chrono_literals;

sockaddr_storage from(const Endpoint &at)
{
	sockaddr_storage ss{};
	EXPECT_NE(0u, to_sockaddr(at, ss));
	return ss;
}

const std::vector<Endpoint> kPeers{{"10.2.0.2", 7500}, {"fd00::2", 7500}};

TEST(Admit, AConfiguredPeerAddressIsLetIn)
{
	const Admission a = admit(from({"10.2.0.2", 40000}), kPeers, 0);
	EXPECT_FALSE(a.refused);
	EXPECT_EQ("10.2.0.2", a.peer);
	EXPECT_FALSE(admit(from({"fd00::2", 40000}), kPeers, 3).refused);
}

TEST(Admit, AnyOtherAddressIsRefused)
{
	const Admission a = admit(from({"10.2.0.3", 40000}), kPeers, 0);
	ASSERT_TRUE(a.refused);
	EXPECT_EQ("not a configured peer address", *a.refused);
	EXPECT_EQ("10.2.0.3", a.peer);
	// An IPv6 address that begins with 10.2.0.2's bytes is another.
	EXPECT_TRUE(admit(from({"a02:2::", 40000}), kPeers, 0).refused);
}

TEST(Admit, AFifthConnectionInItsHandshakeIsRefused)
{
	const Admission a = admit(from({"10.2.0.2", 40000}), kPeers, kMaxPendingLinks);
	ASSERT_TRUE(a.refused);
	EXPECT_EQ("too many connections in their handshake", *a.refused);
}

// A stranger hears that it is one, whatever the others are doing.
TEST(Admit, AStrangerIsRefusedAsOneWhenHandshakesAreFull)
{
	const Admission a = admit(from({"10.2.0.3", 40000}), kPeers, kMaxPendingLinks);
	ASSERT_TRUE(a.refused);
	EXPECT_EQ("not a configured peer address", *a.refused);
}

TEST(Admit, AnAddressOfNoFamilyIsRefusedAndNamedSo)
{
	sockaddr_storage unix_peer{};
	unix_peer.ss_family = AF_UNIX;
	const Admission a = admit(unix_peer, kPeers, 0);
	EXPECT_TRUE(a.refused);
	EXPECT_EQ("?", a.peer);
}

TEST(Dialer, DialsThePeersInTurn)
{
	Dialer d;
	const auto t = Dialer::Clock::now();
	ASSERT_TRUE(d.due(kPeers, t));
	EXPECT_EQ(kPeers[0], d.next(kPeers, t));
	EXPECT_FALSE(d.due(kPeers, t + 99ms));
	EXPECT_TRUE(d.due(kPeers, t + 100ms));
	EXPECT_EQ(kPeers[1], d.next(kPeers, t + 100ms));
	EXPECT_EQ(kPeers[0], d.next(kPeers, t + 200ms));
}

// A dial that connects keeps the wait the failures before it made.
TEST(Dialer, ADialAfterFailuresKeepsTheLongerWait)
{
	Dialer d;
	const auto t = Dialer::Clock::now();
	d.back_off(t);
	d.back_off(t);
	(void)d.next(kPeers, t);
	EXPECT_FALSE(d.due(kPeers, t + 399ms));
	EXPECT_TRUE(d.due(kPeers, t + 400ms));
}

TEST(Dialer, NobodyToDialIsNeverDue)
{
	Dialer d;
	EXPECT_FALSE(d.due({}, Dialer::Clock::now() + 1h));
}

TEST(Dialer, FailuresDoubleTheWaitUpToTwoSeconds)
{
	Dialer d;
	const auto t = Dialer::Clock::now();
	for (int i = 0; i < 10; i++)
		d.back_off(t);
	EXPECT_EQ(2000ms, d.backoff());
	EXPECT_FALSE(d.due(kPeers, t + 1999ms));
	EXPECT_TRUE(d.due(kPeers, t + 2000ms));
	d.reset(t);
	EXPECT_EQ(100ms, d.backoff());
	EXPECT_TRUE(d.due(kPeers, t));
}

class HelloRefusal : public ::testing::Test {
protected:
	void SetUp() override { cfg.peer_names = {"gw2", "gw4"}; }
	std::optional<Error> refusal(const Body &first)
	{
		return hello_refusal(first, cfg,
				     [&](const std::string &node) { return node == certificate_names; });
	}
	Hello hello(const std::string &node)
	{
		return Hello{Role::standby, 1, node, SaOwner::safailover};
	}

	Config cfg;
	std::string certificate_names = "gw2";
};

TEST_F(HelloRefusal, AConfiguredNodeItsCertificateNamesIsLetIn)
{
	EXPECT_FALSE(refusal(hello("gw2")));
}

TEST_F(HelloRefusal, AnyOtherFirstFrameIsRefused)
{
	const auto r = refusal(Heartbeat{});
	ASSERT_TRUE(r);
	EXPECT_EQ(EPROTO, r->code);
	EXPECT_EQ("first frame is not a hello", r->context);
}

TEST_F(HelloRefusal, ANodeNotConfiguredIsRefused)
{
	certificate_names = "gw3";
	const auto r = refusal(hello("gw3"));
	ASSERT_TRUE(r);
	EXPECT_EQ(EACCES, r->code);
	EXPECT_NE(std::string::npos, r->context.find("which is not in sync.peer_names"));
}

// gw2's certificate cannot speak for gw4, though gw4 is configured too.
TEST_F(HelloRefusal, AConfiguredNodeItsCertificateDoesNotNameIsRefused)
{
	const auto r = refusal(hello("gw4"));
	ASSERT_TRUE(r);
	EXPECT_EQ(EACCES, r->code);
	EXPECT_NE(std::string::npos, r->context.find("which its certificate or PSK identity does not name"));
}

// The checks' order: configured first, then the certificate, then the
// owner of the SAs.
TEST_F(HelloRefusal, TheFirstOfTwoFaultsIsTheOneNamed)
{
	auto r = refusal(hello("gw3"));
	ASSERT_TRUE(r);
	EXPECT_NE(std::string::npos, r->context.find("which is not in sync.peer_names"));
	Hello h = hello("gw4");
	h.sa_owner = SaOwner::ike;
	r = refusal(h);
	ASSERT_TRUE(r);
	EXPECT_NE(std::string::npos, r->context.find("which its certificate or PSK identity does not name"));
}

TEST_F(HelloRefusal, AnotherSaOwnerIsRefused)
{
	Hello h = hello("gw2");
	h.sa_owner = SaOwner::ike;
	const auto r = refusal(h);
	ASSERT_TRUE(r);
	EXPECT_EQ(EPROTO, r->code);
	EXPECT_EQ("node gw2 has another sa_owner than this node: both must say the same",
		  r->context);
}

} // namespace
} // namespace failover
