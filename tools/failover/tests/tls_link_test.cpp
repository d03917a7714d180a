// SPDX-License-Identifier: GPL-2.0
// A sync link over real TLS on loopback: what one side sends reaches the
// other's poll() loop.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <openssl/ssl.h>

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
	EXPECT_TRUE(server_->conn.peer_is("client"));
	EXPECT_FALSE(server_->conn.peer_is("server"));
	EXPECT_FALSE(server_->conn.peer_is("clien"));
	EXPECT_TRUE(client_->conn.peer_is("server"));
	EXPECT_FALSE(client_->conn.peer_is("client"));
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

// A pair on a TLS 1.3 external PSK (sync.psk_file) instead of
// certificates.
class PskLink : public ::testing::Test {
protected:
	void SetUp() override
	{
		char tmpl[] = "/tmp/failover-psk-XXXXXX";
		ASSERT_NE(nullptr, ::mkdtemp(tmpl));
		dir_ = tmpl;
		key_ = write_key("pair.psk", std::string(64, 'a'), 0600);
	}
	void TearDown() override { std::filesystem::remove_all(dir_); }

	std::string write_key(const std::string &name, const std::string &text, mode_t mode)
	{
		const std::string path = dir_ + "/" + name;
		std::ofstream(path) << text << "\n";
		::chmod(path.c_str(), mode);
		return path;
	}
	static Config node(const std::string &name, const std::string &peer, const std::string &key)
	{
		Config c;
		c.node = name;
		c.peer_names = {peer};
		c.psk_file = key;
		return c;
	}
	// Whether @client and @server get through a handshake on loopback
	// within 5 s; the server's end in @server_end when they do.
	bool handshake(const Config &server, const Config &client,
		       std::optional<Connection> *server_end = nullptr,
		       bool server_asks_no_certificate = false)
	{
		auto server_ctx = TlsContext::create(server, true);
		auto client_ctx = TlsContext::create(client, false);
		EXPECT_TRUE(server_ctx && client_ctx);
		if (!server_ctx || !client_ctx)
			return false;
		if (server_asks_no_certificate)
			SSL_CTX_set_verify(server_ctx->get(), SSL_VERIFY_NONE, nullptr);
		const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		sockaddr_in at{};
		at.sin_family = AF_INET;
		at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		socklen_t len = sizeof(at);
		EXPECT_EQ(0, ::bind(listener, reinterpret_cast<sockaddr *>(&at), sizeof(at)));
		EXPECT_EQ(0, ::listen(listener, 1));
		EXPECT_EQ(0, ::getsockname(listener, reinterpret_cast<sockaddr *>(&at), &len));
		auto c = Connection::connect(*client_ctx, Endpoint{"127.0.0.1", ntohs(at.sin_port)});
		const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
		::close(listener);
		if (!c || fd < 0)
			return false;
		auto s = Connection::accept(*server_ctx, fd);
		if (!s)
			return false;
		const auto deadline = Link::Clock::now() + 5s;
		while (!(c->established() && s->established())) {
			if (Link::Clock::now() > deadline)
				return false;
			pollfd p[2] = {{c->fd(), c->poll_events(), 0}, {s->fd(), s->poll_events(), 0}};
			if (::poll(p, 2, 100) < 0)
				return false;
			if (p[0].revents)
				if (auto r = c->progress(p[0].revents); !r) {
					last_error_ = r.error().message();
					return false;
				}
			if (p[1].revents)
				if (auto r = s->progress(p[1].revents); !r) {
					last_error_ = r.error().message();
					return false;
				}
		}
		EXPECT_TRUE(c->peer_is("server")) << "a client's PSK peer is any holder of the key";
		if (server_end)
			server_end->emplace(std::move(*s));
		return true;
	}

	std::string dir_, key_;
	// Why the last handshake failed, for the failure's message.
	std::string last_error_;
};

TEST_F(PskLink, ThePairsKeyMakesALink)
{
	std::optional<Connection> server_end;
	ASSERT_TRUE(handshake(node("server", "client", key_), node("client", "server", key_),
			      &server_end))
		<< last_error_;
	// The server knows the client by the identity it gave with the key.
	EXPECT_TRUE(server_end->peer_is("client"));
	EXPECT_FALSE(server_end->peer_is("server"));
}

TEST_F(PskLink, AnotherKeyMakesNone)
{
	const auto other = write_key("other.psk", std::string(64, 'b'), 0600);
	EXPECT_FALSE(handshake(node("server", "client", key_), node("client", "server", other)));
}

// A client whose name the server does not list gets no key, and with no
// certificate to fall back on, no link.
TEST_F(PskLink, AnIdentityNotConfiguredMakesNone)
{
	EXPECT_FALSE(handshake(node("server", "client", key_), node("stranger", "server", key_)));
}

// A server that declines the key and shows a certificate instead gets
// no link, though it asks the client for none.
TEST_F(PskLink, AServerWithoutTheKeyIsRefusedWhateverItShows)
{
	testing::TestPki pki;
	EXPECT_FALSE(handshake(pki.node("server", "client"), node("client", "server", key_),
			       nullptr, true));
	EXPECT_NE(std::string::npos, last_error_.find("certificate")) << last_error_;
}

TEST_F(PskLink, AKeyFileOthersMayReadIsRefused)
{
	const auto shared = write_key("shared.psk", std::string(64, 'a'), 0644);
	auto key = load_psk(shared);
	ASSERT_FALSE(key);
	EXPECT_EQ(EACCES, key.error().code);
	EXPECT_FALSE(TlsContext::create(node("server", "client", shared), true));
}

TEST_F(PskLink, AKeyFileMustHoldThirtyTwoToSixtyFourBytesOfHex)
{
	EXPECT_EQ(32u, load_psk(key_)->size());
	EXPECT_EQ(64u, load_psk(write_key("long.psk", "  " + std::string(128, 'F'), 0600))->size());
	for (const std::string &text :
	     {std::string(62, 'a'), std::string(130, 'a'), std::string(63, 'a') + "g",
	      std::string(65, 'a'), std::string(""), std::string(64, 'a') + std::string(2000, ' ')}) {
		auto key = load_psk(write_key("bad.psk", text, 0600));
		ASSERT_FALSE(key) << text;
		EXPECT_EQ(EINVAL, key.error().code);
	}
	EXPECT_EQ(ENOENT, load_psk(dir_ + "/none.psk").error().code);
}

} // namespace
} // namespace failover
