// SPDX-License-Identifier: GPL-2.0
// What the daemon exposes to Prometheus: the numbers, updated by the loop
// under a lock, and the HTTP server that shows them as /metrics text.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "config.hpp"

namespace httplib {
class Server;
}

namespace failover {

// Written by the loop's thread, read by the HTTP thread: take the lock.
struct Metrics {
	std::mutex lock;
	std::string role = "standby";
	std::uint64_t epoch = 0;
	double sync_lag_s = 0;
	std::uint64_t sas = 0, policies = 0, standbys = 0;
	std::uint64_t notifications = 0, overruns = 0, snapshots = 0;
	double notifications_per_s = 0;
	std::uint64_t bytes_sent = 0, bytes_received = 0;
	std::uint64_t takeovers = 0, takeover_failures = 0, margin_max = 0, exposure_max = 0;
	double takeover_s = 0;

	// The Prometheus text exposition format; takes the lock.
	std::string text();
};

// GET /metrics on its own thread until destroyed.
class MetricsServer {
public:
	// EADDRINUSE when @at cannot be bound. @metrics must outlive the server.
	static Result<std::unique_ptr<MetricsServer>> start(Metrics &metrics, const Endpoint &at);
	MetricsServer(const MetricsServer &) = delete;
	MetricsServer &operator=(const MetricsServer &) = delete;
	~MetricsServer();

private:
	explicit MetricsServer(std::unique_ptr<httplib::Server> http);

	std::unique_ptr<httplib::Server> http_;
	std::thread thread_;
};

} // namespace failover
