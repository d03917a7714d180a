// SPDX-License-Identifier: GPL-2.0
#include "replay/xfrm_codec.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <algorithm>
#include <cstring>
#include <libmnl/libmnl.h>
#include <linux/pfkey_replay.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "replay/window.hpp"

namespace replay::xfrm {
namespace {

// XFRMA_REPLAY_ESN_MAX bits at most, as the kernel accepts.
constexpr std::uint32_t kMaxRingWords = XFRMA_REPLAY_ESN_MAX / 32;

Error malformed(const char *what)
{
	return Error{EINVAL, std::string("malformed XFRM message: ") + what};
}

xfrm_address_t to_xfrm(const pfkey::Address &a)
{
	xfrm_address_t x{};

	std::memcpy(&x, a.addr.data(), a.family == AF_INET ? 4 : 16);
	return x;
}

pfkey::Address from_xfrm(const xfrm_address_t &x, int family)
{
	pfkey::Address a;

	a.family = family;
	a.prefixlen = family == AF_INET ? 32 : 128;
	std::memcpy(a.addr.data(), &x, family == AF_INET ? 4 : 16);
	return a;
}

xfrm_usersa_id to_usersa_id(const SaId &id)
{
	xfrm_usersa_id u{};

	u.daddr = to_xfrm(id.dst);
	u.spi = htonl(id.spi);
	u.family = id.dst.family;
	u.proto = id.proto;
	return u;
}

nlmsghdr *put_header(std::span<std::uint8_t> buf, std::uint16_t type,
		     std::uint16_t flags, std::uint32_t seq)
{
	nlmsghdr *nlh = mnl_nlmsg_put_header(buf.data());

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	return nlh;
}

// The kernel looks an SA up with the mark a request carries, none when
// the request has no XFRMA_MARK.
void put_mark(nlmsghdr *nlh, const Mark &mark)
{
	if (!mark.any())
		return;
	const xfrm_mark m{mark.v, mark.m};
	mnl_attr_put(nlh, XFRMA_MARK, sizeof(m), &m);
}

nlmsghdr *put_aevent_id(std::span<std::uint8_t> buf, std::uint16_t type,
			std::uint16_t flags, const SaId &id, std::uint32_t seq,
			std::uint32_t ae_flags)
{
	nlmsghdr *nlh = put_header(buf, type, flags, seq);
	auto *ae = static_cast<xfrm_aevent_id *>(
		mnl_nlmsg_put_extra_header(nlh, sizeof(xfrm_aevent_id)));

	ae->sa_id = to_usersa_id(id);
	ae->saddr = to_xfrm(id.src);
	ae->flags = ae_flags;
	put_mark(nlh, id.mark);
	return nlh;
}

bool family_ok(int family)
{
	return family == AF_INET || family == AF_INET6;
}

// The attributes this backend reads; each at most once.
struct Attrs {
	const nlattr *replay = nullptr;
	const nlattr *replay_esn = nullptr;
	const nlattr *replay_thresh = nullptr;
	const nlattr *etimer_thresh = nullptr;
	const nlattr *mark = nullptr;
};

Result<Attrs> collect(const nlmsghdr *nlh, std::size_t header)
{
	Attrs attrs;
	const char *tail = static_cast<const char *>(mnl_nlmsg_get_payload_tail(nlh));
	auto *attr = static_cast<const nlattr *>(mnl_nlmsg_get_payload_offset(nlh, header));

	// libmnl's mnl_attr_for_each(), which C++ cannot compile.
	for (; mnl_attr_ok(attr, tail - reinterpret_cast<const char *>(attr));
	     attr = mnl_attr_next(attr)) {
		const nlattr **slot = nullptr;
		switch (mnl_attr_get_type(attr)) {
		case XFRMA_REPLAY_VAL:
			slot = &attrs.replay;
			break;
		case XFRMA_REPLAY_ESN_VAL:
			slot = &attrs.replay_esn;
			break;
		case XFRMA_REPLAY_THRESH:
			slot = &attrs.replay_thresh;
			break;
		case XFRMA_ETIMER_THRESH:
			slot = &attrs.etimer_thresh;
			break;
		case XFRMA_MARK:
			slot = &attrs.mark;
			break;
		default:
			continue;
		}
		if (*slot)
			return malformed("duplicate attribute");
		*slot = attr;
	}
	// The walk stops at the first attribute that does not fit.
	if (reinterpret_cast<const char *>(attr) != tail)
		return malformed("truncated attribute");
	return attrs;
}

Result<std::uint32_t> get_u32(const nlattr *attr)
{
	if (mnl_attr_get_payload_len(attr) != sizeof(std::uint32_t))
		return malformed("u32 attribute of the wrong size");
	return mnl_attr_get_u32(attr);
}

Result<Mark> get_mark(const Attrs &attrs)
{
	if (!attrs.mark)
		return Mark{};
	xfrm_mark m;
	if (mnl_attr_get_payload_len(attrs.mark) != sizeof(m))
		return malformed("XFRMA_MARK of the wrong size");
	std::memcpy(&m, mnl_attr_get_payload(attrs.mark), sizeof(m));
	return Mark{m.v, m.m};
}

Result<KernelReplay> get_replay(const Attrs &attrs)
{
	KernelReplay r;

	if (!!attrs.replay == !!attrs.replay_esn)
		return malformed("not exactly one replay state attribute");
	if (attrs.replay) {
		xfrm_replay_state legacy;
		if (mnl_attr_get_payload_len(attrs.replay) != sizeof(legacy))
			return malformed("XFRMA_REPLAY_VAL of the wrong size");
		std::memcpy(&legacy, mnl_attr_get_payload(attrs.replay), sizeof(legacy));
		r.oseq = legacy.oseq;
		r.seq = legacy.seq;
		r.bitmap = {legacy.bitmap};
		return r;
	}

	const std::size_t len = mnl_attr_get_payload_len(attrs.replay_esn);
	xfrm_replay_state_esn esn;
	if (len < sizeof(esn))
		return malformed("XFRMA_REPLAY_ESN_VAL too short");
	std::memcpy(&esn, mnl_attr_get_payload(attrs.replay_esn), sizeof(esn));
	if (esn.bmp_len > kMaxRingWords ||
	    len != sizeof(esn) + esn.bmp_len * sizeof(std::uint32_t) ||
	    esn.replay_window > esn.bmp_len * 32)
		return malformed("XFRMA_REPLAY_ESN_VAL bitmap size");
	r.ring = true;
	r.oseq = esn.oseq;
	r.seq = esn.seq;
	r.oseq_hi = esn.oseq_hi;
	r.seq_hi = esn.seq_hi;
	r.window = esn.replay_window;
	r.bitmap.resize(esn.bmp_len);
	std::memcpy(r.bitmap.data(),
		    static_cast<const std::uint8_t *>(mnl_attr_get_payload(attrs.replay_esn)) +
			    sizeof(esn),
		    esn.bmp_len * sizeof(std::uint32_t));
	return r;
}

template <class Header>
Result<Header> get_header(const nlmsghdr *nlh, std::uint16_t type)
{
	Header h;

	if (nlh->nlmsg_len < NLMSG_HDRLEN ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(h))
		return malformed("shorter than its header");
	if (nlh->nlmsg_type != type)
		return malformed("unexpected message type");
	std::memcpy(&h, mnl_nlmsg_get_payload(nlh), sizeof(h));
	return h;
}

} // namespace

Result<std::vector<const nlmsghdr *>> split(std::span<const std::uint8_t> datagram)
{
	std::vector<const nlmsghdr *> messages;

	while (!datagram.empty()) {
		const auto *nlh = reinterpret_cast<const nlmsghdr *>(datagram.data());
		if (datagram.size() < NLMSG_HDRLEN || nlh->nlmsg_len < NLMSG_HDRLEN ||
		    nlh->nlmsg_len > datagram.size())
			return malformed("message length");
		messages.push_back(nlh);
		datagram = datagram.subspan(std::min<std::size_t>(NLMSG_ALIGN(nlh->nlmsg_len),
								  datagram.size()));
	}
	return messages;
}

// GETSA and DELSA name an SA the same way.
nlmsghdr *put_usersa_id(std::span<std::uint8_t> buf, std::uint16_t type, std::uint16_t flags,
			const SaId &id, std::uint32_t seq)
{
	nlmsghdr *nlh = put_header(buf, type, flags, seq);
	auto *u = static_cast<xfrm_usersa_id *>(
		mnl_nlmsg_put_extra_header(nlh, sizeof(xfrm_usersa_id)));

	*u = to_usersa_id(id);
	put_mark(nlh, id.mark);
	return nlh;
}

nlmsghdr *build_get_sa(std::span<std::uint8_t> buf, const SaId &id, std::uint32_t seq)
{
	return put_usersa_id(buf, XFRM_MSG_GETSA, 0, id, seq);
}

nlmsghdr *build_del_sa(std::span<std::uint8_t> buf, const SaId &id, std::uint32_t seq)
{
	return put_usersa_id(buf, XFRM_MSG_DELSA, NLM_F_ACK, id, seq);
}

nlmsghdr *build_dump_sa(std::span<std::uint8_t> buf, std::uint32_t seq)
{
	return put_header(buf, XFRM_MSG_GETSA, NLM_F_DUMP, seq);
}

nlmsghdr *build_get_ae(std::span<std::uint8_t> buf, const SaId &id, std::uint32_t seq)
{
	return put_aevent_id(buf, XFRM_MSG_GETAE, 0, id, seq,
			     XFRM_AE_RVAL | XFRM_AE_RTHR | XFRM_AE_ETHR);
}

nlmsghdr *build_new_ae(std::span<std::uint8_t> buf, const SaId &id, std::uint32_t seq,
		       const AeUpdate &update)
{
	// The kernel insists on NLM_F_REPLACE for NEWAE.
	nlmsghdr *nlh = put_aevent_id(buf, XFRM_MSG_NEWAE, NLM_F_REPLACE | NLM_F_ACK,
				      id, seq, 0);

	if (update.replay && update.replay->ring) {
		const auto &r = *update.replay;
		std::vector<std::uint8_t> esn(sizeof(xfrm_replay_state_esn) +
					      r.bitmap.size() * sizeof(std::uint32_t));
		xfrm_replay_state_esn head{};
		head.bmp_len = r.bitmap.size();
		head.oseq = r.oseq;
		head.seq = r.seq;
		head.oseq_hi = r.oseq_hi;
		head.seq_hi = r.seq_hi;
		head.replay_window = r.window;
		std::memcpy(esn.data(), &head, sizeof(head));
		std::memcpy(esn.data() + sizeof(head), r.bitmap.data(),
			    r.bitmap.size() * sizeof(std::uint32_t));
		mnl_attr_put(nlh, XFRMA_REPLAY_ESN_VAL, esn.size(), esn.data());
	} else if (update.replay) {
		const auto &r = *update.replay;
		xfrm_replay_state legacy{r.oseq, r.seq, r.bitmap.empty() ? 0 : r.bitmap[0]};
		mnl_attr_put(nlh, XFRMA_REPLAY_VAL, sizeof(legacy), &legacy);
	}
	if (update.packets)
		mnl_attr_put_u32(nlh, XFRMA_REPLAY_THRESH, *update.packets);
	if (update.etimer_jiffies)
		mnl_attr_put_u32(nlh, XFRMA_ETIMER_THRESH, *update.etimer_jiffies);
	return nlh;
}

Result<KernelSa> parse_sa(const nlmsghdr *nlh)
{
	auto info = get_header<xfrm_usersa_info>(nlh, XFRM_MSG_NEWSA);
	if (!info)
		return info.error();
	if (!family_ok(info->family))
		return malformed("unknown address family");
	if (info->replay_window > 32)
		return malformed("legacy window above 32");
	auto attrs = collect(nlh, sizeof(xfrm_usersa_info));
	if (!attrs)
		return attrs.error();
	auto replay = get_replay(*attrs);
	if (!replay)
		return replay.error();
	auto mark = get_mark(*attrs);
	if (!mark)
		return mark.error();

	KernelSa sa;
	sa.id.spi = ntohl(info->id.spi);
	sa.id.proto = info->id.proto;
	sa.id.src = from_xfrm(info->saddr, info->family);
	sa.id.dst = from_xfrm(info->id.daddr, info->family);
	sa.id.mark = *mark;
	sa.reqid = info->reqid;
	sa.esn = info->flags & XFRM_STATE_ESN;
	sa.legacy_window = info->replay_window;
	sa.replay = std::move(*replay);
	return sa;
}

Result<KernelAevent> parse_aevent(const nlmsghdr *nlh)
{
	auto ae = get_header<xfrm_aevent_id>(nlh, XFRM_MSG_NEWAE);
	if (!ae)
		return ae.error();
	if (!family_ok(ae->sa_id.family))
		return malformed("unknown address family");
	auto attrs = collect(nlh, sizeof(xfrm_aevent_id));
	if (!attrs)
		return attrs.error();
	auto replay = get_replay(*attrs);
	if (!replay)
		return replay.error();
	auto mark = get_mark(*attrs);
	if (!mark)
		return mark.error();

	KernelAevent event;
	event.id.spi = ntohl(ae->sa_id.spi);
	event.id.proto = ae->sa_id.proto;
	event.id.src = from_xfrm(ae->saddr, ae->sa_id.family);
	event.id.dst = from_xfrm(ae->sa_id.daddr, ae->sa_id.family);
	event.id.mark = *mark;
	event.reqid = ae->reqid;
	event.flags = ae->flags;
	event.replay = std::move(*replay);
	if (attrs->replay_thresh) {
		auto v = get_u32(attrs->replay_thresh);
		if (!v)
			return v.error();
		event.packets = *v;
	}
	if (attrs->etimer_thresh) {
		auto v = get_u32(attrs->etimer_thresh);
		if (!v)
			return v.error();
		event.deciseconds = *v;
	}
	return event;
}

ReplayState to_canonical(const KernelReplay &replay, bool esn,
			 std::uint32_t legacy_window)
{
	ReplayState s;

	s.esn = esn;
	if (!replay.ring) {
		s.window = legacy_window;
		s.oseq = replay.oseq;
		s.seq = replay.seq;
		s.bitmap.assign((legacy_window + 31) / 32, 0);
		if (legacy_window)
			s.bitmap[0] = replay.bitmap.at(0) &
				      (legacy_window == 32 ? ~0U : (1U << legacy_window) - 1);
		return s;
	}
	s.window = replay.window;
	// Bitmap SAs without ESN never look at the high halves.
	s.oseq = esn ? std::uint64_t(replay.oseq_hi) << 32 | replay.oseq : replay.oseq;
	s.seq = esn ? std::uint64_t(replay.seq_hi) << 32 | replay.seq : replay.seq;
	s.bitmap = ring_to_canonical(replay.bitmap, replay.seq, replay.window);
	return s;
}

KernelReplay to_kernel(const ReplayState &state, const KernelReplay &like)
{
	KernelReplay r = like;

	r.oseq = static_cast<std::uint32_t>(state.oseq);
	r.seq = static_cast<std::uint32_t>(state.seq);
	if (!like.ring) {
		r.bitmap = {state.bitmap.empty() ? 0 : state.bitmap[0]};
		return r;
	}
	if (state.esn) {
		r.oseq_hi = static_cast<std::uint32_t>(state.oseq >> 32);
		r.seq_hi = static_cast<std::uint32_t>(state.seq >> 32);
	}
	r.bitmap = canonical_to_ring(state.bitmap, r.seq, like.window,
				     like.bitmap.size());
	return r;
}

std::uint8_t cause_of(std::uint32_t flags)
{
	if (flags & XFRM_AE_CR)
		return SADB_X_REPLAY_CAUSE_COUNT;
	if (flags & XFRM_AE_CE)
		return SADB_X_REPLAY_CAUSE_TIMER;
	if (flags & XFRM_AE_CU)
		return SADB_X_REPLAY_CAUSE_UPDATE;
	return SADB_X_REPLAY_CAUSE_NONE;
}

} // namespace replay::xfrm
