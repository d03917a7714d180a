// SPDX-License-Identifier: GPL-2.0
#include "metrics.hpp"

#include <cerrno>
#include <httplib.h>

namespace failover {

std::string Metrics::text()
{
	std::lock_guard g(lock);
	std::string t;
	auto gauge = [&](const char *name, const char *help, double v) {
		t += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name +
		     " gauge\n" + name + " " + std::to_string(v) + "\n";
	};
	auto counter = [&](const char *name, const char *help, std::uint64_t v) {
		t += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name +
		     " counter\n" + name + " " + std::to_string(v) + "\n";
	};
	t += "# HELP safailover_role 1 for the role this node has\n# TYPE safailover_role gauge\n";
	t += "safailover_role{role=\"active\"} " + std::to_string(role == "active") + "\n";
	t += "safailover_role{role=\"standby\"} " + std::to_string(role == "standby") + "\n";
	gauge("safailover_epoch", "takeovers the pair has seen", epoch);
	gauge("safailover_sync_lag_seconds",
	      "active: age of the oldest unacknowledged frame; standby: time since the last frame",
	      sync_lag_s);
	gauge("safailover_sas_synced", "SAs in the synced view", sas);
	gauge("safailover_policies_synced", "policies in the synced view", policies);
	gauge("safailover_standbys_connected", "standbys with a live channel", standbys);
	gauge("safailover_notifications_per_second", "replay notifications, last second",
	      notifications_per_s);
	counter("safailover_notifications_total", "replay notifications sent or received",
		notifications);
	counter("safailover_overruns_total", "kernel queue overruns, each followed by a resync",
		overruns);
	counter("safailover_snapshots_total", "full snapshots sent or received", snapshots);
	counter("safailover_sync_bytes_sent_total", "bytes on the sync channel, out", bytes_sent);
	counter("safailover_sync_bytes_received_total", "bytes on the sync channel, in",
		bytes_received);
	counter("safailover_takeovers_total", "takeovers by this node", takeovers);
	counter("safailover_takeover_failures_total",
		"SAs and policies a takeover could not set (the SAs are deleted)",
		takeover_failures);
	gauge("safailover_takeover_margin_max", "largest outbound margin of the last takeover",
	      margin_max);
	gauge("safailover_takeover_inbound_exposure_max",
	      "largest inbound replay exposure accepted at the last takeover", exposure_max);
	gauge("safailover_takeover_seconds", "duration of the last takeover", takeover_s);
	return t;
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(Metrics &metrics, const Endpoint &at)
{
	auto http = std::make_unique<httplib::Server>();
	http->Get("/metrics", [&metrics](const httplib::Request &, httplib::Response &res) {
		res.set_content(metrics.text(), "text/plain; version=0.0.4");
	});
	if (!http->bind_to_port(at.host, at.port))
		return Error{EADDRINUSE, "metrics on " + at.host + ":" + std::to_string(at.port)};
	return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(http)));
}

MetricsServer::MetricsServer(std::unique_ptr<httplib::Server> http)
	: http_(std::move(http)), thread_([server = http_.get()] { server->listen_after_bind(); })
{
}

MetricsServer::~MetricsServer()
{
	http_->stop();
	thread_.join();
}

} // namespace failover
