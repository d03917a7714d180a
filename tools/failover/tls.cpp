// SPDX-License-Identifier: GPL-2.0
#include "tls.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>
#include <memory>
#include <utility>
#include <vector>

namespace failover {

std::string tls_errors()
{
	std::string all;
	char buf[256];

	while (unsigned long e = ERR_get_error()) {
		ERR_error_string_n(e, buf, sizeof(buf));
		all += all.empty() ? "" : "; ";
		all += buf;
	}
	return all.empty() ? "no OpenSSL error" : all;
}

void TlsContext::Free::operator()(SSL_CTX *ctx) const
{
	SSL_CTX_free(ctx);
}

namespace {

// The identity a server took with the PSK, kept with its SSL.
int accepted_identity_index()
{
	static const int index = SSL_get_ex_new_index(
		0, nullptr, nullptr, nullptr,
		[](void *, void *identity, CRYPTO_EX_DATA *, int, long, void *) {
			delete static_cast<std::string *>(identity);
		});
	return index;
}

// A PSK context's key and names, owned by the SSL_CTX: a connection
// (which holds a reference on its SSL_CTX) may outlive the TlsContext.
int psk_index()
{
	static const int index = SSL_CTX_get_ex_new_index(
		0, nullptr, nullptr, nullptr,
		[](void *, void *psk, CRYPTO_EX_DATA *, int, long, void *) {
			delete static_cast<Psk *>(psk);
		});
	return index;
}

const Psk *psk_of(SSL *ssl)
{
	return static_cast<const Psk *>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), psk_index()));
}

// A session that stands for the external PSK: TLS 1.3, AES-128-GCM with
// SHA-256 (the one suite a PSK context offers).
SSL_SESSION *psk_session(SSL *ssl, const Bytes &key)
{
	static const unsigned char aes_128_gcm_sha256[] = {0x13, 0x01};
	const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, aes_128_gcm_sha256);
	SSL_SESSION *session = cipher ? SSL_SESSION_new() : nullptr;

	if (session && SSL_SESSION_set1_master_key(session, key.data(), key.size()) == 1 &&
	    SSL_SESSION_set_cipher(session, cipher) == 1 &&
	    SSL_SESSION_set_protocol_version(session, TLS1_3_VERSION) == 1)
		return session;
	SSL_SESSION_free(session);
	return nullptr;
}

// Client: offers the PSK under this node's name.
int use_psk_session(SSL *ssl, const EVP_MD *md, const unsigned char **id, std::size_t *idlen,
		    SSL_SESSION **session)
{
	const Psk *psk = psk_of(ssl);
	*session = psk_session(ssl, psk->key);
	if (!*session)
		return 0;
	if (md && md != SSL_CIPHER_get_handshake_digest(SSL_SESSION_get0_cipher(*session))) {
		SSL_SESSION_free(*session);
		*session = nullptr;
		return 1;
	}
	*id = reinterpret_cast<const unsigned char *>(psk->identity.data());
	*idlen = psk->identity.size();
	return 1;
}

// Server: takes the PSK from a configured peer's name only; for any other
// there is no PSK, and with no certificate either, no handshake.
int find_psk_session(SSL *ssl, const unsigned char *id, std::size_t idlen,
		     SSL_SESSION **session)
{
	const Psk *psk = psk_of(ssl);
	const std::string identity(reinterpret_cast<const char *>(id), idlen);

	*session = nullptr;
	if (std::find(psk->peers.begin(), psk->peers.end(), identity) == psk->peers.end())
		return 1;
	*session = psk_session(ssl, psk->key);
	if (!*session)
		return 0;
	delete static_cast<std::string *>(SSL_get_ex_data(ssl, accepted_identity_index()));
	SSL_set_ex_data(ssl, accepted_identity_index(), new std::string(identity));
	return 1;
}

} // namespace

