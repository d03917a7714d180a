// SPDX-License-Identifier: GPL-2.0
// Integration tests of pfkey::Socket against a real kernel with the replay
// extension. Run inside the test VM, in namespace ns1 of pfkey_replay.sh
// (10.0.0.1, peer 10.0.0.2), as root; never on the build host.
#include "pfkey/socket.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <gtest/gtest.h>
#include <linux/ipsec.h>
#include <linux/pfkey_replay.h>
#include <linux/pfkeyv2.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace pfkey {
namespace {

using namespace std::chrono_literals;

constexpr std::uint32_t kSpi = 0x1001;

Address v4(const char *ip)
{
	return *parse_address(ip);
}

Message sa_request(std::uint8_t type, std::uint32_t spi = kSpi)
{
	Message m;
	m.type = type;
	m.satype = SADB_SATYPE_ESP;
	m.sa = Sa{spi, 0, 0, 0, 0, 0};
	m.src = v4("10.0.0.1");
	m.dst = v4("10.0.0.2");
	return m;
}

class SocketTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		ASSERT_EQ(0, std::system(
			"ip xfrm state flush && ip xfrm policy flush && "
			"ip xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp "
			"spi 0x1001 mode transport aead 'rfc4106(gcm(aes))' "
			"0x00112233445566778899aabbccddeeff01020304 128 "
			"replay-window 32 && "
			"ip xfrm policy add src 10.0.0.1 dst 10.0.0.2 proto udp "
			"dir out tmpl proto esp mode transport"));
		auto s = Socket::open();
		ASSERT_TRUE(s.ok()) << s.error().message();
		sock_.emplace(std::move(*s));
		auto reg = sock_->register_replay();
		ASSERT_TRUE(reg.ok()) << reg.error().message();
	}

	void TearDown() override
	{
		// The next test starts from empty tables, or says why not.
		EXPECT_EQ(std::system("ip xfrm state flush && ip xfrm policy flush"), 0);
	}

	void send_udp(int n)
	{
		sockaddr_in to{};
		to.sin_family = AF_INET;
		to.sin_port = htons(9000);
		inet_pton(AF_INET, "10.0.0.2", &to.sin_addr);
		const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
		for (int i = 0; i < n; i++)
			::sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr *>(&to),
				 sizeof(to));
		::close(fd);
	}

	Result<Message> set_thresh(std::uint32_t packets, std::uint32_t msecs)
	{
		Message m = sa_request(SADB_X_SET_REPLAY);
		m.replay_thresh = ReplayThresh{packets, msecs};
		return sock_->request(m);
	}

	// The next notification about kSpi with @cause, skipping others.
	std::optional<ReplayState> next_notify(std::uint8_t cause)
	{
		for (;;) {
			auto e = sock_->next_event(2s);
			if (!e)
				return std::nullopt;
			auto *m = std::get_if<Message>(&*e);
			if (m && m->type == SADB_X_REPLAY_NOTIFY && m->sa &&
			    m->sa->spi == kSpi && m->replay_state &&
			    m->replay_state->cause == cause)
				return m->replay_state;
		}
	}

	std::optional<Socket> sock_;
};

TEST_F(SocketTest, SecondRegistrationIsEEXIST)
{
	auto r = sock_->register_replay();
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(EEXIST, r.error().code);
	EXPECT_NE(std::string::npos, r.error().message().find("File exists"));
}

TEST_F(SocketTest, UnknownSaIsESRCH)
{
	auto r = sock_->request(sa_request(SADB_GET, 0xdead));
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(ESRCH, r.error().code);
}

