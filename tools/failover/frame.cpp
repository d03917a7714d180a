// SPDX-License-Identifier: GPL-2.0
#include "frame.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <linux/netlink.h>
#include <linux/pfkey_replay.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "replay/xfrm_codec.hpp"

namespace failover {
namespace {

constexpr std::uint32_t kMagic = 0x53414632;	// "SAF2": SA ids with marks

enum class Type : std::uint8_t {
	hello = 1, snapshot_begin, snapshot_end, sa, policy, sa_delete,
	policy_delete, replay, ack, heartbeat, handover_request, release,
};

Error bad(const std::string &why)
{
	return Error{EPROTO, "sync frame: " + why};
}

class Writer {
public:
	template <class T>
	void put(T v)
	{
		for (int i = sizeof(T) - 1; i >= 0; i--)
			out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
	}
	void put_bytes(std::span<const std::uint8_t> b) { out.insert(out.end(), b.begin(), b.end()); }
	Bytes out;
};

// Reads big-endian fields; any read past the end sets failed and
// returns zeros, checked once at the end.
class Reader {
public:
	explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}

	template <class T>
	T get()
	{
		T v = 0;
		if (in_.size() < sizeof(T)) {
			failed = true;
			in_ = {};
			return 0;
		}
		for (std::size_t i = 0; i < sizeof(T); i++)
			v = static_cast<T>(v << 8 | in_[i]);
		in_ = in_.subspan(sizeof(T));
		return v;
	}
	std::span<const std::uint8_t> get_bytes(std::size_t n)
	{
		if (in_.size() < n) {
			failed = true;
			in_ = {};
			return {};
		}
		auto b = in_.first(n);
		in_ = in_.subspan(n);
		return b;
	}
	bool done() const { return !failed && in_.empty(); }
	bool failed = false;

private:
	std::span<const std::uint8_t> in_;
};

void put_id(Writer &w, const replay::SaId &id)
{
	w.put<std::uint32_t>(id.spi);
	w.put<std::uint8_t>(id.proto);
	w.put<std::uint8_t>(static_cast<std::uint8_t>(id.dst.family));
	w.put_bytes(id.src.addr);
	w.put_bytes(id.dst.addr);
	w.put<std::uint32_t>(id.mark.v);
	w.put<std::uint32_t>(id.mark.m);
}

std::optional<Error> get_address(Reader &r, int family, pfkey::Address &a)
{
	const auto bytes = r.get_bytes(16);
	if (r.failed)
		return bad("truncated address");
	a.family = family;
	a.prefixlen = family == AF_INET ? 32 : 128;
	std::copy(bytes.begin(), bytes.end(), a.addr.begin());
	if (family == AF_INET && std::any_of(a.addr.begin() + 4, a.addr.end(),
					     [](std::uint8_t b) { return b; }))
		return bad("IPv4 address with bytes past 4");
	return std::nullopt;
}

std::optional<Error> get_id(Reader &r, replay::SaId &id)
{
	id.spi = r.get<std::uint32_t>();
	id.proto = r.get<std::uint8_t>();
	const int family = r.get<std::uint8_t>();
	if (r.failed)
		return bad("truncated SA id");
	if (id.proto != IPPROTO_ESP && id.proto != IPPROTO_AH && id.proto != IPPROTO_COMP)
		return bad("SA protocol " + std::to_string(id.proto));
	if (family != AF_INET && family != AF_INET6)
		return bad("address family " + std::to_string(family));
	if (auto e = get_address(r, family, id.src))
		return e;
	if (auto e = get_address(r, family, id.dst))
		return e;
	id.mark.v = r.get<std::uint32_t>();
	id.mark.m = r.get<std::uint32_t>();
	if (r.failed)
		return bad("truncated SA mark");
	return std::nullopt;
}

// One netlink message of @type filling @bytes, at least @min_payload long.
std::optional<Error> check_netlink(std::span<const std::uint8_t> bytes, std::uint16_t type,
				   std::size_t min_payload)
{
	// Netlink parsers expect 4-byte alignment; frames give no such promise.
	std::vector<std::uint32_t> aligned((bytes.size() + 3) / 4);
	if (!bytes.empty())
		std::memcpy(aligned.data(), bytes.data(), bytes.size());
	auto msgs = replay::xfrm::split({reinterpret_cast<const std::uint8_t *>(aligned.data()),
					 bytes.size()});
	if (!msgs || msgs->size() != 1)
		return bad("not exactly one netlink message");
	const nlmsghdr *nlh = msgs->front();
	if (nlh->nlmsg_type != type || nlh->nlmsg_len != bytes.size() ||
	    nlh->nlmsg_len < NLMSG_HDRLEN + min_payload)
		return bad("netlink message of the wrong type or size");
	if (type == XFRM_MSG_NEWSA) {
		if (auto sa = replay::xfrm::parse_sa(nlh); !sa)
			return bad(sa.error().context);
	}
	return std::nullopt;
}

void put_body(Writer &w, const Hello &h)
{
	w.put<std::uint8_t>(static_cast<std::uint8_t>(h.role));
	w.put<std::uint64_t>(h.epoch);
	w.put<std::uint8_t>(static_cast<std::uint8_t>(h.node.size()));
	w.put_bytes({reinterpret_cast<const std::uint8_t *>(h.node.data()), h.node.size()});
	w.put<std::uint8_t>(static_cast<std::uint8_t>(h.sa_owner));
}
void put_body(Writer &w, const SnapshotBegin &b)
{
	w.put<std::uint32_t>(b.sas);
	w.put<std::uint32_t>(b.policies);
}
void put_body(Writer &, const SnapshotEnd &) {}
void put_body(Writer &w, const SaRecord &s) { w.put_bytes(s.netlink); }
void put_body(Writer &w, const PolicyRecord &p) { w.put_bytes(p.netlink); }
void put_body(Writer &w, const SaDelete &d) { put_id(w, d.id); }
void put_body(Writer &w, const PolicyDelete &p) { w.put_bytes(p.netlink); }
void put_body(Writer &w, const ReplayUpdate &u)
{
	put_id(w, u.id);
	w.put<std::uint8_t>(u.thresh ? 1 : 0);
	w.put<std::uint32_t>(u.thresh ? u.thresh->packets : 0);
	w.put<std::uint32_t>(u.thresh ? u.thresh->msecs : 0);
	w.put<std::uint8_t>(u.state.esn ? 1 : 0);
	w.put<std::uint8_t>(u.state.cause);
	w.put<std::uint64_t>(u.state.oseq);
	w.put<std::uint64_t>(u.state.seq);
	w.put<std::uint32_t>(u.state.window);
	for (auto word : u.state.bitmap)
		w.put<std::uint32_t>(word);
	w.put<std::uint64_t>(u.observed_ns);
}
void put_body(Writer &w, const Ack &a) { w.put<std::uint64_t>(a.seq); }
void put_body(Writer &, const Heartbeat &) {}
void put_body(Writer &w, const HandoverRequest &h) { w.put<std::uint64_t>(h.epoch); }
void put_body(Writer &w, const Release &r) { w.put<std::uint64_t>(r.epoch); }

Result<Body> get_hello(Reader &r)
{
	Hello h;
	const auto role = r.get<std::uint8_t>();
	h.epoch = r.get<std::uint64_t>();
	const auto len = r.get<std::uint8_t>();
	const auto name = r.get_bytes(len);
	const auto owner = r.get<std::uint8_t>();
	if (!r.done())
		return bad("hello of the wrong size");
	if (owner != static_cast<std::uint8_t>(SaOwner::safailover) &&
	    owner != static_cast<std::uint8_t>(SaOwner::ike))
		return bad("unknown sa_owner " + std::to_string(owner));
	if (role != static_cast<std::uint8_t>(Role::active) &&
	    role != static_cast<std::uint8_t>(Role::standby))
		return bad("unknown role " + std::to_string(role));
	h.node.assign(name.begin(), name.end());
	if (!valid_node_name(h.node))
		return bad("hello with a node name that is not letters, digits, '.', '-' or '_'");
	h.role = static_cast<Role>(role);
	h.sa_owner = static_cast<SaOwner>(owner);
	return Body{h};
}

Result<Body> get_replay(Reader &r)
{
	ReplayUpdate u;
	if (auto e = get_id(r, u.id))
		return *e;
	const auto has_thresh = r.get<std::uint8_t>();
	const replay::ReplayThresh thresh{r.get<std::uint32_t>(), r.get<std::uint32_t>()};
	const auto esn = r.get<std::uint8_t>();
	u.state.cause = r.get<std::uint8_t>();
	u.state.oseq = r.get<std::uint64_t>();
	u.state.seq = r.get<std::uint64_t>();
	u.state.window = r.get<std::uint32_t>();
	if (r.failed)
		return bad("truncated replay update");
	if (has_thresh > 1 || esn > 1 || u.state.cause > SADB_X_REPLAY_CAUSE_UPDATE)
		return bad("replay update flags");
	if (!has_thresh && (thresh.packets || thresh.msecs))
		return bad("thresholds without their flag");
	if (u.state.window > SADB_X_REPLAY_WINDOW_MAX)
		return bad("replay window " + std::to_string(u.state.window));
	if (!esn && (u.state.oseq >> 32 || u.state.seq >> 32))
		return bad("64-bit sequence number without ESN");
	if (has_thresh)
		u.thresh = thresh;
	u.state.esn = esn;
	u.state.bitmap.resize((u.state.window + 31) / 32);
	for (auto &word : u.state.bitmap)
		word = r.get<std::uint32_t>();
	u.observed_ns = r.get<std::uint64_t>();
	if (!r.done())
		return bad("replay update of the wrong size");
	if (u.state.window % 32 && u.state.bitmap.back() >> (u.state.window % 32))
		return bad("bitmap bits past the window");
	return Body{u};
}

Result<Body> get_body(Type type, std::span<const std::uint8_t> payload)
{
	Reader r(payload);

	switch (type) {
	case Type::hello:
		return get_hello(r);
	case Type::snapshot_begin: {
		SnapshotBegin b{r.get<std::uint32_t>(), r.get<std::uint32_t>()};
		if (!r.done())
			return bad("snapshot header of the wrong size");
		return Body{b};
	}
	case Type::snapshot_end:
	case Type::heartbeat:
		if (!payload.empty())
			return bad("a body where none belongs");
		if (type == Type::heartbeat)
			return Body{Heartbeat{}};
		return Body{SnapshotEnd{}};
	case Type::sa:
		if (auto e = check_netlink(payload, XFRM_MSG_NEWSA, sizeof(xfrm_usersa_info)))
			return *e;
		return Body{SaRecord{Bytes(payload.begin(), payload.end())}};
	case Type::policy:
		if (auto e = check_netlink(payload, XFRM_MSG_NEWPOLICY,
					   sizeof(xfrm_userpolicy_info)))
			return *e;
		return Body{PolicyRecord{Bytes(payload.begin(), payload.end())}};
	case Type::policy_delete:
		if (auto e = check_netlink(payload, XFRM_MSG_DELPOLICY,
					   sizeof(xfrm_userpolicy_id)))
			return *e;
		return Body{PolicyDelete{Bytes(payload.begin(), payload.end())}};
	case Type::sa_delete: {
		SaDelete d;
		if (auto e = get_id(r, d.id))
			return *e;
		if (!r.done())
			return bad("SA delete of the wrong size");
		return Body{d};
	}
	case Type::replay:
		return get_replay(r);
	case Type::ack: {
		Ack a{r.get<std::uint64_t>()};
		if (!r.done())
			return bad("ack of the wrong size");
		return Body{a};
	}
	case Type::handover_request:
	case Type::release: {
		const auto epoch = r.get<std::uint64_t>();
		if (!r.done())
			return bad("handover frame of the wrong size");
		if (type == Type::release)
			return Body{Release{epoch}};
		return Body{HandoverRequest{epoch}};
	}
	}
	return bad("unknown frame type " + std::to_string(static_cast<int>(type)));
}

} // namespace

