// SPDX-License-Identifier: GPL-2.0
// The backend over XFRM netlink (XFRM_MSG_GETSA/GETAE/NEWAE and the AEVENTS
// group), for kernels without the PF_KEY replay extension. The rules the
// extension applies in the kernel are applied here, before writing.
#include <algorithm>
#include <array>
#include <cerrno>
#include <deque>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <map>
#include <tuple>

#include "replay/backend.hpp"
#include "replay/window.hpp"
#include "replay/xfrm_codec.hpp"
#include "replay/xfrm_socket.hpp"

namespace replay {
namespace {

using namespace std::chrono_literals;

// The SA as the kernel knows it: SaId without the source address, which
// XFRM lookups do not use.
using SaKey = std::tuple<std::uint32_t, std::uint8_t, int, std::array<std::uint8_t, 16>,
			 std::uint32_t, std::uint32_t>;

SaKey key_of(const SaId &id)
{
	return {id.spi, id.proto, id.dst.family, id.dst.addr, id.mark.v, id.mark.m};
}

// What an SA's notifications do not say about it.
struct Layout {
	bool esn = false;
	std::uint32_t legacy_window = 0;
};

struct Snapshot {
	Layout layout;
	xfrm::KernelAevent ae;
	SaReplay view;
};

class NetlinkBackend final : public Backend {
public:
	explicit NetlinkBackend(xfrm::Socket requests) : requests_(std::move(requests)) {}

	Kind kind() const override { return Kind::netlink; }

	Result<SaReplay> get(const SaId &id) override
	{
		auto snap = snapshot(id);
		if (!snap)
			return snap.error();
		return snap->view;
	}

	Result<std::vector<SaReplay>> dump(std::uint8_t proto) override
	{
		std::vector<xfrm::KernelSa> sas;
		auto done = requests_.transact(xfrm::build_dump_sa(tx_, 0), "XFRM_MSG_GETSA dump",
				     [&](const nlmsghdr *nlh) -> Result<std::monostate> {
					     auto sa = xfrm::parse_sa(nlh);
					     if (!sa)
						     return sa.error();
					     if (sa->id.proto == proto)
						     sas.push_back(std::move(*sa));
					     return std::monostate{};
				     });
		if (!done)
			return done.error();

		std::vector<SaReplay> out;
		for (const auto &sa : sas) {
			auto snap = snapshot(sa.id);
			if (!snap && snap.error().code == ESRCH)
				continue;	// deleted since the dump
			if (!snap)
				return snap.error();
			out.push_back(std::move(snap->view));
		}
		return out;
	}

	Result<SaReplay> set_thresh(const SaId &id, const ReplayThresh &thresh) override
	{
		xfrm::AeUpdate update;

		// NEWAE would set an unmarked SA of the same SPI in its place.
		if (id.mark.any()) {
			if (auto sa = get_sa(id); !sa)
				return sa.error();
		}
		update.packets = thresh.packets;
		update.etimer_jiffies = 0;
		if (thresh.msecs) {
			auto hz = kernel_hz(id);
			if (!hz)
				return hz.error();
			const std::uint64_t jiffies =
				(std::uint64_t(thresh.msecs) * *hz + 999) / 1000;
			if (jiffies > UINT32_MAX)
				return Error{ERANGE, "replay timer threshold"};
			update.etimer_jiffies = static_cast<std::uint32_t>(jiffies);
		}
		auto done = new_ae(id, update);
		if (!done)
			return done.error();
		return get(id);
	}

	Result<SaReplay> set_state(const SaId &id, const ReplayState &state) override
	{
		auto now = snapshot(id);
		if (!now)
			return now.error();
		auto next = merge_forward(now->view.state, state);
		if (!next)
			return next.error();

		xfrm::AeUpdate update;
		update.replay = xfrm::to_kernel(*next, now->ae.replay);
		auto done = new_ae(id, update);
		if (!done)
			return done.error();
		return get(id);
	}

	Result<std::monostate> subscribe() override
	{
		auto sock = xfrm::Socket::open(1U << (XFRMNLGRP_AEVENTS - 1));
		if (!sock)
			return sock.error();
		sock->grow_receive_buffer(8 << 20);
		events_ = std::move(*sock);
		// Events of an earlier subscription are not news of this one.
		backlog_.clear();
		return std::monostate{};
	}

	int event_fd() const override
	{
		return events_ ? events_->fd() : -1;
	}

	Result<Event> next_event(std::chrono::milliseconds timeout) override
	{
		if (!events_)
			return Error{EINVAL, "next_event() before subscribe()"};
		// A datagram with no aevent in it (an SA gone already) does not
		// restart the wait: @timeout bounds the whole call.
		const auto deadline = std::chrono::steady_clock::now() + timeout;
		while (backlog_.empty()) {
			const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
				deadline - std::chrono::steady_clock::now());
			auto got = receive_events(std::max(left, std::chrono::milliseconds(0)));
			if (!got)
				return got.error();
		}
		Event e = std::move(backlog_.front());
		backlog_.pop_front();
		return e;
	}

private:
	// The kernel matches (mark & SA's mask) == SA's value: an unmarked SA
	// answers for any mark. The SA asked for is not there.
	static Error not_this_mark(const char *what)
	{
		return Error{ESRCH, std::string(what) + ": only an SA of another mark"};
	}