TEST_F(SocketTest, GetCarriesThresholdsAndState)
{
	ASSERT_TRUE(set_thresh(7, 1000).ok());
	send_udp(3);
	auto r = sock_->request(sa_request(SADB_GET));
	ASSERT_TRUE(r.ok()) << r.error().message();
	ASSERT_TRUE(r->replay_thresh && r->replay_state);
	EXPECT_EQ((ReplayThresh{7, 1000}), *r->replay_thresh);
	EXPECT_EQ(3u, r->replay_state->oseq);
	EXPECT_EQ(32u, r->replay_state->window);
	// PF_KEY has no key extension for AEAD SAs (af_key knows only ealg).
	EXPECT_FALSE(r->key_encrypt.has_value());
}

TEST_F(SocketTest, NotificationsFollowTheCounter)
{
	ASSERT_TRUE(set_thresh(5, 0).ok());
	send_udp(12);
	auto first = next_notify(SADB_X_REPLAY_CAUSE_COUNT);
	auto second = next_notify(SADB_X_REPLAY_CAUSE_COUNT);
	ASSERT_TRUE(first && second);
	EXPECT_EQ(5u, first->oseq);
	EXPECT_EQ(10u, second->oseq);
}

// Broadcasts that arrive while a request waits are kept, in order.
TEST_F(SocketTest, RequestKeepsBroadcastsForTheSubscriber)
{
	ASSERT_TRUE(set_thresh(1, 0).ok());
	send_udp(3);
	::usleep(100000);
	ASSERT_TRUE(sock_->request(sa_request(SADB_GET)).ok());
	for (std::uint64_t oseq = 1; oseq <= 3; oseq++) {
		auto st = next_notify(SADB_X_REPLAY_CAUSE_COUNT);
		ASSERT_TRUE(st);
		EXPECT_EQ(oseq, st->oseq);
	}
}

TEST_F(SocketTest, RewindIsERANGE)
{
	send_udp(4);
	Message m = sa_request(SADB_X_SET_REPLAY);
	m.replay_state = ReplayState{false, 0, 2, 0, 32, {0}};
	auto r = sock_->request(m);
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(ERANGE, r.error().code);
	m.replay_state->oseq = 1000;
	auto ok = sock_->request(m);
	ASSERT_TRUE(ok.ok()) << ok.error().message();
	EXPECT_EQ(1000u, ok->replay_state->oseq);
}

// The SPD entry SetUp made with iproute2, as PF_KEY reports it.
TEST_F(SocketTest, SpdDumpDecodesThePolicy)
{
	auto spd = sock_->dump_policies();
	ASSERT_TRUE(spd.ok()) << spd.error().message();
	ASSERT_EQ(1u, spd->size());
	const Message &m = spd->front();
	ASSERT_TRUE(m.policy && m.src && m.dst);
	EXPECT_EQ(IPSEC_POLICY_IPSEC, m.policy->type);
	EXPECT_EQ(IPSEC_DIR_OUTBOUND, m.policy->dir);
	ASSERT_EQ(1u, m.policy->requests.size());
	EXPECT_EQ(IPPROTO_ESP, m.policy->requests[0].proto);
	EXPECT_EQ(IPSEC_MODE_TRANSPORT, m.policy->requests[0].mode);
	EXPECT_FALSE(m.policy->requests[0].tunnel);
	EXPECT_EQ(IPPROTO_UDP, m.src->proto);
	EXPECT_EQ("10.0.0.2", to_string(*m.dst));
}

TEST_F(SocketTest, OverrunIsAnEvent)
{
	const int tiny = 1;
	ASSERT_EQ(0, ::setsockopt(sock_->fd(), SOL_SOCKET, SO_RCVBUF, &tiny,
				  sizeof(tiny)));
	ASSERT_TRUE(set_thresh(1, 0).ok());
	send_udp(100);
	::usleep(200000);
	bool overrun = false;
	for (int i = 0; i < 200 && !overrun; i++) {
		auto e = sock_->next_event(500ms);
		ASSERT_TRUE(e.ok()) << e.error().message();
		overrun = std::holds_alternative<Overrun>(*e);
	}
	EXPECT_TRUE(overrun);
}

} // namespace
} // namespace pfkey
