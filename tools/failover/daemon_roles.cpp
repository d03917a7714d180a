// SPDX-License-Identifier: GPL-2.0
// The daemon's role changes (daemon_impl.hpp): a takeover, exact when the
// active hands over and with margins when it is gone; a stand-down; and
// the two standbys of a pair, one vouching for its numbers to the other.
#include "daemon_impl.hpp"

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <poll.h>
#include <sys/socket.h>

#include "log.hpp"
#include "pair_release.hpp"
#include "stand_down.hpp"
#include "takeover.hpp"

namespace failover {

using namespace std::chrono_literals;

// ---- two standbys (pair_release.hpp) ----
// Asks the standby peer for its numbers, once per link. True when it
// was asked, now or before.
bool DaemonImpl::ask_standby_peer()
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

Result<std::monostate> DaemonImpl::handle_standby_peer(Link &l, Body &body)
{
	if (std::holds_alternative<Heartbeat>(body))
		return std::monostate{};
	if (std::holds_alternative<HandoverRequest>(body))
		return release_to_standby(l);
	if (!l.asked_to_release)
		return Error{EPROTO, "numbers from a standby that was not asked for them"};
	if (std::holds_alternative<ReplayUpdate>(body))
		return heard(body, -1);
	if (std::holds_alternative<Release>(body)) {
		// Asked while wanted active, answered after it no longer is:
		// not kept, for it could outlive the other node's next takeover.
		if (!wanted_active_)
			return Error{ESHUTDOWN, "released by the standby " + l.node + ", no longer wanted"};
		return heard(body, -1);
	}
	return Error{EPROTO, "a standby sent a frame only an active sends"};
}

std::string DaemonImpl::release_refusal()
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

Result<std::monostate> DaemonImpl::release_to_standby(Link &l)
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

// ---- takeover and roles ----
// Becomes active. With a reachable active, a handover: it stops and
// sends its final numbers, which are set exactly. Without one, the
// last numbers heard plus the margin (margin.hpp). An SA whose numbers
// cannot be set is deleted, so it carries no traffic, and the
// takeover reports failure.
Result<std::monostate> DaemonImpl::takeover()
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
Result<ShadowView> DaemonImpl::ike_takeover_view(std::uint64_t &unreported)
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
bool DaemonImpl::handover()
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
void DaemonImpl::stand_down(const char *why)
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
void DaemonImpl::stand_down_ike_owned(const char *why)
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
Result<std::monostate> DaemonImpl::hand_back_counters(Link &l)
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

Result<std::monostate> DaemonImpl::become_active()
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

void DaemonImpl::become_standby()
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

} // namespace failover
