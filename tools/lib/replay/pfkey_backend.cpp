// SPDX-License-Identifier: GPL-2.0
// The backend over the PF_KEY replay extension: the kernel checks and
// applies every rule itself, atomically. Requests and notifications use two
// registered sockets: notifications queued on one socket would otherwise
// crowd out the replies to requests (the kernel drops both alike when the
// queue is full).
#include <cerrno>
#include <linux/pfkey_replay.h>
#include <linux/pfkeyv2.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "replay/backend.hpp"

namespace replay {
namespace {

std::uint8_t satype_of(std::uint8_t proto)
{
	return proto == IPPROTO_AH ? SADB_SATYPE_AH : SADB_SATYPE_ESP;
}

std::uint8_t proto_of(std::uint8_t satype)
{
	return satype == SADB_SATYPE_AH ? IPPROTO_AH : IPPROTO_ESP;
}

Result<SaReplay> to_sa_replay(const pfkey::Message &m)
{
	if (!m.sa || !m.src || !m.dst || !m.replay_state)
		return Error{EPROTO, "PF_KEY message without SA, addresses or replay state"};

	SaReplay r;
	r.id = SaId{m.sa->spi, proto_of(m.satype), *m.src, *m.dst, {}};
	r.reqid = m.sa2 ? m.sa2->reqid : 0;
	r.thresh = m.replay_thresh;
	r.state = *m.replay_state;
	return r;
}

class PfkeyBackend final : public Backend {
public:
	PfkeyBackend(pfkey::Socket requests, pfkey::Socket events)
		: requests_(std::move(requests)), sock_(std::move(events))
	{
	}

	Kind kind() const override { return Kind::pfkey; }

	Result<SaReplay> get(const SaId &id) override
	{
		return send(id, request(SADB_GET, id));
	}

	Result<std::vector<SaReplay>> dump(std::uint8_t proto) override
	{
		requests_.discard_pending();
		auto msgs = requests_.dump(satype_of(proto));
		if (!msgs)
			return msgs.error();
		std::vector<SaReplay> sas;
		for (const auto &m : *msgs) {
			auto sa = to_sa_replay(m);
			if (!sa)
				return sa.error();
			sas.push_back(std::move(*sa));
		}
		return sas;
	}

	Result<SaReplay> set_thresh(const SaId &id, const ReplayThresh &thresh) override
	{
		auto req = request(SADB_X_SET_REPLAY, id);
		req.replay_thresh = thresh;
		return send(id, req);
	}

	Result<SaReplay> set_state(const SaId &id, const ReplayState &state) override
	{
		auto req = request(SADB_X_SET_REPLAY, id);
		req.replay_state = state;
		req.replay_state->cause = 0;
		return send(id, req);
	}

	// Registration happened in open(): it is the probe.
	Result<std::monostate> subscribe() override { return std::monostate{}; }

	int event_fd() const override { return sock_.fd(); }

	Result<Event> next_event(std::chrono::milliseconds timeout) override
	{
		const auto deadline = std::chrono::steady_clock::now() + timeout;

		for (;;) {
			const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
				deadline - std::chrono::steady_clock::now());
			auto event = sock_.next_event(std::max(left, std::chrono::milliseconds(0)));
			if (!event)
				return event.error();
			if (std::holds_alternative<Overrun>(*event))
				return Event{Overrun{}};
			const auto &m = std::get<pfkey::Message>(*event);
			if (m.type != SADB_X_REPLAY_NOTIFY)
				continue;	// other key managers' traffic
			auto sa = to_sa_replay(m);
			if (!sa)
				return sa.error();
			return Event{std::move(*sa)};
		}
	}

private:
	static pfkey::Message request(std::uint8_t type, const SaId &id)
	{
		pfkey::Message m;

		m.type = type;
		m.satype = satype_of(id.proto);
		m.sa = pfkey::Sa{id.spi, 0, 0, 0, 0, 0};
		m.src = id.src;
		m.dst = id.dst;
		return m;
	}

	// af_key looks SAs up with mark 0 (DUMMY_MARK): a marked SA is found
	// only if its value is 0, and an unmarked one of the same SPI may answer
	// in its place. Refused, marked at all.
	Result<SaReplay> send(const SaId &id, const pfkey::Message &m)
	{
		if (id.mark.any())
			return Error{EOPNOTSUPP, "PF_KEY cannot name an SA with an XFRM mark"};
		requests_.discard_pending();
		auto reply = requests_.request(m);
		if (!reply)
			return reply.error();
		return to_sa_replay(*reply);
	}

	pfkey::Socket requests_;
	pfkey::Socket sock_;	// notifications
};

} // namespace

// A PF_KEY socket registered for the extension: its replies carry the
// thresholds and replay state. EINVAL: the kernel has no extension.
static Result<pfkey::Socket> open_registered()
{
	auto sock = pfkey::Socket::open();
	if (!sock)
		return sock.error();
	auto reg = sock->register_replay();
	if (!reg) {
		auto e = reg.error();
		if (e.code == EINVAL)
			e.context = "this kernel's PF_KEY has no replay extension";
		return e;
	}
	return std::move(*sock);
}

Result<std::unique_ptr<Backend>> open_pfkey()
{
	auto requests = open_registered();
	if (!requests)
		return requests.error();
	auto events = open_registered();
	if (!events)
		return events.error();
	// Room for bursts of notifications; SO_RCVBUFFORCE passes rmem_max
	// with CAP_NET_ADMIN, which a PF_KEY socket needs anyway.
	const int rcvbuf = 8 << 20;
	if (setsockopt(events->fd(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
		setsockopt(events->fd(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	return std::unique_ptr<Backend>(new PfkeyBackend(std::move(*requests), std::move(*events)));
}

} // namespace replay
