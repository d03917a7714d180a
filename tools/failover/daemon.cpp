// SPDX-License-Identifier: GPL-2.0
// The daemon's loop, its links and what comes over them (daemon_impl.hpp).
#include "daemon_impl.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <mutex>
#include <poll.h>
#include <sys/socket.h>

#include "log.hpp"
#include "stall_watch.hpp"
#include "takeover.hpp"

namespace failover {

using namespace std::chrono_literals;

namespace {

volatile std::sig_atomic_t stop_requested = 0;

// Replay notifications read per pass of the loop.
constexpr std::size_t kMaxEventsPerPoll = 4096;

} // namespace

Result<std::monostate> DaemonImpl::start()
{
	if (cfg_.metrics) {
		// Without metrics the daemon still fails over.
		auto http = MetricsServer::start(metrics_, *cfg_.metrics);
		if (http)
			metrics_http_ = std::move(*http);
		else
			log("error", "metrics_listen_failed",
			    {{"port", std::to_string(cfg_.metrics->port)}});
	}
	log("info", "start",
	    {{"node", cfg_.node}, {"backend", std::string(replay::name(backend_->kind()))},
	     {"role", cfg_.initial_role == Role::active ? "active" : "standby"}});
	// Every node listens, whatever its role: two standbys must be able
	// to meet, or a node wanted active that stood down for a peer
	// which then stood down too would hear nobody (handover()).
	auto fd = listen_on(cfg_.listen);
	if (!fd)
		return fd.error();
	listen_fd_ = *fd;
	if (cfg_.initial_role == Role::active) {
		wanted_active_ = true;
		if (auto r = become_active(); !r)
			return r.error();
		return egress_.open("started active");
	}
	// Before anything else: a standby sends no ESP.
	return egress_.stop("started standby");
}

int DaemonImpl::run()
{
	std::signal(SIGINT, [](int) { stop_requested = 1; });
	std::signal(SIGTERM, [](int) { stop_requested = 1; });
	std::signal(SIGPIPE, SIG_IGN);
	while (!stop_requested) {
		if (role_ == Role::standby)
			maybe_connect();
		poll_once();
		housekeeping();
		if (stand_down_due_) {
			stand_down_due_ = false;
			if (role_ == Role::active)
				stand_down("handover requested");
		}
		if (takeover_due_) {
			takeover_due_ = false;
			if (auto r = takeover(); !r)
				log("error", "takeover_failed", {{"reason", r.error().message()}});
		}
	}
	log("info", "stop", {{"node", cfg_.node}});
	return 0;
}

// ---- the loop ----
void DaemonImpl::poll_once()
{
	std::vector<pollfd> fds;
	fds.push_back({control_.fd(), POLLIN, 0});
	fds.push_back({listen_fd_, POLLIN, 0});
	fds.push_back({role_ == Role::active ? backend_->event_fd() : -1, POLLIN, 0});
	fds.push_back({events_ ? events_->fd() : -1, POLLIN, 0});
	for (const auto &l : links_)
		fds.push_back({l.conn.fd(), l.conn.poll_events(), 0});

	// A wait of 50 ms that lasted seconds: this node did not run
	// (a stalled VM or host), and its peers' frames sat unread.
	// None when notifications are left from the last batch.
	const bool replay_pending = replay_pending_ && role_ == Role::active;
	const auto wait = replay_pending ? 0ms : 50ms;
	const auto before = Clock::now();
	const int ready = ::poll(fds.data(), fds.size(), wait.count());
	const auto stalled = overslept(before, wait, 250ms, Clock::now());
	stalled_since_active_rx_ += stalled;
	for (auto &l : links_)
		l.stalled_since_rx += stalled;
	if (ready < 0)
		return;
	if (fds[0].revents)
		serve_control();
	if (fds[1].revents)
		accept_peer();
	// Replay events first: a notification the kernel queued before
	// it deleted the SA must not reach a standby after the deletion
	// (it would make the SA again there, without its record).
	if ((fds[2].revents || replay_pending) && role_ == Role::active)
		drain_replay();
	// SAD events wait for the notifications queued before them:
	// poll() shows them again next pass.
	if (fds[3].revents && events_ && !(replay_pending_ && role_ == Role::active))
		drain_kernel_events();
	// Links may be dropped while walking them; go backwards.
	const std::size_t first = 4;
	for (std::size_t i = fds.size(); i-- > first;) {
		const std::size_t li = i - first;
		// A resync or a stand-down may have dropped or replaced
		// links since the poll: revents go to the link they are for.
		if (li >= links_.size() || links_[li].conn.fd() != fds[i].fd || !fds[i].revents ||
		    !links_[li].superseded.empty())
			continue;
		if (auto r = service(links_[li], fds[i].revents); !r)
			drop(li, r.error());
	}
}

void DaemonImpl::housekeeping()
{
	const auto now = Clock::now();
	for (auto &l : links_) {
		if (l.conn.established() && l.hello_received && now - l.last_tx >= cfg_.heartbeat)
			send(l, Heartbeat{});
		l.flush();
	}
	// Standby: an active that says nothing for 3 heartbeats is gone.
	// Active: so is a standby that takes as long to read and ack
	// (only standbys ack: another active, in a split brain that is
	// healing, never does).
	drop_superseded();
	for (std::size_t i = links_.size(); i-- > 0;) {
		const Link &l = links_[i];
		// Frames that came while this node was busy elsewhere (a
		// long snapshot for another standby, say) are no silence:
		// the next poll reads them.
		if (l.conn.unread())
			continue;
		if (l.silence(now) > 3 * cfg_.heartbeat + 2s) {
			drop(i, Error{ETIMEDOUT, "no frames from " + l.conn.peer});
			continue;
		}
		if (role_ != Role::active || !l.hello_received || l.remote != Role::standby)
			continue;
		if (auto backlog = l.backlogged(now, 3 * cfg_.heartbeat + 2s))
			drop(i, *backlog);
	}
	// Wanted active but standing by (it handed over, or it was
	// released while the link was down): a standby peer that stood
	// down too is asked for its final numbers; with no active and no
	// answer, somebody must still carry the traffic.
	if (role_ == Role::standby && wanted_active_ && !takeover_due_)
		ask_standby_peer();
	if (role_ == Role::standby && wanted_active_ && !takeover_due_ &&
	    now - last_active_rx_ - stalled_since_active_rx_ >
		    3 * cfg_.heartbeat + 2s + cfg_.handover_timeout) {
		log("warning", "no_active", {{"since_ms", std::to_string(static_cast<long>(
							 seconds_since(last_active_rx_) * 1000))}});
		takeover_due_ = true;
	}
	egress_.keep(now, role_ == Role::active);
	if (now - rate_window_ >= 1s) {
		std::lock_guard g(metrics_.lock);
		metrics_.notifications_per_s = notes_in_window_ /
			std::chrono::duration<double>(now - rate_window_).count();
		notes_in_window_ = 0;
		rate_window_ = now;
	}
	publish_metrics();
}

void DaemonImpl::broadcast(const Body &body)
{
	for (auto &l : links_)
		if (l.hello_received && l.remote == Role::standby && l.superseded.empty())
			send(l, body);
}

void DaemonImpl::drop(std::size_t i, const Error &why)
{
	log("warning", "sync_link_down", {{"peer", links_[i].conn.peer},
					  {"node", links_[i].node},
					  {"reason", why.message()}});
	// The snapshot this link was sending will not end: its next one
	// starts over on another.
	const int fd = links_[i].conn.fd();
	links_.erase(links_.begin() + static_cast<std::ptrdiff_t>(i));
	standby_.link_lost(fd);
	if (role_ == Role::standby)
		dialer_.back_off(Clock::now());
}

// A standby asked to resync: every link goes (a snapshot in progress
// is interrupted as any other), and it reconnects now for a fresh one.
void DaemonImpl::resync_from_active()
{
	for (std::size_t i = links_.size(); i-- > 0;)
		drop(i, Error{ECONNABORTED, "resync asked"});
	dialer_.reset(Clock::now());
}

Result<std::monostate> DaemonImpl::service(Link &l, short revents)
{
	const bool was_up = l.conn.established();
	// A peer that sends its last frames and closes (a Release, then
	// close_notify) is read to the end: the frames that came before
	// the close are handled before the close is reported.
	auto progressed = l.conn.progress(revents);
	if (!progressed && !l.conn.established()) {
		if (progressed.error().code == EACCES)
			log("error", "tls_refused", {{"peer", l.conn.peer},
						     {"reason", progressed.error().context}});
		return progressed;
	}
	if (!l.conn.established())
		return std::monostate{};
	if (!was_up) {
		log("info", "tls_established", {{"peer", l.conn.peer}});
		send(l, Hello{role_, epoch_, cfg_.node, cfg_.sa_owner});
	}
	std::uint64_t applied = 0;
	for (;;) {
		auto body = l.receive();
		if (!body)
			return body.error();
		if (!*body)
			break;
		if (l.remote == Role::active) {
			last_active_rx_ = l.last_rx;
			stalled_since_active_rx_ = {};
		}
		if (auto r = handle(l, std::move(**body)); !r)
			return r;
		applied++;
		// A long batch (a snapshot a resync installs SA by SA) is
		// acked as it goes: the active hears from this node at
		// least once a heartbeat and does not drop it as silent.
		if (role_ == Role::standby && l.remote == Role::active &&
		    Clock::now() - l.last_tx >= cfg_.heartbeat) {
			send(l, Ack{l.rx_seq});
			l.flush();
		}
	}
	if (!progressed)
		return progressed;
	// Acks are for the active's bookkeeping; only standbys send them.
	if (applied && role_ == Role::standby && l.remote == Role::active)
		send(l, Ack{l.rx_seq});
	l.flush();
	return std::monostate{};
}

Result<std::monostate> DaemonImpl::handle(Link &l, Body body)
{
	if (!l.hello_received) {
		if (auto refused = hello_refusal(body, cfg_, [&](const std::string &node) {
			    return l.conn.peer_is(node);
		    }))
			return *refused;
		const auto *hello = std::get_if<Hello>(&body);
		if (auto second = keep_one_link(links_, l, cfg_.node, hello->node))
			return *second;
		l.hello_received = true;
		l.remote = hello->role;
		l.node = hello->node;
		epoch_ = std::max(epoch_, hello->epoch);
		log("info", "peer_hello", {{"peer", l.conn.peer}, {"node", l.node},
					   {"role", hello->role == Role::active ? "active" : "standby"},
					   {"epoch", std::to_string(hello->epoch)}});
		if (role_ == Role::active && l.remote == Role::standby)
			return send_snapshot(l);
		if (role_ == Role::standby && l.remote == Role::active) {
			standby_.spend_release();
			return hand_back_counters(l);
		}
		if (role_ == Role::standby)
			return std::monostate{};	// two standbys: housekeeping
		return Error{EAGAIN, "peer " + l.node + " is active too"};
	}
	if (role_ == Role::active)
		return handle_as_active(l, body);
	if (l.remote == Role::standby)
		return handle_standby_peer(l, body);
	return heard(body, l.conn.fd());
}

void DaemonImpl::drop_superseded()
{
	for (std::size_t i = links_.size(); i-- > 0;)
		if (!links_[i].superseded.empty())
			drop(i, Error{EALREADY, links_[i].superseded});
}

Result<std::monostate> DaemonImpl::handle_as_active(Link &l, const Body &body)
{
	if (const auto *ack = std::get_if<Ack>(&body))
		return l.acked_up_to(ack->seq);
	if (std::holds_alternative<Heartbeat>(body))
		return std::monostate{};
	if (const auto *u = std::get_if<ReplayUpdate>(&body))
		return catch_up(*u);
	if (const auto *h = std::get_if<HandoverRequest>(&body)) {
		// Standing down would stop nothing here (the IKE daemon's
		// policies stay) and promise nothing: keepalived decides.
		if (ike_owned()) {
			log("warning", "handover_refused",
			    {{"node", l.node}, {"reason", "the IKE daemon owns the policies"}});
			return std::monostate{};
		}
		log("info", "handover_requested", {{"node", l.node},
						   {"epoch", std::to_string(h->epoch)}});
		stand_down_due_ = true;
		return std::monostate{};
	}
	return Error{EPROTO, "a standby sent a frame only an active sends"};
}

// ---- standby ----
// A frame of an active (or numbers and a Release from a standby peer
// that was asked for them), into this standby's state.
Result<std::monostate> DaemonImpl::heard(Body &body, int link_fd)
{
	const auto *release = std::get_if<Release>(&body);
	const std::uint64_t release_epoch = release ? release->epoch : 0;
	auto change = standby_.apply(body, link_fd, Clock::now());
	if (!change)
		return change.error();
	switch (*change) {
	case StandbyState::Change::snapshot_began: {
		std::lock_guard g(metrics_.lock);
		metrics_.snapshots++;
		break;
	}
	case StandbyState::Change::numbers: {
		notes_in_window_++;
		std::lock_guard g(metrics_.lock);
		metrics_.notifications++;
		break;
	}
	case StandbyState::Change::released:
		return released(release_epoch);
	case StandbyState::Change::snapshot_ended:
	case StandbyState::Change::none:
		break;
	}
	return std::monostate{};
}

Result<std::monostate> DaemonImpl::released(std::uint64_t epoch)
{
	epoch_ = std::max(epoch_, epoch);
	log("info", "released", {{"epoch", std::to_string(epoch)},
				 {"sas", std::to_string(standby_.view().sas.size())}});
	// Taken up by the loop, not here: a takeover drops the links
	// this frame is being read from.
	if (wanted_active_)
		takeover_due_ = true;
	// The last frame of that active: closing the link is what the
	// releasing node waits for before it closes its end.
	return Error{ESHUTDOWN, "released by the active"};
}

void DaemonImpl::maybe_connect()
{
	if (!has_own_link(links_) && dialer_.due(cfg_.peers, Clock::now()))
		connect_now();
}

void DaemonImpl::connect_now()
{
	const Endpoint &peer = dialer_.next(cfg_.peers, Clock::now());
	auto c = Connection::connect(client_, peer);
	if (!c) {
		log("warning", "connect_failed", {{"peer", peer.host}, {"reason", c.error().message()}});
		dialer_.back_off(Clock::now());
		return;
	}
	links_.emplace_back(std::move(*c));
	links_.back().outbound = true;
}

// ---- active ----
// Active: a standby's numbers from its time as active (split brain).
Result<std::monostate> DaemonImpl::catch_up(const ReplayUpdate &u)
{
	ShadowSa sa;
	sa.id = u.id;
	if (auto r = set_forward(*backend_, tables_, sa, u.state, "caught_up");
	    !r && r.error().code != ESRCH)
		log("error", "catch_up_failed", {{"sa", sa_text(u.id)},
						 {"reason", r.error().message()}});
	return std::monostate{};
}

void DaemonImpl::accept_peer()
{
	sockaddr_storage from{};
	socklen_t len = sizeof(from);
	const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr *>(&from), &len,
				 SOCK_CLOEXEC);
	if (fd < 0)
		return;
	const auto pending = std::count_if(links_.begin(), links_.end(),
					   [](const Link &l) { return !l.hello_received; });
	const Admission a = admit(from, cfg_.peers, static_cast<std::size_t>(pending));
	if (a.refused) {
		log("warning", "connection_refused", {{"peer", a.peer}, {"reason", *a.refused}});
		::close(fd);
		return;
	}
	auto c = Connection::accept(server_, fd);
	if (!c) {
		log("error", "accept_failed", {{"reason", c.error().message()}});
		return;
	}
	links_.emplace_back(std::move(*c));
}

