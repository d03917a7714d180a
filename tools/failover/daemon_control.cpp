// SPDX-License-Identifier: GPL-2.0
// The daemon's answers on the control socket and its metrics
// (daemon_impl.hpp).
#include "daemon_impl.hpp"

#include <algorithm>
#include <mutex>

#include "shadow_table.hpp"

namespace failover {

using nlohmann::json;

nlohmann::json DaemonImpl::status()
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
nlohmann::json DaemonImpl::sa_table()
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

void DaemonImpl::serve_control()
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

void DaemonImpl::publish_metrics()
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

} // namespace failover
