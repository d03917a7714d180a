// SPDX-License-Identifier: GPL-2.0
#include "kernel_tables.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <libmnl/libmnl.h>
#include <linux/ipsec.h>
#include <linux/xfrm.h>
#include <netinet/in.h>

#include "replay/xfrm_codec.hpp"

namespace failover {
namespace {

using namespace std::chrono_literals;

Bytes copy_message(const nlmsghdr *nlh, std::uint16_t type)
{
	const auto *p = reinterpret_cast<const std::uint8_t *>(nlh);
	Bytes b(p, p + nlh->nlmsg_len);
	auto *h = reinterpret_cast<nlmsghdr *>(b.data());
	h->nlmsg_type = type;
	h->nlmsg_flags = 0;
	h->nlmsg_seq = 0;
	h->nlmsg_pid = 0;
	return b;
}

// Copies of netlink messages are only 1-aligned; read fields by memcpy.
template <class T>
T payload(std::span<const std::uint8_t> message)
{
	T t{};
	std::memcpy(&t, message.data() + NLMSG_HDRLEN,
		    std::min(sizeof(T), message.size() - NLMSG_HDRLEN));
	return t;
}

// The first attribute @type of a message whose fixed part is @head bytes,
// if it has one of at least sizeof(T) bytes.
template <class T>
std::optional<T> attribute(std::span<const std::uint8_t> netlink, std::size_t head,
				  std::uint16_t type)
{
	// Copies are only 1-aligned: walk an aligned copy.
	std::vector<std::uint32_t> aligned((netlink.size() + 3) / 4);
	std::memcpy(aligned.data(), netlink.data(), netlink.size());
	auto *nlh = reinterpret_cast<nlmsghdr *>(aligned.data());
	head = NLMSG_ALIGN(head);
	if (nlh->nlmsg_len > netlink.size() || nlh->nlmsg_len < NLMSG_HDRLEN + head)
		return std::nullopt;
	auto *attr = static_cast<nlattr *>(mnl_nlmsg_get_payload_offset(nlh, head));
	const char *tail = static_cast<const char *>(mnl_nlmsg_get_payload_tail(nlh));
	for (; mnl_attr_ok(attr, tail - reinterpret_cast<const char *>(attr));
	     attr = mnl_attr_next(attr)) {
		if (mnl_attr_get_type(attr) == type && mnl_attr_get_payload_len(attr) >= sizeof(T)) {
			T t;
			std::memcpy(&t, mnl_attr_get_payload(attr), sizeof(t));
			return t;
		}
	}
	return std::nullopt;
}

// The XFRMA_POLICY attribute of a DELPOLICY event, if it has one.
std::optional<xfrm_userpolicy_info> policy_attribute(std::span<const std::uint8_t> netlink)
{
	return attribute<xfrm_userpolicy_info>(netlink, sizeof(xfrm_userpolicy_id), XFRMA_POLICY);
}

// The SA's mark in a NEWSA message (or a DELSA event, @head its header).
replay::Mark mark_of(std::span<const std::uint8_t> netlink, std::size_t head)
{
	const auto m = attribute<xfrm_mark>(netlink, head, XFRMA_MARK);
	return m ? replay::Mark{m->v, m->m} : replay::Mark{};
}

// What the kernel tells policies apart by (xfrm_policy_bysel_ctx()), but
// for the policy type and security context, which safailover does not
// sync: the selector, the direction, the mark and the interface id. Two
// xfrmi tunnels carry the same 0.0.0.0/0 policies but for their if_id.
struct PolicyId {
	xfrm_selector sel{};
	std::uint8_t dir = 0;
	xfrm_mark mark{};
	std::uint32_t if_id = 0;
};

// The mark and interface id of a policy message whose fixed part is @head.
void read_policy_tags(PolicyId &id, std::span<const std::uint8_t> netlink, std::size_t head)
{
	id.mark = attribute<xfrm_mark>(netlink, head, XFRMA_MARK).value_or(xfrm_mark{});
	id.if_id = attribute<std::uint32_t>(netlink, head, XFRMA_IF_ID).value_or(0);
}

// The policy a NEWPOLICY message or a DELPOLICY event names. A DELPOLICY
// event of a policy deleted by index (PF_KEY SPDDELETE2) has no selector
// in its header; its XFRMA_POLICY attribute has.
PolicyId policy_id_of(std::span<const std::uint8_t> netlink)
{
	PolicyId id;
	std::uint16_t type;

	std::memcpy(&type, netlink.data() + offsetof(nlmsghdr, nlmsg_type), sizeof(type));
	if (type == XFRM_MSG_DELPOLICY) {
		const auto u = payload<xfrm_userpolicy_id>(netlink);
		id.sel = u.sel;
		id.dir = u.dir;
		if (const auto info = policy_attribute(netlink)) {
			id.sel = info->sel;
			id.dir = info->dir;
		}
		read_policy_tags(id, netlink, sizeof(xfrm_userpolicy_id));
	} else {
		const auto info = payload<xfrm_userpolicy_info>(netlink);
		id.sel = info.sel;
		id.dir = info.dir;
		read_policy_tags(id, netlink, sizeof(xfrm_userpolicy_info));
	}
	return id;
}

// An XFRM_MSG_DELPOLICY of @id into @buf (MNL_SOCKET_BUFFER_SIZE bytes):
// by selector, with the mark and interface id the policy has.
nlmsghdr *put_del_policy(void *buf, const PolicyId &id)
{
	nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = XFRM_MSG_DELPOLICY;
	auto *u = static_cast<xfrm_userpolicy_id *>(
		mnl_nlmsg_put_extra_header(nlh, sizeof(xfrm_userpolicy_id)));
	u->sel = id.sel;
	u->dir = id.dir;
	if (id.mark.v || id.mark.m)
		mnl_attr_put(nlh, XFRMA_MARK, sizeof(id.mark), &id.mark);
	if (id.if_id)
		mnl_attr_put_u32(nlh, XFRMA_IF_ID, id.if_id);
	return nlh;
}

} // namespace

Result<KernelTables> KernelTables::open()
{
	auto sock = replay::xfrm::Socket::open();
	if (!sock)
		return sock.error();
	return KernelTables(std::move(*sock));
}

Result<std::vector<Bytes>> KernelTables::dump(std::uint16_t type, const char *what)
{
	std::vector<Bytes> out;
	nlmsghdr *nlh = mnl_nlmsg_put_header(tx_.data());
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	const std::uint16_t reply = type == XFRM_MSG_GETSA ? XFRM_MSG_NEWSA : XFRM_MSG_NEWPOLICY;
	auto done = sock_.transact(nlh, what, [&](const nlmsghdr *m) -> Result<std::monostate> {
		if (m->nlmsg_type == reply)
			out.push_back(copy_message(m, reply));
		return std::monostate{};
	});
	if (!done)
		return done.error();
	return out;
}

Result<std::vector<Bytes>> KernelTables::dump_sas()
{
	return dump(XFRM_MSG_GETSA, "XFRM_MSG_GETSA dump");
}

Result<std::vector<Bytes>> KernelTables::dump_policies()
{
	return dump(XFRM_MSG_GETPOLICY, "XFRM_MSG_GETPOLICY dump");
}

nlmsghdr *KernelTables::request(std::span<const std::uint8_t> message, std::uint16_t type,
				std::uint16_t flags)
{
	std::memcpy(tx_.data(), message.data(), message.size());
	auto *nlh = reinterpret_cast<nlmsghdr *>(tx_.data());
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_pid = 0;
	return nlh;
}

Result<std::monostate> KernelTables::install_sa(std::span<const std::uint8_t> newsa,
					      Existing existing)
{
	auto added = sock_.transact(request(newsa, XFRM_MSG_NEWSA, 0), "XFRM_MSG_NEWSA");
	if (added || added.error().code != EEXIST || existing == Existing::keep)
		return added;
	if (auto gone = delete_sa(sa_id_of(newsa)); !gone && gone.error().code != ESRCH)
		return gone;
	return sock_.transact(request(newsa, XFRM_MSG_NEWSA, 0), "XFRM_MSG_NEWSA");
}

Result<std::monostate> KernelTables::delete_sa(const replay::SaId &id)
{
	const std::span<std::uint8_t> buf(reinterpret_cast<std::uint8_t *>(tx_.data()),
					  tx_.size() * sizeof(tx_[0]));
	return sock_.transact(replay::xfrm::build_del_sa(buf, id, 0), "XFRM_MSG_DELSA");
}

// PF_KEY makes templates that allow every algorithm with a flag (allalgs)
// and zero masks; netlink shows only the masks, and a template restored
// with zero masks allows none (copy_templates() in xfrm_user.c). Zero
// masks mean "all" here: nothing else makes them.
static void allow_all_algorithms(nlmsghdr *nlh)
{
	const std::size_t head = sizeof(xfrm_userpolicy_info);
	auto *attr = static_cast<nlattr *>(mnl_nlmsg_get_payload_offset(nlh, head));
	const char *tail = static_cast<const char *>(mnl_nlmsg_get_payload_tail(nlh));

	for (; mnl_attr_ok(attr, tail - reinterpret_cast<const char *>(attr));
	     attr = mnl_attr_next(attr)) {
		if (mnl_attr_get_type(attr) != XFRMA_TMPL)
			continue;
		auto *t = static_cast<xfrm_user_tmpl *>(mnl_attr_get_payload(attr));
		const std::size_t n = mnl_attr_get_payload_len(attr) / sizeof(*t);
		for (std::size_t i = 0; i < n; i++)
			if (!t[i].aalgos && !t[i].ealgos && !t[i].calgos)
				t[i].aalgos = t[i].ealgos = t[i].calgos = ~0U;
	}
}

Result<std::monostate> KernelTables::install_policy(std::span<const std::uint8_t> newpolicy)
{
	nlmsghdr *nlh = request(newpolicy, XFRM_MSG_UPDPOLICY, 0);
	auto *info = static_cast<xfrm_userpolicy_info *>(mnl_nlmsg_get_payload(nlh));
	info->index = 0;
	allow_all_algorithms(nlh);
	return sock_.transact(nlh, "XFRM_MSG_UPDPOLICY");
}

Result<std::monostate> KernelTables::install_blocking(std::span<const std::uint8_t> newpolicy)
{
	nlmsghdr *nlh = request(newpolicy, XFRM_MSG_UPDPOLICY, 0);
	auto *info = static_cast<xfrm_userpolicy_info *>(mnl_nlmsg_get_payload(nlh));
	info->index = 0;
	info->action = XFRM_POLICY_BLOCK;
	return sock_.transact(nlh, "XFRM_MSG_UPDPOLICY (block)");
}

Result<std::monostate> KernelTables::delete_policy(std::span<const std::uint8_t> policy)
{
	nlmsghdr *nlh = put_del_policy(tx_.data(), policy_id_of(policy));
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	return sock_.transact(nlh, "XFRM_MSG_DELPOLICY");
}

Result<std::monostate> KernelTables::flush()
{
	nlmsghdr *nlh = mnl_nlmsg_put_header(tx_.data());
	nlh->nlmsg_type = XFRM_MSG_FLUSHSA;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	auto *f = static_cast<xfrm_usersa_flush *>(mnl_nlmsg_put_extra_header(nlh, sizeof(xfrm_usersa_flush)));
	f->proto = IPSEC_PROTO_ANY;
	if (auto done = sock_.transact(nlh, "XFRM_MSG_FLUSHSA"); !done)
		return done;
	nlh = mnl_nlmsg_put_header(tx_.data());
	nlh->nlmsg_type = XFRM_MSG_FLUSHPOLICY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	return sock_.transact(nlh, "XFRM_MSG_FLUSHPOLICY");
}

Result<KernelEvents> KernelEvents::open()
{
	// Hard expiries are not DELSA/DELPOLICY events: only EXPIRE says so.
	auto sock = replay::xfrm::Socket::open(1U << (XFRMNLGRP_SA - 1) |
					       1U << (XFRMNLGRP_POLICY - 1) |
					       1U << (XFRMNLGRP_EXPIRE - 1));
	if (!sock)
		return sock.error();
	sock->grow_receive_buffer(8 << 20);
	return KernelEvents(std::move(*sock));
}

Result<std::vector<Body>> KernelEvents::receive()
{
	auto datagram = sock_.receive(0ms);
	if (!datagram)
		return datagram.error();
	return frames_of_events(*datagram);
}

Result<std::vector<Body>> frames_of_events(std::span<const std::uint8_t> datagram)
{
	auto messages = replay::xfrm::split(datagram);
	if (!messages)
		return messages.error();

	std::vector<Body> out;
	for (const nlmsghdr *nlh : *messages) {
		switch (nlh->nlmsg_type) {
		case XFRM_MSG_NEWSA:
		case XFRM_MSG_UPDSA:
			out.push_back(SaRecord{copy_message(nlh, XFRM_MSG_NEWSA)});
			break;
		case XFRM_MSG_EXPIRE: {
			const auto m = copy_message(nlh, XFRM_MSG_EXPIRE);
			const auto e = payload<xfrm_user_expire>(m);
			if (!e.hard || m.size() < NLMSG_HDRLEN + sizeof(xfrm_user_expire))
				break;
			// xfrm_user_expire starts with the SA's xfrm_usersa_info,
			// but its attributes follow the whole expire header.
			replay::SaId id = sa_id_of(m);
			id.mark = mark_of(m, sizeof(xfrm_user_expire));
			out.push_back(SaDelete{id});
			break;
		}
		case XFRM_MSG_POLEXPIRE: {
			const auto m = copy_message(nlh, XFRM_MSG_POLEXPIRE);
			const auto e = payload<xfrm_user_polexpire>(m);
			if (!e.hard || m.size() < NLMSG_HDRLEN + sizeof(xfrm_user_polexpire))
				break;
			PolicyId id;
			id.sel = e.pol.sel;
			id.dir = e.pol.dir;
			read_policy_tags(id, m, sizeof(xfrm_user_polexpire));
			std::vector<std::uint32_t> buf(MNL_SOCKET_BUFFER_SIZE / 4);
			const nlmsghdr *del = put_del_policy(buf.data(), id);
			out.push_back(PolicyDelete{copy_message(del, XFRM_MSG_DELPOLICY)});
			break;
		}
		case XFRM_MSG_DELSA: {
			const auto m = copy_message(nlh, XFRM_MSG_DELSA);
			const auto u = payload<xfrm_usersa_id>(m);
			replay::SaId id;
			id.spi = ntohl(u.spi);
			id.proto = u.proto;
			id.dst.family = u.family;
			id.dst.prefixlen = u.family == AF_INET ? 32 : 128;
			std::memcpy(id.dst.addr.data(), &u.daddr, u.family == AF_INET ? 4 : 16);
			id.mark = mark_of(m, sizeof(xfrm_usersa_id));
			out.push_back(SaDelete{id});
			break;
		}
		case XFRM_MSG_NEWPOLICY:
		case XFRM_MSG_UPDPOLICY:
			out.push_back(PolicyRecord{copy_message(nlh, XFRM_MSG_NEWPOLICY)});
			break;
		case XFRM_MSG_DELPOLICY:
			out.push_back(PolicyDelete{copy_message(nlh, XFRM_MSG_DELPOLICY)});
			break;
		case XFRM_MSG_FLUSHSA:
		case XFRM_MSG_FLUSHPOLICY:
			return Error{ESTALE, "SAD or SPD flushed"};
		}
	}
	return out;
}

replay::SaId sa_id_of(std::span<const std::uint8_t> newsa)
{
	const auto info = payload<xfrm_usersa_info>(newsa);
	replay::SaId id;
	id.spi = ntohl(info.id.spi);
	id.proto = info.id.proto;
	const std::size_t len = info.family == AF_INET ? 4 : 16;
	for (auto *a : {&id.src, &id.dst}) {
		a->family = info.family;
		a->prefixlen = info.family == AF_INET ? 32 : 128;
	}
	std::memcpy(id.src.addr.data(), &info.saddr, len);
	std::memcpy(id.dst.addr.data(), &info.id.daddr, len);
	id.mark = mark_of(newsa, sizeof(xfrm_usersa_info));
	return id;
}

bool policy_blocks(std::span<const std::uint8_t> newpolicy)
{
	if (newpolicy.size() < NLMSG_LENGTH(sizeof(xfrm_userpolicy_info)))
		return false;
	return payload<xfrm_userpolicy_info>(newpolicy).action == XFRM_POLICY_BLOCK;
}

Bytes policy_key(std::span<const std::uint8_t> netlink)
{
	const PolicyId id = policy_id_of(netlink);
	Bytes key(sizeof(id.sel) + sizeof(id.dir) + sizeof(id.mark) + sizeof(id.if_id));
	std::uint8_t *at = key.data();
	for (auto [field, size] : {std::pair<const void *, std::size_t>{&id.sel, sizeof(id.sel)},
				   {&id.dir, sizeof(id.dir)},
				   {&id.mark, sizeof(id.mark)},
				   {&id.if_id, sizeof(id.if_id)}}) {
		std::memcpy(at, field, size);
		at += size;
	}
	return key;
}

} // namespace failover