Result<std::monostate> DaemonImpl::send_snapshot(Link &l)
{
	// SAs owned by an IKE daemon: their records (and keys) are its
	// HA's to sync; only the numbers go.
	const auto begins_at = l.conn.bytes_sent + l.conn.queued();
	auto snapshot = feed_.snapshot(!ike_owned(), [&](Body frame) { send(l, std::move(frame)); });
	if (!snapshot)
		return snapshot.error();
	l.snapshot_begins_at = begins_at;
	l.snapshot_ends_at = l.conn.bytes_sent + l.conn.queued();
	log("info", "snapshot_sent", {{"peer", l.conn.peer}, {"node", l.node},
				      {"sas", std::to_string(snapshot->sas)},
				      {"policies", std::to_string(snapshot->policies)}});
	std::lock_guard g(metrics_.lock);
	metrics_.snapshots++;
	metrics_.sas = snapshot->sas;
	metrics_.policies = snapshot->policies;
	return std::monostate{};
}

void DaemonImpl::resync_all(const char *why)
{
	log("warning", "resync", {{"reason", why}});
	for (std::size_t i = links_.size(); i-- > 0;)
		if (links_[i].hello_received)
			if (auto r = send_snapshot(links_[i]); !r)
				drop(i, r.error());
}

void DaemonImpl::drain_replay()
{
	auto drained = feed_.drain(kMaxEventsPerPoll);
	replay_pending_ = drained.more;
	for (const auto &u : drained.updates)
		broadcast(u);
	notes_in_window_ += drained.notifications;
	std::lock_guard g(metrics_.lock);
	metrics_.notifications += drained.notifications;
	metrics_.overruns += drained.overruns;
}

