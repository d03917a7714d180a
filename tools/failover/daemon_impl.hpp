// SPDX-License-Identifier: GPL-2.0
// Inside safailover's daemon (daemon.hpp): one node, its role, its sync
// links and the loop that serves them. The class's work is spread over:
//   daemon.cpp          the loop, the links and what comes over them,
//                       as active and as standby
//   daemon_roles.cpp    taking over, handing over and standing down; the
//                       two standbys of a pair
//   daemon_control.cpp  the control socket's answers and the metrics
// What it decides with are parts that take data and return results:
// ShadowTable and StandbyState (a standby's view), ActiveFeed (what an
// active sends), execute_takeover (takeover.hpp), block_and_read
// (stand_down.hpp), peer_links.hpp, pair_release.hpp, EgressControl.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

#include "active_feed.hpp"
#include "config.hpp"
#include "control_server.hpp"
#include "daemon.hpp"
#include "egress_control.hpp"
#include "kernel_tables.hpp"
#include "metrics.hpp"
#include "peer_links.hpp"
#include "standby_state.hpp"
#include "sync_link.hpp"
#include "tls.hpp"

namespace failover {

class DaemonImpl final : public Daemon {
public:
	using Clock = std::chrono::steady_clock;

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

	Result<std::monostate> start();
	int run() override;

private:
	static double seconds_since(Clock::time_point t)
	{
		return std::chrono::duration<double>(Clock::now() - t).count();
	}
	// An IKE daemon installs and deletes the SAs and policies on every
	// node (config.hpp): this daemon writes neither.
	bool ike_owned() const { return cfg_.sa_owner == SaOwner::ike; }

	// ---- daemon.cpp: the loop and the links ----
	void poll_once();
	void housekeeping();
	// Only an active waits for acks (standbys ack, actives do not).
	void send(Link &l, Body body) { l.send(std::move(body), role_ == Role::active); }
	void broadcast(const Body &body);
	void drop(std::size_t i, const Error &why);
	void drop_superseded();
	void resync_from_active();
	Result<std::monostate> service(Link &l, short revents);
	Result<std::monostate> handle(Link &l, Body body);
	void maybe_connect();
	void connect_now();
	void accept_peer();

	// ---- daemon.cpp: as active ----
	Result<std::monostate> handle_as_active(Link &l, const Body &body);
	Result<std::monostate> catch_up(const ReplayUpdate &u);
	Result<std::monostate> send_snapshot(Link &l);
	void resync_all(const char *why);
	void drain_replay();
	void drain_kernel_events();
	// An SA that appeared after the takeover read the SAD (late_sas.hpp).
	void move_late_sa(const replay::SaId &id) { (void)egress_.sa_appeared(id); }

	// ---- daemon.cpp: as standby ----
	// @link_fd: the link's socket; -1 for a standby peer's, which sends
	// no snapshot.
	Result<std::monostate> heard(Body &body, int link_fd);
	Result<std::monostate> released(std::uint64_t epoch);

	// ---- daemon_roles.cpp ----
	Result<std::monostate> takeover();
	Result<ShadowView> ike_takeover_view(std::uint64_t &unreported);
	bool handover();
	void stand_down(const char *why);
	void stand_down_ike_owned(const char *why);
	Result<std::monostate> hand_back_counters(Link &l);
	Result<std::monostate> become_active();
	void become_standby();
	bool ask_standby_peer();
	Result<std::monostate> handle_standby_peer(Link &l, Body &body);
	std::string release_refusal();
	Result<std::monostate> release_to_standby(Link &l);

	// ---- daemon_control.cpp ----
	nlohmann::json status();
	nlohmann::json sa_table();
	void serve_control();
	void publish_metrics();

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
	nlohmann::json last_takeover_;
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

} // namespace failover
