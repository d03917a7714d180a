// SPDX-License-Identifier: GPL-2.0
// The sync channel's transport: TCP with TLS 1.3 only, both ends showing a
// certificate of the configured CA (or both holding the pair's external
// PSK), non-blocking for one poll() loop.
#pragma once

#include <cstdint>
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "config.hpp"
#include "frame.hpp"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace failover {

// A TLS 1.3 external PSK: the key, this node's identity (its name) and the
// identities a server takes (the peers' names).
struct Psk {
	Bytes key;
	std::string identity;
	std::vector<std::string> peers;
};

// The key of a PSK file: 32 to 64 bytes as hex digits (`openssl rand -hex
// 32`), blanks and a newline around them allowed. EACCES for a file that
// others than its owner may read.
Result<Bytes> load_psk(const std::string &path);

class TlsContext {
public:
	// A server context when @server, a client one otherwise.
	static Result<TlsContext> create(const Config &config, bool server);
	SSL_CTX *get() const { return ctx_.get(); }

private:
	Result<std::monostate> use_certificates(const Config &config);
	Result<std::monostate> use_psk(const Config &config, bool server);

	struct Free {
		void operator()(SSL_CTX *ctx) const;
	};
	std::unique_ptr<SSL_CTX, Free> ctx_;
};

class Connection {
public:
	// Starts a non-blocking connect; the handshake follows in progress().
	static Result<Connection> connect(const TlsContext &ctx, const Endpoint &to);
	static Result<Connection> accept(const TlsContext &ctx, int fd);
	Connection(Connection &&) noexcept;
	Connection &operator=(Connection &&) noexcept;
	~Connection();

	int fd() const { return fd_; }
	short poll_events() const;
	// Moves the handshake, reads and writes forward after poll(). An
	// error (the peer left, TLS refused, a malformed frame) ends the
	// connection: the caller drops it.
	Result<std::monostate> progress(short revents);
	// Writes what is queued and reads nothing: bytes read outside
	// progress() would leave the socket empty, so poll() would not wake
	// for frames that sit decoded but unhandled.
	Result<std::monostate> flush();
	bool established() const { return established_; }
	// Whether the peer proved it is @node: its certificate, verified in
	// the handshake, names it (subjectAltName DNS, or CN without one); or,
	// with a PSK, it is the identity the client gave with the key. A
	// client's PSK peer is any holder of the key (TLS gives no server
	// identity): true once the PSK was used.
	bool peer_is(const std::string &node) const;
	// Bytes wait in the socket: the peer spoke, and this side has not
	// read it yet.
	bool unread() const;

	void send(const Frame &frame);
	Result<std::optional<Frame>> next_frame() { return decoder_.next(); }
	std::size_t queued() const { return out_.size(); }

	std::string peer;	// "address:port" for logs
	std::uint64_t bytes_sent = 0, bytes_received = 0;

private:
	Connection(int fd, SSL *ssl);
	Result<std::monostate> handshake();
	Result<std::monostate> read_all();
	Result<std::monostate> write_all();
	void close();

public:
	// Ends the connection so that what was sent arrives: TLS close_notify
	// and a shutdown of this side, then whatever the peer still sends is
	// read and dropped until it closes or @bound passes. Closing with
	// unread bytes sends a reset, and a reset makes the peer's kernel drop
	// what it had not delivered yet (a Release, say).
	void finish(std::chrono::milliseconds bound);

	int fd_ = -1;
	SSL *ssl_ = nullptr;
	bool connecting_ = false;	// TCP connect still in progress
	bool established_ = false;
	bool want_write_ = false;
	std::deque<std::uint8_t, WipingAllocator<std::uint8_t>> out_;
	Decoder decoder_;
};

// The OpenSSL error queue as one line, for logs.
std::string tls_errors();

} // namespace failover