bool valid_node_name(std::string_view name)
{
	// Not a leading '.': OpenSSL's host check would take it for a
	// whole domain, which any of its names matches.
	return !name.empty() && name.size() <= 255 && name.front() != '.' &&
	       std::all_of(name.begin(), name.end(), [](char c) {
		       return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
	       });
}

Bytes encode(const Frame &frame)
{
	Writer body;
	std::visit([&](const auto &b) { put_body(body, b); }, frame.body);

	Writer w;
	w.put<std::uint32_t>(kMagic);
	w.put<std::uint8_t>(static_cast<std::uint8_t>(frame.body.index() + 1));
	w.put<std::uint8_t>(0);		// flags
	w.put<std::uint16_t>(0);	// reserved
	w.put<std::uint32_t>(static_cast<std::uint32_t>(body.out.size()));
	w.put<std::uint64_t>(frame.seq);
	w.put_bytes(body.out);
	return w.out;
}

void Decoder::feed(std::span<const std::uint8_t> bytes)
{
	if (offset_ && offset_ == buffer_.size()) {
		buffer_.clear();
		offset_ = 0;
	}
	buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

Result<std::optional<Frame>> Decoder::next()
{
	const std::span<const std::uint8_t> rest = std::span(buffer_).subspan(offset_);
	if (rest.size() < kHeaderSize)
		return std::optional<Frame>{};
	Reader r(rest.first(kHeaderSize));
	const auto magic = r.get<std::uint32_t>();
	const auto type = r.get<std::uint8_t>();
	const auto flags = r.get<std::uint8_t>();
	const auto reserved = r.get<std::uint16_t>();
	const auto length = r.get<std::uint32_t>();
	const auto seq = r.get<std::uint64_t>();
	if (magic != kMagic)
		return bad("bad magic");
	if (flags || reserved)
		return bad("flags or reserved bits set");
	if (length > kMaxBody)
		return bad("body of " + std::to_string(length) + " bytes");
	if (type < 1 || type > std::variant_size_v<Body>)
		return bad("unknown frame type " + std::to_string(type));
	if (rest.size() < kHeaderSize + length)
		return std::optional<Frame>{};

	auto body = get_body(static_cast<Type>(type), rest.subspan(kHeaderSize, length));
	if (!body)
		return body.error();
	offset_ += kHeaderSize + length;
	if (offset_ > (1U << 20)) {	// keep the buffer from growing for good
		buffer_.erase(buffer_.begin(), buffer_.begin() + offset_);
		offset_ = 0;
	}
	return std::optional<Frame>{Frame{seq, std::move(*body)}};
}

Result<Frame> decode(std::span<const std::uint8_t> bytes)
{
	Decoder d;
	d.feed(bytes);
	auto f = d.next();
	if (!f)
		return f.error();
	if (!*f || encode(**f).size() != bytes.size())
		return bad("not exactly one frame");
	return std::move(**f);
}

} // namespace failover
