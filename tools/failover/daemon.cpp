// SPDX-License-Identifier: GPL-2.0
#include "daemon.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <mutex>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <optional>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "active_feed.hpp"
#include "control_server.hpp"
#include "egress_control.hpp"
#include "kernel_tables.hpp"
#include "log.hpp"
#include "metrics.hpp"
#include "pair_release.hpp"
#include "peer_links.hpp"
#include "shadow_table.hpp"
#include "standby_state.hpp"
#include "stall_watch.hpp"
#include "stand_down.hpp"
#include "sync_link.hpp"
#include "takeover.hpp"
#include "replay/xfrm_codec.hpp"
#include "tls.hpp"

namespace failover {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

volatile std::sig_atomic_t stop_requested = 0;

double seconds_since(Clock::time_point t)
{
	return std::chrono::duration<double>(Clock::now() - t).count();
}

// Replay notifications read per pass of the loop.
constexpr std::size_t kMaxEventsPerPoll = 4096;

class DaemonImpl final : public Daemon {
public:
	DaemonImpl(Config config, KernelTables tables, TlsContext server, TlsContext client,
		   std::unique_ptr<replay::Backend> backend, ControlServer control,
		   std::optional<EspFence> fence)
		: cfg_(std::move(config)), tables_(std::move(tables)), server_(std::move(server)),
		  client_(std::move(client)), backend_(std::move(backend)),
		  control_(std::move(control)), egress_(std::move(fence), *backend_, tables_)
	{
	}

	~DaemonImpl() override
	{
		if (listen_fd_ >= 0)
			::close(listen_fd_);
	}

	Result<std::monostate> start()
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

	int run() override
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

private:
	// An IKE daemon installs and deletes the SAs and policies on every
	// node (config.hpp): this daemon writes neither.
	bool ike_owned() const { return cfg_.sa_owner == SaOwner::ike; }

	// ---- the loop ----
	void poll_once()
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

	void housekeeping()
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

	// Only an active waits for acks (standbys ack, actives do not).
	void send(Link &l, Body body) { l.send(std::move(body), role_ == Role::active); }

	void broadcast(const Body &body)
	{
		for (auto &l : links_)
			if (l.hello_received && l.remote == Role::standby && l.superseded.empty())
				send(l, body);
	}

	void drop(std::size_t i, const Error &why)
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
	void resync_from_active()
	{
		for (std::size_t i = links_.size(); i-- > 0;)
			drop(i, Error{ECONNABORTED, "resync asked"});
		dialer_.reset(Clock::now());
	}

	Result<std::monostate> service(Link &l, short revents)
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