	Result<xfrm::KernelSa> get_sa(const SaId &id)
	{
		std::optional<xfrm::KernelSa> sa;
		auto done = requests_.transact(xfrm::build_get_sa(tx_, id, 0), "XFRM_MSG_GETSA",
				     [&](const nlmsghdr *nlh) -> Result<std::monostate> {
					     auto parsed = xfrm::parse_sa(nlh);
					     if (!parsed)
						     return parsed.error();
					     if (parsed->id.mark != id.mark)
						     return not_this_mark("XFRM_MSG_GETSA");
					     sa = std::move(*parsed);
					     return std::monostate{};
				     });
		if (!done) {
			if (done.error().code == ESRCH)
				layouts_.erase(key_of(id));
			return done.error();
		}
		if (!sa)
			return Error{EPROTO, "XFRM_MSG_GETSA: no reply"};
		// A cache, not a table: SAs that are gone leave it when asked for,
		// and it never grows past kMaxLayouts (an SA deleted without being
		// asked for again would otherwise stay for good).
		if (layouts_.size() >= kMaxLayouts)
			layouts_.clear();
		layouts_[key_of(sa->id)] = Layout{sa->esn, sa->legacy_window};
		return std::move(*sa);
	}

	Result<xfrm::KernelAevent> get_ae(const SaId &id)
	{
		std::optional<xfrm::KernelAevent> ae;
		auto done = requests_.transact(xfrm::build_get_ae(tx_, id, 0), "XFRM_MSG_GETAE",
				     [&](const nlmsghdr *nlh) -> Result<std::monostate> {
					     auto parsed = xfrm::parse_aevent(nlh);
					     if (!parsed)
						     return parsed.error();
					     if (parsed->id.mark != id.mark)
						     return not_this_mark("XFRM_MSG_GETAE");
					     ae = std::move(*parsed);
					     return std::monostate{};
				     });
		if (!done)
			return done.error();
		if (!ae)
			return Error{EPROTO, "XFRM_MSG_GETAE: no reply"};
		return std::move(*ae);
	}

	Result<std::monostate> new_ae(const SaId &id, const xfrm::AeUpdate &update)
	{
		return requests_.transact(xfrm::build_new_ae(tx_, id, 0, update), "XFRM_MSG_NEWAE");
	}

	// GETSA for the layout, GETAE for thresholds and a state read under
	// the SA's lock.
	Result<Snapshot> snapshot(const SaId &id)
	{
		auto sa = get_sa(id);
		if (!sa)
			return sa.error();
		auto ae = get_ae(id);
		if (!ae)
			return ae.error();

		Snapshot s;
		s.layout = Layout{sa->esn, sa->legacy_window};
		s.view.id = sa->id;
		s.view.reqid = sa->reqid;
		if (ae->packets && ae->deciseconds)
			s.view.thresh = ReplayThresh{*ae->packets, *ae->deciseconds * 100};
		s.view.state = xfrm::to_canonical(ae->replay, sa->esn, sa->legacy_window);
		s.ae = std::move(*ae);
		return s;
	}

	// NEWAE takes the timer threshold in jiffies and GETAE reports it in
	// 1/10 s, so HZ is measured once, on the SA about to be changed.
	Result<std::uint32_t> kernel_hz(const SaId &id)
	{
		constexpr std::uint32_t kProbeJiffies = 1000000;

		if (hz_)
			return *hz_;
		xfrm::AeUpdate probe;
		probe.etimer_jiffies = kProbeJiffies;
		auto done = new_ae(id, probe);
		if (!done)
			return done.error();
		auto ae = get_ae(id);
		if (!ae)
			return ae.error();
		if (!ae->deciseconds || !*ae->deciseconds)
			return Error{EPROTO, "XFRM_MSG_GETAE without a timer threshold"};
		hz_ = (kProbeJiffies * 10 + *ae->deciseconds / 2) / *ae->deciseconds;
		return *hz_;
	}

	Result<std::monostate> receive_events(std::chrono::milliseconds timeout)
	{
		auto datagram = events_->receive(timeout);
		if (!datagram && datagram.error().code == ENOBUFS) {
			backlog_.push_back(Overrun{});
			return std::monostate{};
		}
		if (!datagram)
			return datagram.error();
		auto messages = xfrm::split(*datagram);
		if (!messages)
			return messages.error();
		for (const nlmsghdr *nlh : *messages) {
			if (nlh->nlmsg_type != XFRM_MSG_NEWAE)
				continue;
			auto ae = xfrm::parse_aevent(nlh);
			if (!ae)
				return ae.error();
			auto layout = layout_of(ae->id);
			if (!layout && layout.error().code == ESRCH)
				continue;	// the SA is gone already
			if (!layout)
				return layout.error();
			SaReplay sa;
			sa.id = ae->id;
			sa.reqid = ae->reqid;
			sa.state = xfrm::to_canonical(ae->replay, layout->esn,
						      layout->legacy_window);
			sa.state.cause = xfrm::cause_of(ae->flags);
			backlog_.push_back(std::move(sa));
		}
		return std::monostate{};
	}

	Result<Layout> layout_of(const SaId &id)
	{
		if (auto it = layouts_.find(key_of(id)); it != layouts_.end())
			return it->second;
		auto sa = get_sa(id);
		if (!sa)
			return sa.error();
		return Layout{sa->esn, sa->legacy_window};
	}

	xfrm::Socket requests_;
	std::optional<xfrm::Socket> events_;
	std::optional<std::uint32_t> hz_;
	static constexpr std::size_t kMaxLayouts = 1 << 17;
	std::map<SaKey, Layout> layouts_;
	std::deque<Event> backlog_;
	// The largest request, NEWAE with a 4096-bit ring, is about 700 bytes.
	std::array<std::uint8_t, 8192> tx_{};
};

} // namespace

Result<std::unique_ptr<Backend>> open_netlink()
{
	auto sock = xfrm::Socket::open();
	if (!sock)
		return sock.error();
	return std::unique_ptr<Backend>(new NetlinkBackend(std::move(*sock)));
}

} // namespace replay
