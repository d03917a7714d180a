// SPDX-License-Identifier: GPL-2.0
#include "pfkey/message.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <linux/pfkey_replay.h>
#include <linux/pfkeyv2.h>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>

namespace pfkey {
namespace {

constexpr std::size_t kWord = 8;

using Bytes = std::vector<std::uint8_t>;
using View = std::span<const std::uint8_t>;

constexpr std::size_t padded(std::size_t n)
{
	return (n + kWord - 1) / kWord * kWord;
}

Error invalid(std::uint16_t type, const std::string &why)
{
	return Error{EINVAL, "PF_KEY extension " + std::to_string(type) + ": " + why};
}

// The structure at the start of @v; the caller checked the size.
template <class T>
T load(View v)
{
	T t;
	std::memcpy(&t, v.data(), sizeof(t));
	return t;
}

template <class T>
void append(Bytes &out, const T &t)
{
	const auto *p = reinterpret_cast<const std::uint8_t *>(&t);
	out.insert(out.end(), p, p + sizeof(t));
}

// Encoders: each returns a whole extension, header included and padded.
Bytes finish(Bytes ext, std::uint16_t type)
{
	ext.resize(padded(ext.size()));
	const std::uint16_t words = ext.size() / kWord;
	std::memcpy(ext.data(), &words, sizeof(words));
	std::memcpy(ext.data() + 2, &type, sizeof(type));
	return ext;
}

Bytes encode_sa(const Sa &sa)
{
	sadb_sa s{};
	s.sadb_sa_spi = htonl(sa.spi);
	s.sadb_sa_replay = sa.replay;
	s.sadb_sa_state = sa.state;
	s.sadb_sa_auth = sa.auth;
	s.sadb_sa_encrypt = sa.encrypt;
	s.sadb_sa_flags = sa.flags;
	Bytes b;
	append(b, s);
	return finish(b, SADB_EXT_SA);
}

Bytes encode_lifetime(const Lifetime &l, std::uint16_t type)
{
	sadb_lifetime s{};
	s.sadb_lifetime_allocations = l.allocations;
	s.sadb_lifetime_bytes = l.bytes;
	s.sadb_lifetime_addtime = l.addtime;
	s.sadb_lifetime_usetime = l.usetime;
	Bytes b;
	append(b, s);
	return finish(b, type);
}

Bytes encode_address(const Address &a, std::uint16_t type)
{
	sadb_address s{};
	s.sadb_address_proto = a.proto;
	s.sadb_address_prefixlen = a.prefixlen;
	Bytes b;
	append(b, s);
	if (a.family == AF_INET6) {
		sockaddr_in6 sin6{};
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(a.port);
		std::memcpy(&sin6.sin6_addr, a.addr.data(), 16);
		append(b, sin6);
	} else {
		sockaddr_in sin{};
		sin.sin_family = static_cast<sa_family_t>(a.family);
		sin.sin_port = htons(a.port);
		std::memcpy(&sin.sin_addr, a.addr.data(), 4);
		append(b, sin);
	}
	return finish(b, type);
}

Bytes encode_key(const Key &k, std::uint16_t type)
{
	sadb_key s{};
	s.sadb_key_bits = k.bits;
	Bytes b;
	append(b, s);
	b.insert(b.end(), k.bytes.begin(), k.bytes.end());
	return finish(b, type);
}

Bytes encode_sa2(const Sa2 &sa2)
{
	sadb_x_sa2 s{};
	s.sadb_x_sa2_mode = sa2.mode;
	s.sadb_x_sa2_sequence = sa2.sequence;
	s.sadb_x_sa2_reqid = sa2.reqid;
	Bytes b;
	append(b, s);
	return finish(b, SADB_X_EXT_SA2);
}

// A bare sockaddr of @a's family, as tunnel endpoints are carried.
void append_sockaddr(Bytes &out, const Address &a)
{
	if (a.family == AF_INET6) {
		sockaddr_in6 sin6{};
		sin6.sin6_family = AF_INET6;
		std::memcpy(&sin6.sin6_addr, a.addr.data(), 16);
		append(out, sin6);
	} else {
		sockaddr_in sin{};
		sin.sin_family = static_cast<sa_family_t>(a.family);
		std::memcpy(&sin.sin_addr, a.addr.data(), 4);
		append(out, sin);
	}
}

Bytes encode_policy(const Policy &p)
{
	sadb_x_policy s{};
	s.sadb_x_policy_type = p.type;
	s.sadb_x_policy_dir = p.dir;
	s.sadb_x_policy_id = p.id;
	s.sadb_x_policy_priority = p.priority;
	Bytes b;
	append(b, s);
	for (const auto &r : p.requests) {
		Bytes rq;
		sadb_x_ipsecrequest h{};
		h.sadb_x_ipsecrequest_proto = r.proto;
		h.sadb_x_ipsecrequest_mode = r.mode;
		h.sadb_x_ipsecrequest_level = r.level;
		h.sadb_x_ipsecrequest_reqid = r.reqid;
		append(rq, h);
		if (r.tunnel) {
			append_sockaddr(rq, r.tunnel->first);
			append_sockaddr(rq, r.tunnel->second);
		}
		rq.resize(padded(rq.size()));
		const std::uint16_t len = rq.size();	// bytes, not words
		std::memcpy(rq.data(), &len, sizeof(len));
		b.insert(b.end(), rq.begin(), rq.end());
	}
	return finish(b, SADB_X_EXT_POLICY);
}

Bytes encode_thresh(const ReplayThresh &t)
{
	sadb_x_replay_thresh s{};
	s.sadb_x_replay_thresh_packets = t.packets;
	s.sadb_x_replay_thresh_msecs = t.msecs;
	Bytes b;
	append(b, s);
	return finish(b, SADB_X_EXT_REPLAY_THRESH);
}

Bytes encode_state(const ReplayState &r)
{
	sadb_x_replay_state s{};
	s.sadb_x_replay_state_flags = r.esn ? SADB_X_REPLAY_F_ESN : 0;
	s.sadb_x_replay_state_cause = r.cause;
	s.sadb_x_replay_state_oseq = r.oseq;
	s.sadb_x_replay_state_seq = r.seq;
	s.sadb_x_replay_state_window = r.window;
	Bytes b;
	append(b, s);
	for (std::uint32_t word : r.bitmap)
		append(b, word);
	return finish(b, SADB_X_EXT_REPLAY_STATE);
}

Bytes encode_other(std::uint16_t type, const Bytes &body)
{
	Bytes b(sizeof(sadb_ext));
	b.insert(b.end(), body.begin(), body.end());
	return finish(b, type);
}

// Decoders: @v is one whole extension whose length fits the message.
std::optional<Error> exact(View v, std::size_t size, std::uint16_t type)
{
	if (v.size() != padded(size))
		return invalid(type, "length " + std::to_string(v.size()) +
					     " bytes, expected " +
					     std::to_string(padded(size)));
	return std::nullopt;
}

std::optional<Error> decode_sa(View v, Message &m)
{
	if (auto e = exact(v, sizeof(sadb_sa), SADB_EXT_SA))
		return e;
	const auto s = load<sadb_sa>(v);
	m.sa = Sa{ntohl(s.sadb_sa_spi), s.sadb_sa_replay, s.sadb_sa_state,
		  s.sadb_sa_auth, s.sadb_sa_encrypt, s.sadb_sa_flags};
	return std::nullopt;
}

std::optional<Error> decode_lifetime(View v, std::uint16_t type,
				     std::optional<Lifetime> &out)
{
	if (auto e = exact(v, sizeof(sadb_lifetime), type))
		return e;
	const auto s = load<sadb_lifetime>(v);
	out = Lifetime{s.sadb_lifetime_allocations, s.sadb_lifetime_bytes,
		       s.sadb_lifetime_addtime, s.sadb_lifetime_usetime};
	return std::nullopt;
}

std::optional<Error> decode_address(View v, std::uint16_t type,
				    std::optional<Address> &out)
{
	constexpr std::size_t head = sizeof(sadb_address);

	if (v.size() < head + sizeof(sa_family_t))
		return invalid(type, "too short for an address");
	const auto s = load<sadb_address>(v);
	const auto family = load<sa_family_t>(v.subspan(head));
	Address a{};
	a.family = family;
	a.proto = s.sadb_address_proto;
	a.prefixlen = s.sadb_address_prefixlen;
	if (family == AF_INET) {
		if (auto e = exact(v, head + sizeof(sockaddr_in), type))
			return e;
		const auto sin = load<sockaddr_in>(v.subspan(head));
		std::memcpy(a.addr.data(), &sin.sin_addr, 4);
		a.port = ntohs(sin.sin_port);
		if (a.prefixlen > 32)
			return invalid(type, "IPv4 prefix longer than 32");
	} else if (family == AF_INET6) {
		if (auto e = exact(v, head + sizeof(sockaddr_in6), type))
			return e;
		const auto sin6 = load<sockaddr_in6>(v.subspan(head));
		std::memcpy(a.addr.data(), &sin6.sin6_addr, 16);
		a.port = ntohs(sin6.sin6_port);
		if (a.prefixlen > 128)
			return invalid(type, "IPv6 prefix longer than 128");
	} else {
		return invalid(type, "address family " + std::to_string(family));
	}
	out = a;
	return std::nullopt;
}

std::optional<Error> decode_key(View v, std::uint16_t type,
				std::optional<Key> &out)
{
	if (v.size() < sizeof(sadb_key))
		return invalid(type, "too short for a key");
	const auto s = load<sadb_key>(v);
	const std::size_t bytes = (s.sadb_key_bits + 7) / 8;
	if (auto e = exact(v, sizeof(sadb_key) + bytes, type))
		return e;
	const auto key = v.subspan(sizeof(sadb_key), bytes);
	out = Key{s.sadb_key_bits, Bytes(key.begin(), key.end())};
	return std::nullopt;
}

std::optional<Error> decode_sa2(View v, Message &m)
{
	if (auto e = exact(v, sizeof(sadb_x_sa2), SADB_X_EXT_SA2))
		return e;
	const auto s = load<sadb_x_sa2>(v);
	m.sa2 = Sa2{s.sadb_x_sa2_mode, s.sadb_x_sa2_sequence,
		    s.sadb_x_sa2_reqid};
	return std::nullopt;
}

// Tunnel endpoints: two bare sockaddrs of one family filling @v.
std::optional<Error> decode_endpoints(View v, IpsecRequest &r)
{
	constexpr std::uint16_t type = SADB_X_EXT_POLICY;

	if (v.size() < sizeof(sa_family_t))
		return invalid(type, "tunnel endpoints too short");
	const auto family = load<sa_family_t>(v);
	const std::size_t one = family == AF_INET	 ? sizeof(sockaddr_in)
				: family == AF_INET6 ? sizeof(sockaddr_in6)
						     : 0;
	if (!one)
		return invalid(type, "tunnel endpoint family " + std::to_string(family));
	if (v.size() != padded(2 * one))
		return invalid(type, "tunnel endpoints of " + std::to_string(v.size()) +
					     " bytes");
	Address ends[2];
	for (int i = 0; i < 2; i++) {
		const View sa = v.subspan(i * one, one);
		if (load<sa_family_t>(sa) != family)
			return invalid(type, "tunnel endpoints of two families");
		ends[i].family = family;
		ends[i].prefixlen = family == AF_INET ? 32 : 128;
		if (family == AF_INET) {
			const auto sin = load<sockaddr_in>(sa);
			std::memcpy(ends[i].addr.data(), &sin.sin_addr, 4);
		} else {
			const auto sin6 = load<sockaddr_in6>(sa);
			std::memcpy(ends[i].addr.data(), &sin6.sin6_addr, 16);
		}
	}
	r.tunnel = std::pair{ends[0], ends[1]};
	return std::nullopt;
}

std::optional<Error> decode_policy(View v, Message &m)
{
	constexpr std::uint16_t type = SADB_X_EXT_POLICY;

	if (v.size() < sizeof(sadb_x_policy))
		return invalid(type, "too short for a policy");
	const auto s = load<sadb_x_policy>(v);
	Policy p{s.sadb_x_policy_type, s.sadb_x_policy_dir, s.sadb_x_policy_id,
		 s.sadb_x_policy_priority, {}};

	View rest = v.subspan(sizeof(sadb_x_policy));
	while (!rest.empty()) {
		if (rest.size() < sizeof(sadb_x_ipsecrequest))
			return invalid(type, "truncated IPsec request");
		const auto h = load<sadb_x_ipsecrequest>(rest);
		const std::size_t len = h.sadb_x_ipsecrequest_len;
		if (len < sizeof(h) || len % kWord || len > rest.size())
			return invalid(type, "IPsec request of " + std::to_string(len) +
						     " bytes with " +
						     std::to_string(rest.size()) + " left");
		IpsecRequest r{h.sadb_x_ipsecrequest_proto, h.sadb_x_ipsecrequest_mode,
			       h.sadb_x_ipsecrequest_level, h.sadb_x_ipsecrequest_reqid,
			       std::nullopt};
		if (len > sizeof(h)) {
			if (auto e = decode_endpoints(rest.subspan(sizeof(h), len - sizeof(h)), r))
				return e;
		}
		p.requests.push_back(std::move(r));
		rest = rest.subspan(len);
	}
	m.policy = std::move(p);
	return std::nullopt;
}

std::optional<Error> decode_thresh(View v, Message &m)
{
	constexpr std::uint16_t type = SADB_X_EXT_REPLAY_THRESH;

	if (auto e = exact(v, sizeof(sadb_x_replay_thresh), type))
		return e;
	const auto s = load<sadb_x_replay_thresh>(v);
	if (s.sadb_x_replay_thresh_reserved)
		return invalid(type, "reserved field set");
	m.replay_thresh = ReplayThresh{s.sadb_x_replay_thresh_packets,
				       s.sadb_x_replay_thresh_msecs};
	return std::nullopt;
}

std::optional<Error> decode_state(View v, Message &m)
{
	constexpr std::uint16_t type = SADB_X_EXT_REPLAY_STATE;
	constexpr std::size_t head = sizeof(sadb_x_replay_state);

	if (v.size() < head)
		return invalid(type, "too short for a replay state");
	const auto s = load<sadb_x_replay_state>(v);
	const std::uint32_t window = s.sadb_x_replay_state_window;
	if (window > SADB_X_REPLAY_WINDOW_MAX)
		return invalid(type, "window " + std::to_string(window) +
					     " above the kernel's limit");
	const std::size_t words = (window + 31) / 32;
	if (auto e = exact(v, head + words * sizeof(std::uint32_t), type))
		return e;
	if (s.sadb_x_replay_state_flags & ~SADB_X_REPLAY_F_ESN ||
	    s.sadb_x_replay_state_reserved || s.sadb_x_replay_state_reserved2)
		return invalid(type, "unknown flags or reserved fields set");
	if (s.sadb_x_replay_state_cause > SADB_X_REPLAY_CAUSE_UPDATE)
		return invalid(type, "unknown cause");
	const bool esn = s.sadb_x_replay_state_flags & SADB_X_REPLAY_F_ESN;
	if (!esn && (s.sadb_x_replay_state_oseq >> 32 ||
		     s.sadb_x_replay_state_seq >> 32))
		return invalid(type, "64-bit sequence number without ESN");

	ReplayState r{esn, s.sadb_x_replay_state_cause,
		      s.sadb_x_replay_state_oseq, s.sadb_x_replay_state_seq,
		      window, std::vector<std::uint32_t>(words)};
	if (words)	/* an empty vector's data() may be null */
		std::memcpy(r.bitmap.data(), v.data() + head,
			    words * sizeof(std::uint32_t));
	if (window % 32 && r.bitmap.back() >> (window % 32))
		return invalid(type, "bitmap bits past the window");
	if (words % 2 && load<std::uint32_t>(v.subspan(head + words * 4)))
		return invalid(type, "padding not zero");
	m.replay_state = std::move(r);
	return std::nullopt;
}

std::optional<Error> decode_ext(View v, std::uint16_t type, Message &m)
{
	switch (type) {
	case SADB_EXT_SA:
		return decode_sa(v, m);
	case SADB_EXT_LIFETIME_CURRENT:
		return decode_lifetime(v, type, m.lifetime_current);
	case SADB_EXT_LIFETIME_HARD:
		return decode_lifetime(v, type, m.lifetime_hard);
	case SADB_EXT_LIFETIME_SOFT:
		return decode_lifetime(v, type, m.lifetime_soft);
	case SADB_EXT_ADDRESS_SRC:
		return decode_address(v, type, m.src);
	case SADB_EXT_ADDRESS_DST:
		return decode_address(v, type, m.dst);
	case SADB_EXT_ADDRESS_PROXY:
		return decode_address(v, type, m.proxy);
	case SADB_EXT_KEY_AUTH:
		return decode_key(v, type, m.key_auth);
	case SADB_EXT_KEY_ENCRYPT:
		return decode_key(v, type, m.key_encrypt);
	case SADB_X_EXT_SA2:
		return decode_sa2(v, m);
	case SADB_X_EXT_POLICY:
		return decode_policy(v, m);
	case SADB_X_EXT_REPLAY_THRESH:
		return decode_thresh(v, m);
	case SADB_X_EXT_REPLAY_STATE:
		return decode_state(v, m);
	}
	const auto body = v.subspan(sizeof(sadb_ext));
	m.other[type] = Bytes(body.begin(), body.end());
	return std::nullopt;
}

} // namespace

std::optional<Address> parse_address(const std::string &text)
{
	Address a;

	if (inet_pton(AF_INET, text.c_str(), a.addr.data()) == 1) {
		a.family = AF_INET;
		a.prefixlen = 32;
		return a;
	}
	if (inet_pton(AF_INET6, text.c_str(), a.addr.data()) == 1) {
		a.family = AF_INET6;
		a.prefixlen = 128;
		return a;
	}
	return std::nullopt;
}

std::string to_string(const Address &address)
{
	char buf[INET6_ADDRSTRLEN] = "?";

	inet_ntop(address.family, address.addr.data(), buf, sizeof(buf));
	return buf;
}

std::vector<std::uint8_t> encode(const Message &msg)
{
	std::map<std::uint16_t, Bytes> exts;

	if (msg.sa)
		exts[SADB_EXT_SA] = encode_sa(*msg.sa);
	if (msg.lifetime_current)
		exts[SADB_EXT_LIFETIME_CURRENT] = encode_lifetime(
			*msg.lifetime_current, SADB_EXT_LIFETIME_CURRENT);
	if (msg.lifetime_hard)
		exts[SADB_EXT_LIFETIME_HARD] = encode_lifetime(
			*msg.lifetime_hard, SADB_EXT_LIFETIME_HARD);
	if (msg.lifetime_soft)
		exts[SADB_EXT_LIFETIME_SOFT] = encode_lifetime(
			*msg.lifetime_soft, SADB_EXT_LIFETIME_SOFT);
	if (msg.src)
		exts[SADB_EXT_ADDRESS_SRC] =
			encode_address(*msg.src, SADB_EXT_ADDRESS_SRC);
	if (msg.dst)
		exts[SADB_EXT_ADDRESS_DST] =
			encode_address(*msg.dst, SADB_EXT_ADDRESS_DST);
	if (msg.proxy)
		exts[SADB_EXT_ADDRESS_PROXY] =
			encode_address(*msg.proxy, SADB_EXT_ADDRESS_PROXY);
	if (msg.key_auth)
		exts[SADB_EXT_KEY_AUTH] =
			encode_key(*msg.key_auth, SADB_EXT_KEY_AUTH);
	if (msg.key_encrypt)
		exts[SADB_EXT_KEY_ENCRYPT] =
			encode_key(*msg.key_encrypt, SADB_EXT_KEY_ENCRYPT);
	if (msg.sa2)
		exts[SADB_X_EXT_SA2] = encode_sa2(*msg.sa2);
	if (msg.policy)
		exts[SADB_X_EXT_POLICY] = encode_policy(*msg.policy);
	if (msg.replay_thresh)
		exts[SADB_X_EXT_REPLAY_THRESH] = encode_thresh(*msg.replay_thresh);
	if (msg.replay_state)
		exts[SADB_X_EXT_REPLAY_STATE] = encode_state(*msg.replay_state);
	for (const auto &[type, body] : msg.other)
		exts.try_emplace(type, encode_other(type, body));

	sadb_msg hdr{};
	hdr.sadb_msg_version = PF_KEY_V2;
	hdr.sadb_msg_type = msg.type;
	hdr.sadb_msg_errno = msg.errnum;
	hdr.sadb_msg_reserved = msg.reserved;
	hdr.sadb_msg_satype = msg.satype;
	hdr.sadb_msg_seq = msg.seq;
	hdr.sadb_msg_pid = msg.pid;
	std::size_t size = sizeof(hdr);
	for (const auto &[type, ext] : exts)
		size += ext.size();
	hdr.sadb_msg_len = size / kWord;

	Bytes out(size);
	std::memcpy(out.data(), &hdr, sizeof(hdr));
	std::size_t off = sizeof(hdr);
	for (const auto &[type, ext] : exts) {
		std::memcpy(out.data() + off, ext.data(), ext.size());
		off += ext.size();
	}
	return out;
}

Result<Message> decode(std::span<const std::uint8_t> bytes)
{
	if (bytes.size() < sizeof(sadb_msg) || bytes.size() % kWord)
		return Error{EMSGSIZE, "PF_KEY message of " +
					       std::to_string(bytes.size()) +
					       " bytes"};
	const auto hdr = load<sadb_msg>(bytes);
	if (hdr.sadb_msg_len * kWord != bytes.size())
		return Error{EMSGSIZE, "PF_KEY header says " +
					       std::to_string(hdr.sadb_msg_len *
							      kWord) +
					       " bytes, got " +
					       std::to_string(bytes.size())};
	if (hdr.sadb_msg_version != PF_KEY_V2)
		return Error{EINVAL, "PF_KEY version " + std::to_string(hdr.sadb_msg_version)};

	Message m;
	m.type = hdr.sadb_msg_type;
	m.satype = hdr.sadb_msg_satype;
	m.errnum = hdr.sadb_msg_errno;
	m.reserved = hdr.sadb_msg_reserved;
	m.seq = hdr.sadb_msg_seq;
	m.pid = hdr.sadb_msg_pid;

	std::map<std::uint16_t, bool> seen;
	View rest = bytes.subspan(sizeof(sadb_msg));
	while (!rest.empty()) {
		const auto ext = load<sadb_ext>(rest);
		const std::size_t len = ext.sadb_ext_len * kWord;
		const std::uint16_t type = ext.sadb_ext_type;

		if (!len || len > rest.size())
			return invalid(type, "length " + std::to_string(len) +
						     " with " +
						     std::to_string(rest.size()) +
						     " bytes left");
		if (type == SADB_EXT_RESERVED)
			return invalid(type, "reserved type");
		if (seen[type])
			return invalid(type, "duplicated");
		seen[type] = true;
		if (auto e = decode_ext(rest.first(len), type, m))
			return *e;
		rest = rest.subspan(len);
	}
	return m;
}

} // namespace pfkey