	Result<std::monostate> handle(Link &l, Body body)
	{
		if (!l.hello_received) {
			if (auto refused = hello_refusal(body, cfg_, [&](const std::string &node) {
				    return l.conn.peer_certificate_names(node);
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
		return heard(l, body);
	}

	void drop_superseded()
	{
		for (std::size_t i = links_.size(); i-- > 0;)
			if (!links_[i].superseded.empty())
				drop(i, Error{EALREADY, links_[i].superseded});
	}

	// ---- two standbys (pair_release.hpp) ----
	// Asks the standby peer for its numbers, once per link. True when it
	// was asked, now or before.
	bool ask_standby_peer()
	{
		if (cfg_.peers.size() != 1)
			return false;
		for (auto &l : links_) {
			if (!l.conn.established() || !l.hello_received || l.remote != Role::standby ||
			    !l.superseded.empty())
				continue;
			if (!l.asked_to_release) {
				l.asked_to_release = true;
				log("info", "release_asked", {{"node", l.node}});
				send(l, HandoverRequest{epoch_ + 1});
				l.flush();
			}
			return true;
		}
		return false;
	}

	Result<std::monostate> handle_standby_peer(Link &l, Body &body)
	{
		if (std::holds_alternative<Heartbeat>(body))
			return std::monostate{};
		if (std::holds_alternative<HandoverRequest>(body))
			return release_to_standby(l);
		if (!l.asked_to_release)
			return Error{EPROTO, "numbers from a standby that was not asked for them"};
		if (std::holds_alternative<ReplayUpdate>(body))
			return heard(l, body);
		if (std::holds_alternative<Release>(body)) {
			// Asked while wanted active, answered after it no longer is:
			// not kept, for it could outlive the other node's next takeover.
			if (!wanted_active_)
				return Error{ESHUTDOWN, "released by the standby " + l.node + ", no longer wanted"};
			return heard(l, body);
		}
		return Error{EPROTO, "a standby sent a frame only an active sends"};
	}

	std::string release_refusal()
	{
		ReleaseFacts facts;
		facts.ike_owned = ike_owned();
		facts.wanted_active = wanted_active_;
		facts.peers = cfg_.peers.size();
		facts.active_connected =
			std::any_of(links_.begin(), links_.end(), [](const Link &o) {
				return o.hello_received && o.remote == Role::active && o.superseded.empty();
			});
		facts.numbers_final = stood_down_complete_ || standby_.synced();
		return failover::release_refusal(facts, tables_);
	}

	Result<std::monostate> release_to_standby(Link &l)
	{
		if (const auto why = release_refusal(); !why.empty()) {
			log("warning", "release_refused", {{"node", l.node}, {"reason", why}});
			return Error{EBUSY, "release refused"};
		}
		// Its kernel's numbers (final: nothing is sent here) and what it
		// heard from the last active; the other node merges forward.
		std::uint64_t sent = 0;
		for (const auto &u : feed_.table()) {
			send(l, u);
			sent++;
		}
		for (const auto &[key, sa] : standby_.view().sas) {
			send(l, ReplayUpdate{sa.id, sa.thresh, sa.state, observed_now_ns()});
			sent++;
		}
		send(l, Release{epoch_});
		// Vouched for and given away: a Release this node holds (from
		// the other node's earlier stand-down) is spent.
		standby_.spend_release();
		log("info", "released_to_standby", {{"node", l.node}, {"numbers", std::to_string(sent)}});
		// As an active's stand-down: the other end closes after the
		// Release; wait for that rather than reset it.
		const auto finish_by = Clock::now() + cfg_.handover_timeout;
		drain(l, finish_by);
		l.conn.finish(std::chrono::duration_cast<std::chrono::milliseconds>(
			std::max(finish_by - Clock::now(), Clock::duration::zero())));
		return Error{ESHUTDOWN, "released to the standby " + l.node};
	}

	Result<std::monostate> handle_as_active(Link &l, const Body &body)
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
	Result<std::monostate> heard(Link &l, Body &body)
	{
		const auto *release = std::get_if<Release>(&body);
		const std::uint64_t release_epoch = release ? release->epoch : 0;
		auto change = standby_.apply(body, l.conn.fd(), Clock::now());
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

	Result<std::monostate> released(std::uint64_t epoch)
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

	void maybe_connect()
	{
		if (!has_own_link(links_) && dialer_.due(cfg_.peers, Clock::now()))
			connect_now();
	}

	void connect_now()
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

	// ---- takeover and roles ----
	// Becomes active. With a reachable active, a handover: it stops and
	// sends its final numbers, which are set exactly. Without one, the
	// last numbers heard plus the margin (margin.hpp). An SA whose numbers
	// cannot be set is deleted, so it carries no traffic, and the
	// takeover reports failure.
	Result<std::monostate> takeover()
	{
		wanted_active_ = true;
		takeover_due_ = false;
		if (role_ == Role::active) {
			// A fence a failed takeover left closed: the numbers were
			// set then; only the fence did not follow.
			if (egress_.fenced())
				return egress_.open("takeover again");
			return std::monostate{};
		}
		const auto started = Clock::now();
		// The IKE daemon's SAs that the active never reported move too.
		std::uint64_t unreported = 0;
		std::optional<ShadowView> with_unreported;
		if (ike_owned()) {
			auto all = ike_takeover_view(unreported);
			if (!all) {
				// Fail closed, and stay so: the notify script keeps
				// the traffic away from a node that did not take over.
				wanted_active_ = false;
				return all.error();
			}
			with_unreported = std::move(*all);
		}
		// A Release is only as good as its age: the other node may have
		// been told to take over again since (blind, if it could not reach
		// this standby), so an old one is not trusted.
		const bool fresh_release = standby_.fresh_release(
			Clock::now(), 3 * cfg_.heartbeat + 2s + cfg_.handover_timeout);
		// An IKE daemon's node never sends a Release: nothing to wait for.
		const bool handed_over = !ike_owned() && (fresh_release || handover());
		standby_.spend_release();	// the next takeover asks again
		// Since the active last said anything: reports it sent meanwhile
		// never arrived.
		const double staleness = handed_over ? 0 : seconds_since(last_active_rx_);
		for (const auto &l : links_)
			log("warning", "sync_link_down", {{"peer", l.conn.peer}, {"node", l.node},
							  {"reason", "taking over"}});
		links_.clear();
		epoch_++;
		standby_.stop_snapshot();
		if (!standby_.table().complete() && !handed_over)
			log("warning", "takeover_unsynced",
			    {{"sas", std::to_string(standby_.view().sas.size())}});
		const ShadowView &view = with_unreported ? *with_unreported : standby_.view();

		std::optional<Margins> margins;
		if (!handed_over)
			margins = Margins{staleness, cfg_.margin_lag.count() / 1000.0, cfg_.margin_floor,
					  [this](const replay::SaId &id) { return cfg_.thresh_for(id); }};
		const TakeoverReport report =
			execute_takeover(view, margins, *backend_, tables_,
					 ike_owned() ? AbsentSa::skipped : AbsentSa::fails);
		const double took = seconds_since(started);
		log(report.failed ? "error" : "info", "takeover",
		    {{"epoch", std::to_string(epoch_)}, {"sas", std::to_string(view.sas.size())},
		     {"policies", std::to_string(report.policies)},
		     {"failed", std::to_string(report.failed)},
		     {"absent", std::to_string(report.absent)},
		     {"unreported", std::to_string(unreported)},
		     {"handover", handed_over ? "exact" : "margin"},
		     {"margin_max", std::to_string(report.margin_max)},
		     {"inbound_exposure_max", std::to_string(report.exposure_max)},
		     {"exhausted", std::to_string(report.exhausted)},
		     {"staleness_ms", std::to_string(static_cast<long>(staleness * 1000))},
		     {"duration_ms", std::to_string(took * 1000)}});
		{
			std::lock_guard g(metrics_.lock);
			metrics_.takeovers++;
			metrics_.takeover_failures += report.failed;
			metrics_.margin_max = report.margin_max;
			metrics_.exposure_max = report.exposure_max;
			metrics_.takeover_s = took;
		}
		last_takeover_ = {{"epoch", epoch_}, {"sas", view.sas.size()},
				  {"policies", report.policies}, {"failed", report.failed},
				  {"absent", report.absent},
				  {"handover", handed_over}, {"margin_max", report.margin_max},
				  {"inbound_exposure_max", report.exposure_max},
				  {"duration_ms", took * 1000}};
		// The IKE daemon may still install SAs the old active used.
		if (ike_owned() && margins) {
			egress_.expect_late_sas(view, report, *margins);
			late_failures_counted_ = 0;
		}
		auto active = become_active();
		if (!active) {
			// Deaf to the kernel's SA events: late SAs would go
			// unmoved. Dark until a takeover again opens it.
			(void)egress_.stop("active without SA events");
			return active;
		}
		// Only now: every SA still installed has its numbers.
		if (auto released = egress_.release(); !released)
			return released.error();
		if (report.failed)
			return Error{EIO, std::to_string(report.failed) +
						  " SAs or policies could not be set (see the log)"};
		return active;
	}

	// What a takeover of an IKE daemon's SAs moves: the last complete view
	// and every SA of the kernel it lacks. Refused when the SAD cannot be
	// read (those SAs would keep their numbers), or when this node never
	// synced while the IKE daemon installed SAs here (their numbers are
	// unknown; an empty kernel, a first start, has nothing to protect).
	Result<ShadowView> ike_takeover_view(std::uint64_t &unreported)
	{
		standby_.stop_snapshot();
		auto all = with_unreported_sas(standby_.view(), *backend_, tables_, unreported);
		if (!all)
			return Error{all.error().code,
				     "takeover refused: the SAD cannot be read: " + all.error().message()};
		if (!standby_.table().complete() && unreported > 0)
			return Error{EAGAIN, "takeover refused: never synced, and " +
						     std::to_string(unreported) +
						     " SAs of unknown numbers"};
		return all;
	}

	// Asks the active to stop and send its final numbers (or, in a pair
	// where neither is active, the standby peer: ask_standby_peer). A link
	// still connecting (this node just stood down, the peer restarted) is
	// waited for. True once the numbers are in the shadow (a Release
	// came); false when there is nobody to ask, or no answer within
	// handover_timeout.
	bool handover()
	{
		if (!has_own_link(links_) && !cfg_.peers.empty())
			connect_now();
		// Any link not yet given up on (3 heartbeats + 2 s) is asked, even
		// one that has been quiet for a while: on a loaded host an active
		// that is alive can be late with its heartbeats, and taking over
		// blind from a live active makes two nodes send. A link that is
		// really dead costs handover_timeout.
		std::string asked;
		auto ask = [&] {
			for (auto &l : links_) {
				if (!l.conn.established() || !l.hello_received || l.remote != Role::active ||
				    l.asked_to_release || !l.superseded.empty())
					continue;
				l.asked_to_release = true;
				send(l, HandoverRequest{epoch_ + 1});
				l.flush();
				asked += (asked.empty() ? "" : ",") + l.node;
			}
			if (asked.empty() && ask_standby_peer())
				asked = "standby peer";
		};
		// Real time, never stretched by this node's stalls: a Release
		// processed later than handover_timeout after the request may be
		// older than a margin takeover of the node that sent it.
		const auto deadline = Clock::now() + cfg_.handover_timeout;
		while (!standby_.released() && !links_.empty() && Clock::now() < deadline) {
			ask();
			const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
				deadline - Clock::now());
			std::vector<pollfd> fds;
			for (const auto &l : links_)
				fds.push_back({l.conn.fd(), l.conn.poll_events(), 0});
			const int ready = ::poll(fds.data(), fds.size(),
						 static_cast<int>(std::min<std::int64_t>(left.count() + 1, 50)));
			for (std::size_t i = fds.size(); ready > 0 && i-- > 0;)
				if (fds[i].revents && links_[i].superseded.empty())
					if (auto r = service(links_[i], fds[i].revents); !r)
						drop(i, r.error());
			drop_superseded();
		}
		const bool in_time = standby_.released() && Clock::now() <= deadline;
		log(in_time ? "info" : "warning", "handover",
		    {{"asked", asked.empty() ? "nobody" : asked},
		     {"result", in_time ? "final numbers received"
				: standby_.released() ? "numbers came too late: taking over with margins"
						: "no answer in time: taking over with margins"}});
		if (!in_time)
			standby_.spend_release();
		return in_time;
	}

	// Stops carrying traffic: every policy becomes a BLOCK placeholder,
	// then every SA's numbers, final now, go to the standbys with a
	// Release, and this node keeps them as its own view. A standby that
	// is (or will be) told to take over starts from exactly these numbers.
	void stand_down(const char *why)
	{
		// First: what this node sends from now on would repeat numbers
		// the next active uses. A fence that cannot close is logged and
		// tried again by housekeeping; the stand-down goes on.
		(void)egress_.stop(why);
		if (ike_owned())
			return stand_down_ike_owned(why);
		events_.reset();	// this node's own blocking is not news
		auto down = block_and_read(tables_, feed_);
		standby_.replace(std::move(down.own));
		stood_down_complete_ = down.complete;
		// A Release promises that these numbers are final and complete;
		// when they are not, the other node times out and takes over with
		// margins.
		std::uint64_t told = 0;
		for (auto &l : links_) {
			if (!down.complete)
				break;
			if (!l.conn.established() || !l.hello_received || l.remote != Role::standby)
				continue;
			for (const auto &u : down.final_numbers)
				send(l, u);
			send(l, Release{epoch_});
			told++;
		}
		drain(links_, cfg_.handover_timeout);
		// The standbys close after a Release; wait for that, not reset it.
		const auto finish_by = Clock::now() + cfg_.handover_timeout;
		for (auto &l : links_)
			l.conn.finish(std::chrono::duration_cast<std::chrono::milliseconds>(
				std::max(finish_by - Clock::now(), Clock::duration::zero())));
		// Always: a standby told here may have given up waiting and taken
		// over before these numbers came; catch_up only moves forward.
		owes_numbers_ = true;
		log(down.failed ? "error" : "info", "stood_down",
		    {{"reason", why}, {"policies_blocked", std::to_string(down.blocked)},
		     {"block_failed", std::to_string(down.failed)},
		     {"sas", std::to_string(down.final_numbers.size())},
		     {"complete", down.complete ? "yes" : "no: no release sent"},
		     {"standbys_told", std::to_string(told)}});
		become_standby();
	}

	// With an IKE daemon's policies this node cannot stop itself sending
	// (they are not its to block): it promises nothing final, sends no
	// Release, and the node taking over uses margins. Its numbers are
	// handed back to the next active all the same (hand_back_counters).
	void stand_down_ike_owned(const char *why)
	{
		events_.reset();
		const auto numbers = feed_.table();
		standby_.replace(numbers_view(numbers));
		stood_down_complete_ = false;
		owes_numbers_ = true;
		log("info", "stood_down", {{"reason", why}, {"sas", std::to_string(numbers.size())},
					   {"complete", "no: the IKE daemon owns the policies"},
					   {"standbys_told", "0"}});
		become_standby();
	}

	// A node that stood down with nobody to tell (the sync link was down)
	// may have used numbers the active has not: it tells the active,
	// which moves past them (catch_up), before taking its snapshot.
	Result<std::monostate> hand_back_counters(Link &l)
	{
		if (!owes_numbers_)
			return std::monostate{};
		owes_numbers_ = false;
		const auto numbers = feed_.table();
		for (const auto &u : numbers)
			send(l, u);
		log("info", "numbers_handed_back", {{"node", l.node},
						    {"sas", std::to_string(numbers.size())}});
		return std::monostate{};
	}

	// Active: a standby's numbers from its time as active (split brain).
	Result<std::monostate> catch_up(const ReplayUpdate &u)
	{
		ShadowSa sa;
		sa.id = u.id;
		if (auto r = set_forward(*backend_, tables_, sa, u.state, "caught_up");
		    !r && r.error().code != ESRCH)
			log("error", "catch_up_failed", {{"sa", sa_text(u.id)},
							 {"reason", r.error().message()}});
		return std::monostate{};
	}

	Result<std::monostate> become_active()
	{
		role_ = Role::active;
		if (auto sub = backend_->subscribe(); !sub)
			return sub.error();
		const int notes = backend_->event_fd();
		const int bytes = cfg_.socket_buffer;
		if (setsockopt(notes, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)))
			setsockopt(notes, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
		auto ev = KernelEvents::open();
		if (!ev)
			return ev.error();
		events_.emplace(std::move(*ev));
		feed_.apply_thresholds();
		log("info", "active", {{"epoch", std::to_string(epoch_)}});
		return std::monostate{};
	}

	void become_standby()
	{
		if (role_ == Role::standby)
			return;
		role_ = Role::standby;
		replay_pending_ = false;
		links_.clear();
		events_.reset();
		standby_.reset();
		last_active_rx_ = Clock::now();
		stalled_since_active_rx_ = {};
		dialer_.reset(Clock::now());
		log("info", "standby", {{"epoch", std::to_string(epoch_)}});
	}

	// ---- active ----
	// An SA that appeared after the takeover read the SAD (late_sas.hpp).
	void move_late_sa(const replay::SaId &id) { (void)egress_.sa_appeared(id); }

	void accept_peer()
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

	Result<std::monostate> send_snapshot(Link &l)
	{
		// SAs owned by an IKE daemon: their records (and keys) are its
		// HA's to sync; only the numbers go.
		auto snapshot = feed_.snapshot(!ike_owned());
		if (!snapshot)
			return snapshot.error();
		l.snapshot_begins_at = l.conn.bytes_sent + l.conn.queued();
		for (auto &frame : snapshot->frames)
			send(l, std::move(frame));
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

	void resync_all(const char *why)
	{
		log("warning", "resync", {{"reason", why}});
		for (std::size_t i = links_.size(); i-- > 0;)
			if (links_[i].hello_received)
				if (auto r = send_snapshot(links_[i]); !r)
					drop(i, r.error());
	}

	void drain_replay()
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

	void drain_kernel_events()
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

	// ---- control and metrics ----
	json status()
	{
		json links = json::array();
		for (const auto &l : links_)
			links.push_back({{"peer", l.conn.peer}, {"node", l.node},
					 {"established", l.conn.established()},
					 {"sent", l.tx_seq}, {"received", l.rx_seq}, {"acked", l.acked},
					 {"unacked", l.unacked.size()}});
		json s = {{"node", cfg_.node},
			  {"role", role_ == Role::active ? "active" : "standby"},
			  {"wanted", wanted_active_ ? "active" : "standby"},
			  {"epoch", epoch_},
			  {"backend", replay::name(backend_->kind())},
			  {"esp_fence", egress_.fence_mode()},
			  {"esp_fence_applied", egress_.fence_applied()},
			  {"links", links}};
		if (role_ == Role::standby) {
			s["synced"] = standby_.synced();
			s["sas"] = standby_.view().sas.size();
			s["policies"] = standby_.view().policies.size();
			s["snapshot_in_progress"] = standby_.table().in_progress();
			// From an active heard on a link past its Hello; -1 without one
			// (a link still connecting says nothing about the view).
			double staleness = -1;
			for (const auto &l : links_)
				if (l.hello_received && l.remote == Role::active)
					staleness = seconds_since(l.last_rx) * 1000;
			s["staleness_ms"] = staleness;
			s["live_active"] = staleness >= 0 &&
					   staleness < 3 * cfg_.heartbeat.count() + 2000;
		}
		if (!last_takeover_.is_null()) {
			s["last_takeover"] = last_takeover_;
			s["last_takeover"]["late_sas"] = egress_.late_moved();
			s["last_takeover"]["failed"] =
				last_takeover_.value("failed", std::uint64_t{0}) + egress_.late_failed();
		}
		return s;
	}

	// The standby's view of every SA, or the active's kernel.
	json sa_table()
	{
		json out = json::array();
		auto row = [&](const replay::SaId &id, const replay::ReplayState &st, double pps) {
			out.push_back({{"sa", sa_text(id)}, {"spi", id.spi},
				       {"oseq", st.oseq}, {"seq", st.seq}, {"peak_pps", pps}});
		};
		if (role_ == Role::standby) {
			for (const auto &[key, sa] : standby_.view().sas)
				row(sa.id, sa.state, sa.rate.peak_pps());
			return out;
		}
		for (const auto &u : feed_.table())
			row(u.id, u.state, 0);
		return out;
	}

	void serve_control()
	{
		auto request = control_.accept();
		if (!request)
			return;
		const std::string &cmd = request->command();
		json reply;
		if (cmd == "status") {
			reply = status();
		} else if (cmd == "sas") {
			reply = sa_table();
		} else if (cmd == "takeover") {
			auto r = takeover();
			reply = r ? status() : json{{"error", r.error().message()}};
		} else if (cmd == "standby") {
			wanted_active_ = false;
			if (role_ == Role::active)
				stand_down("told to stand by");
			reply = status();
		} else if (cmd == "resync") {
			if (role_ == Role::active)
				resync_all("operator");
			else
				resync_from_active();
			reply = status();
		} else {
			reply = {{"error", "unknown command: " + cmd}};
		}
		request->reply(reply.dump());
	}

	void publish_metrics()
	{
		std::lock_guard g(metrics_.lock);
		metrics_.role = role_ == Role::active ? "active" : "standby";
		metrics_.epoch = epoch_;
		metrics_.standbys = 0;
		metrics_.bytes_sent = metrics_.bytes_received = 0;
		double lag = 0;
		for (const auto &l : links_) {
			metrics_.bytes_sent += l.conn.bytes_sent;
			metrics_.bytes_received += l.conn.bytes_received;
			if (role_ == Role::active) {
				metrics_.standbys += l.hello_received;
				if (!l.unacked.empty())
					lag = std::max(lag, seconds_since(l.unacked.front().second));
			} else {
				lag = seconds_since(l.last_rx);
			}
		}
		metrics_.sync_lag_s = lag;
		// Late SAs that could not be moved are takeover failures too.
		if (egress_.late_failed() > late_failures_counted_) {
			metrics_.takeover_failures += egress_.late_failed() - late_failures_counted_;
			late_failures_counted_ = egress_.late_failed();
		}
		if (role_ == Role::standby) {
			metrics_.sas = standby_.view().sas.size();
			metrics_.policies = standby_.view().policies.size();
		}
	}

	Config cfg_;
	KernelTables tables_;
	TlsContext server_, client_;
	std::unique_ptr<replay::Backend> backend_;
	ActiveFeed feed_{cfg_, *backend_, tables_};
	std::optional<KernelEvents> events_;
	Role role_ = Role::standby;
	std::uint64_t epoch_ = 0;
	int listen_fd_ = -1;
	ControlServer control_;
	std::vector<Link> links_;
	Dialer dialer_;
	Clock::time_point last_active_rx_ = Clock::now();
	StandbyState standby_{tables_, ike_owned() ? ShadowTable::Mirror::replay_only
						   : ShadowTable::Mirror::tables};
	// What keepalived last told this node to be.
	bool wanted_active_ = false;
	// A Release came while this node is wanted active; or an active was
	// asked to hand over. Both are done by the loop, outside link reads.
	bool takeover_due_ = false, stand_down_due_ = false;
	// The last stand-down blocked every policy and read every SA.
	bool stood_down_complete_ = false;
	// Time this node overslept since an active was last heard
	// (stall_watch.hpp): not the active's silence.
	Clock::duration stalled_since_active_rx_{};
	// This node stood down while no standby could hear its numbers.
	bool owes_numbers_ = false;
	json last_takeover_;
	Metrics metrics_;
	std::uint64_t notes_in_window_ = 0;
	// The last drain_replay() stopped at its batch's end.
	bool replay_pending_ = false;
	Clock::time_point rate_window_ = Clock::now();
	// After metrics_: it serves them until destroyed.
	std::unique_ptr<MetricsServer> metrics_http_;
	EgressControl egress_;
	std::uint64_t late_failures_counted_ = 0;
};

} // namespace

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