Result<Bytes> load_psk(const std::string &path)
{
	const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return Error{errno, "PSK file " + path};
	struct stat st;
	if (::fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid() ||
	    (st.st_mode & 077)) {
		::close(fd);
		return Error{EACCES, "PSK file " + path + ": not a regular file of this user's " +
					     "that only it may read or write (chmod 600)"};
	}
	// Bytes are wiped when freed: the key's text too.
	Bytes text(1025);
	const ssize_t n = ::read(fd, text.data(), text.size());
	const int err = errno;
	::close(fd);
	if (n < 0)
		return Error{err, "PSK file " + path};
	if (static_cast<std::size_t>(n) == text.size())
		return Error{EINVAL, "PSK file " + path + ": longer than a key"};
	text.resize(static_cast<std::size_t>(n));
	auto blank = [](std::uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
	while (!text.empty() && blank(text.back()))
		text.pop_back();
	std::size_t i = 0;
	while (i < text.size() && blank(text[i]))
		i++;
	text.push_back(0);
	// Into a buffer of at most 64 bytes: a longer key does not fit.
	Bytes key(64);
	std::size_t len = 0;
	if (OPENSSL_hexstr2buf_ex(key.data(), key.size(), &len,
				  reinterpret_cast<const char *>(text.data() + i), '\0') != 1 ||
	    len < 32) {
		ERR_clear_error();	// OpenSSL's note of the bad digits
		return Error{EINVAL, "PSK file " + path + ": not 32 to 64 bytes as hex digits"};
	}
	key.resize(len);
	return key;
}

Result<std::monostate> TlsContext::use_psk(const Config &config, bool server)
{
	SSL_CTX *ctx = ctx_.get();
	auto key = load_psk(config.psk_file);
	if (!key)
		return key.error();
	auto psk = std::make_unique<Psk>(Psk{std::move(*key), config.node, config.peer_names});
	// The key stands for both ends: one suite, an ephemeral key exchange
	// with it (psk_dhe_ke), and no certificate taken: a server that
	// declines the key and shows one instead is refused.
	if (SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256") != 1 ||
	    SSL_CTX_set_ex_data(ctx, psk_index(), psk.get()) != 1)
		return Error{EPROTO, "TLS PSK context: " + tls_errors()};
	psk.release();
	SSL_CTX_clear_options(ctx, SSL_OP_ALLOW_NO_DHE_KEX);
	if (server) {
		// With no certificate of its own, a server has nothing but
		// the key to offer.
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
		SSL_CTX_set_psk_find_session_callback(ctx, find_psk_session);
		SSL_CTX_set_num_tickets(ctx, 0);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, [](int, X509_STORE_CTX *) { return 0; });
		SSL_CTX_set_psk_use_session_callback(ctx, use_psk_session);
	}
	return std::monostate{};
}

Result<std::monostate> TlsContext::use_certificates(const Config &config)
{
	SSL_CTX *ctx = ctx_.get();
	if (SSL_CTX_use_certificate_chain_file(ctx, config.certificate.c_str()) != 1)
		return Error{EINVAL, "certificate " + config.certificate + ": " + tls_errors()};
	if (SSL_CTX_use_PrivateKey_file(ctx, config.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		return Error{EINVAL, "key " + config.key + ": " + tls_errors()};
	if (SSL_CTX_load_verify_locations(ctx, config.ca.c_str(), nullptr) != 1)
		return Error{EINVAL, "CA " + config.ca + ": " + tls_errors()};
	// Key material crosses this channel: both ends prove who they are,
	// with a certificate of the CA that names one of the configured peers
	// (another certificate of the same CA is not enough).
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
	X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_WILDCARDS);
	for (const auto &name : config.peer_names)
		if (X509_VERIFY_PARAM_add1_host(param, name.c_str(), name.size()) != 1)
			return Error{EINVAL, "peer name " + name + ": " + tls_errors()};
	return std::monostate{};
}

Result<TlsContext> TlsContext::create(const Config &config, bool server)
{
	TlsContext t;
	t.ctx_.reset(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
	SSL_CTX *ctx = t.ctx_.get();

	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION))
		return Error{EPROTO, "TLS context: " + tls_errors()};
	auto used = config.psk_file.empty() ? t.use_certificates(config)
					    : t.use_psk(config, server);
	if (!used)
		return used.error();
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return t;
}

Connection::Connection(int fd, SSL *ssl) : fd_(fd), ssl_(ssl) {}

Connection::Connection(Connection &&o) noexcept
	: peer(std::move(o.peer)), bytes_sent(o.bytes_sent), bytes_received(o.bytes_received),
	  fd_(std::exchange(o.fd_, -1)), ssl_(std::exchange(o.ssl_, nullptr)),
	  connecting_(o.connecting_), established_(o.established_), want_write_(o.want_write_),
	  out_(std::move(o.out_)), decoder_(std::move(o.decoder_))
{
}

