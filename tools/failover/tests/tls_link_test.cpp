// SPDX-License-Identifier: GPL-2.0
// A sync link over real TLS on loopback: what one side sends reaches the
// other's poll() loop.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sync_link.hpp"
#include "test_pki.hpp"
#include "tls.hpp"

namespace failover {
namespace {

using namespace std::chrono_literals;

// A server and a client link, connected over 127.0.0.1 and past their
// handshake.
class TlsLink : public ::testing::Test {
protected:
	void SetUp() override
	{
		auto server_ctx = TlsContext::create(pki_.node("server", "client"), true);
		auto client_ctx = TlsContext::create(pki_.node("client", "server"), false);
		ASSERT_TRUE(server_ctx && client_ctx);
		server_ctx_.emplace(std::move(*server_ctx));
		client_ctx_.emplace(std::move(*client_ctx));

		listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		sockaddr_in at{};
		at.sin_family = AF_INET;
		at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		socklen_t len = sizeof(at);
		ASSERT_EQ(0, ::bind(listener_, reinterpret_cast<sockaddr *>(&at), sizeof(at)));
		ASSERT_EQ(0, ::listen(listener_, 1));
		ASSERT_EQ(0, ::getsockname(listener_, reinterpret_cast<sockaddr *>(&at), &len));

		auto c = Connection::connect(*client_ctx_, Endpoint{"127.0.0.1", ntohs(at.sin_port)});
		ASSERT_TRUE(c) << c.error().message();
		client_.emplace(std::move(*c));
		const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
		ASSERT_GE(fd, 0);
		auto s = Connection::accept(*server_ctx_, fd);
		ASSERT_TRUE(s) << s.error().message();
		server_.emplace(std::move(*s));

		const auto deadline = Link::Clock::now() + 5s;
		while (!(client_->conn.established() && server_->conn.established())) {
			ASSERT_LT(Link::Clock::now(), deadline) << "no TLS handshake in 5 s";
			pollfd p[2] = {{client_->conn.fd(), client_->conn.poll_events(), 0},
				       {server_->conn.fd(), server_->conn.poll_events(), 0}};
			ASSERT_GE(::poll(p, 2, 100), 0);
			if (p[0].revents) {
				ASSERT_TRUE(client_->conn.progress(p[0].revents));
			}
			if (p[1].revents) {
				ASSERT_TRUE(server_->conn.progress(p[1].revents));
			}
		}
	}

	void TearDown() override
	{
		if (listener_ >= 0)
			::close(listener_);
	}

	// What poll() says of @l's socket within @bound.
	static short readable(const Link &l, std::chrono::milliseconds bound)
	{
		pollfd p{l.conn.fd(), POLLIN, 0};
		return ::poll(&p, 1, static_cast<int>(bound.count())) > 0 ? p.revents : 0;
	}

	testing::TestPki pki_;
	std::optional<TlsContext> server_ctx_, client_ctx_;
	int listener_ = -1;
	std::optional<Link> server_, client_;
};

TEST_F(TlsLink, FramesReachThePeer)
{
	client_->send(Hello{Role::active, 7, "client", SaOwner::safailover}, false);
	client_->flush();
	const short revents = readable(*server_, 5s);
	ASSERT_TRUE(revents & POLLIN);
	ASSERT_TRUE(server_->conn.progress(revents));
	auto body = server_->receive();
	ASSERT_TRUE(body && *body);
	const auto *hello = std::get_if<Hello>(&**body);
	ASSERT_NE(nullptr, hello);
	EXPECT_EQ(7u, hello->epoch);
	EXPECT_EQ("client", hello->node);
}

// A Hello's node name must be one the peer's certificate carries.
TEST_F(TlsLink, EachEndKnowsWhichNamesThePeersCertificateCarries)
{
	EXPECT_TRUE(server_->conn.peer_certificate_names("client"));
	EXPECT_FALSE(server_->conn.peer_certificate_names("server"));
	EXPECT_FALSE(server_->conn.peer_certificate_names("clien"));
	EXPECT_TRUE(client_->conn.peer_certificate_names("server"));
	EXPECT_FALSE(client_->conn.peer_certificate_names("client"));
}

// A link that answers (its Hello, an ack) flushes while the peer's next
// frames are already on their way. The flush must leave them in the
// socket: read into the decoder there, nothing would handle them, and
// poll() would not wake again for bytes it has no more of. A standby
// dropped a new active this way, its Hello and snapshot unread.
TEST_F(TlsLink, FramesArrivingDuringAFlushStillWakePoll)
{
	client_->send(Hello{Role::active, 7, "client", SaOwner::safailover}, false);
	client_->send(Heartbeat{}, false);
	client_->flush();
	ASSERT_TRUE(readable(*server_, 5s) & POLLIN);

	server_->send(Hello{Role::standby, 7, "server", SaOwner::safailover}, false);
	server_->flush();

	const short revents = readable(*server_, 1s);
	ASSERT_TRUE(revents & POLLIN) << "the flush took the peer's frames out of the socket";
	ASSERT_TRUE(server_->conn.progress(revents));
	auto first = server_->receive();
	auto second = server_->receive();
	ASSERT_TRUE(first && *first && second && *second);
	EXPECT_TRUE(std::holds_alternative<Hello>(**first));
	EXPECT_TRUE(std::holds_alternative<Heartbeat>(**second));
}

} // namespace
} // namespace failover