void DaemonImpl::drain_kernel_events()
{
	auto bodies = events_->receive();
	if (!bodies) {
		// Events lost, or the SAD flushed: read it again.
		if (bodies.error().code == ENOBUFS || bodies.error().code == ESTALE)
			feed_.reread_names();
		if (bodies.error().code == ENOBUFS)
			egress_.resweep();
		if (bodies.error().code == ENOBUFS || bodies.error().code == ESTALE)
			resync_all(bodies.error().code == ENOBUFS ? "SAD/SPD events lost"
								  : "SAD or SPD flushed");
		else if (bodies.error().code != ETIMEDOUT)
			log("error", "kernel_events", {{"reason", bodies.error().message()}});
		return;
	}
	for (auto &b : *bodies) {
		if (const auto *r = std::get_if<SaRecord>(&b)) {
			move_late_sa(sa_id_of(r->netlink));
			feed_.sa_added(sa_id_of(r->netlink));
		} else if (const auto *d = std::get_if<SaDelete>(&b)) {
			feed_.sa_deleted(d->id);
		}
		// With an IKE daemon's SAs a standby needs to hear of
		// deletions only (to forget their numbers).
		if (!ike_owned() || std::holds_alternative<SaDelete>(b))
			broadcast(b);
	}
}

Result<std::unique_ptr<Daemon>> Daemon::create(Config config)
{
	auto tables = KernelTables::open();
	if (!tables)
		return tables.error();
	auto server = TlsContext::create(config, true);
	if (!server)
		return server.error();
	auto client = TlsContext::create(config, false);
	if (!client)
		return client.error();
	auto backend = replay::open(config.backend);
	if (!backend)
		return backend.error();
	// Removed by its owner only: a daemon refused here leaves the running
	// one's socket alone.
	auto control = ControlServer::open(config.control_socket);
	if (!control)
		return control.error();
	std::optional<EspFence> fence;
	if (config.esp_fence) {
		auto f = EspFence::create();
		if (!f)
			return Error{f.error().code, "ESP fence: " + f.error().message()};
		fence.emplace(std::move(*f));
	}
	auto d = std::make_unique<DaemonImpl>(std::move(config), std::move(*tables),
					      std::move(*server), std::move(*client),
					      std::move(*backend), std::move(*control),
					      std::move(fence));
	if (auto r = d->start(); !r)
		return r.error();
	return std::unique_ptr<Daemon>(std::move(d));
}

} // namespace failover