Connection &Connection::operator=(Connection &&o) noexcept
{
	if (this != &o) {
		close();
		peer = std::move(o.peer);
		bytes_sent = o.bytes_sent;
		bytes_received = o.bytes_received;
		fd_ = std::exchange(o.fd_, -1);
		ssl_ = std::exchange(o.ssl_, nullptr);
		connecting_ = o.connecting_;
		established_ = o.established_;
		want_write_ = o.want_write_;
		out_ = std::move(o.out_);
		decoder_ = std::move(o.decoder_);
	}
	return *this;
}

Connection::~Connection()
{
	close();
}

void Connection::close()
{
	if (ssl_)
		SSL_free(ssl_);
	if (fd_ >= 0)
		::close(fd_);
	ssl_ = nullptr;
	fd_ = -1;
}

static void tune(int fd)
{
	const int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

Result<Connection> Connection::connect(const TlsContext &ctx, const Endpoint &to)
{
	sockaddr_storage ss;
	const socklen_t len = to_sockaddr(to, ss);

	if (!len)
		return Error{EINVAL, "peer address " + to.host};
	const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return Error{errno, "sync socket"};
	tune(fd);
	SSL *ssl = SSL_new(ctx.get());
	Connection c(fd, ssl);
	c.peer = to.host + ":" + std::to_string(to.port);
	if (!ssl || SSL_set_fd(ssl, fd) != 1)
		return Error{EPROTO, "TLS: " + tls_errors()};
	SSL_set_connect_state(ssl);
	if (::connect(fd, reinterpret_cast<sockaddr *>(&ss), len) < 0 && errno != EINPROGRESS)
		return Error{errno, "connect to " + c.peer};
	c.connecting_ = true;
	return c;
}

Result<Connection> Connection::accept(const TlsContext &ctx, int fd)
{
	sockaddr_storage ss{};
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";

	getpeername(fd, reinterpret_cast<sockaddr *>(&ss), &len);
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in *>(&ss)->sin_addr, host, sizeof(host));
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6 *>(&ss)->sin6_addr, host, sizeof(host));
	tune(fd);
	SSL *ssl = SSL_new(ctx.get());
	Connection c(fd, ssl);
	c.peer = host;
	if (!ssl || SSL_set_fd(ssl, fd) != 1)
		return Error{EPROTO, "TLS: " + tls_errors()};
	SSL_set_accept_state(ssl);
	return c;
}

short Connection::poll_events() const
{
	if (connecting_)
		return POLLOUT;
	return POLLIN | (want_write_ || (established_ && !out_.empty()) ? POLLOUT : 0);
}

void Connection::send(const Frame &frame)
{
	const auto bytes = encode(frame);
	out_.insert(out_.end(), bytes.begin(), bytes.end());
}

Result<std::monostate> Connection::handshake()
{
	ERR_clear_error();
	const int rc = SSL_do_handshake(ssl_);
	if (rc == 1 && psk_of(ssl_) && !SSL_session_reused(ssl_))
		return Error{EACCES, "TLS with " + peer + ": established without the PSK"};
	if (rc == 1) {
		established_ = true;
		want_write_ = false;
		return std::monostate{};
	}
	switch (SSL_get_error(ssl_, rc)) {
	case SSL_ERROR_WANT_READ:
		want_write_ = false;
		return std::monostate{};
	case SSL_ERROR_WANT_WRITE:
		want_write_ = true;
		return std::monostate{};
	}
	const long verify = SSL_get_verify_result(ssl_);
	std::string why = tls_errors();
	if (verify != X509_V_OK)
		why += std::string(" (peer certificate: ") +
		       X509_verify_cert_error_string(verify) + ")";
	return Error{EACCES, "TLS handshake with " + peer + " refused: " + why};
}

Result<std::monostate> Connection::read_all()
{
	std::uint8_t buf[16384];
	// What was read may be an SA's keys: not left on the stack.
	const auto wipe = std::unique_ptr<std::uint8_t, void (*)(std::uint8_t *)>(
		buf, [](std::uint8_t *p) { explicit_bzero(p, 16384); });

	for (;;) {
		ERR_clear_error();
		const int n = SSL_read(ssl_, buf, sizeof(buf));
		if (n > 0) {
			bytes_received += n;
			decoder_.feed({buf, static_cast<std::size_t>(n)});
			continue;
		}
		const int err = SSL_get_error(ssl_, n);
		if (err == SSL_ERROR_WANT_READ)
			return std::monostate{};
		if (err == SSL_ERROR_WANT_WRITE) {
			want_write_ = true;
			return std::monostate{};
		}
		if (err == SSL_ERROR_ZERO_RETURN)
			return Error{ECONNRESET, peer + " closed the sync channel"};
		return Error{ECONNRESET, "sync channel to " + peer + ": " +
						 (err == SSL_ERROR_SYSCALL ? "connection lost"
									   : tls_errors())};
	}
}

Result<std::monostate> Connection::write_all()
{
	Bytes chunk;

	want_write_ = false;
	while (!out_.empty()) {
		// One TLS record at most: with partial writes SSL_write
		// takes no more at a time.
		const std::size_t n = std::min<std::size_t>(out_.size(), 16384);
		chunk.assign(out_.begin(), out_.begin() + n);
		ERR_clear_error();
		const int wrote = SSL_write(ssl_, chunk.data(), static_cast<int>(n));
		if (wrote > 0) {
			bytes_sent += wrote;
			out_.erase(out_.begin(), out_.begin() + wrote);
			continue;
		}
		const int err = SSL_get_error(ssl_, wrote);
		if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
			want_write_ = err == SSL_ERROR_WANT_WRITE;
			return std::monostate{};
		}
		return Error{ECONNRESET, "sync channel to " + peer + ": write failed: " +
						 (err != SSL_ERROR_SYSCALL ? tls_errors()
						  : errno ? std::strerror(errno)
							  : "connection lost")};
	}
	return std::monostate{};
}

void Connection::finish(std::chrono::milliseconds bound)
{
	if (fd_ < 0)
		return;
	if (ssl_ && established_)
		(void)SSL_shutdown(ssl_);
	::shutdown(fd_, SHUT_WR);
	const auto deadline = std::chrono::steady_clock::now() + bound;
	std::uint8_t buf[4096];
	for (;;) {
		const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
			deadline - std::chrono::steady_clock::now());
		pollfd p{fd_, POLLIN, 0};
		if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
			break;
		if (::recv(fd_, buf, sizeof(buf), 0) <= 0)
			break;
	}
	explicit_bzero(buf, sizeof(buf));
}

Result<std::monostate> Connection::progress(short revents)
{
	if (connecting_) {
		if (!(revents & (POLLOUT | POLLERR | POLLHUP)))
			return std::monostate{};
		int err = 0;
		socklen_t len = sizeof(err);
		getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err)
			return Error{err, "connect to " + peer};
		connecting_ = false;
	}
	if (!established_) {
		auto hs = handshake();
		if (!hs || !established_)
			return hs;
	}
	if (revents & (POLLERR | POLLHUP) && !(revents & POLLIN))
		return Error{ECONNRESET, "sync channel to " + peer + " lost"};
	if (auto r = read_all(); !r)
		return r;
	return write_all();
}

bool Connection::peer_is(const std::string &node) const
{
	if (!established_ || !ssl_)
		return false;
	if (psk_of(ssl_)) {
		// Established on the PSK, not on anything else.
		if (!SSL_session_reused(ssl_))
			return false;
		if (!SSL_is_server(ssl_))
			return true;
		const auto *identity = static_cast<const std::string *>(
			SSL_get_ex_data(ssl_, accepted_identity_index()));
		return identity && *identity == node;
	}
	if (SSL_get_verify_result(ssl_) != X509_V_OK)
		return false;
	X509 *cert = SSL_get0_peer_certificate(ssl_);
	return cert && X509_check_host(cert, node.data(), node.size(),
				       X509_CHECK_FLAG_NO_WILDCARDS, nullptr) == 1;
}

bool Connection::unread() const
{
	pollfd p{fd_, POLLIN, 0};
	return !connecting_ && fd_ >= 0 && ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

Result<std::monostate> Connection::flush()
{
	if (!established_)
		return std::monostate{};
	return write_all();
}

} // namespace failover
