// SPDX-License-Identifier: GPL-2.0
// safailover: keeps IPsec SAs alive across a gateway failover. "run" is the
// daemon; the other commands talk to a running one over its control socket
// (keepalived's notify hooks call "takeover" and "standby").
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sys/prctl.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "config.hpp"
#include "control_client.hpp"
#include "daemon.hpp"
#include "log.hpp"

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// Generous: a takeover waits up to handover_timeout for the old active,
// then sets every SA; a daemon that says nothing for this long is stuck.
constexpr std::chrono::seconds kControlTimeout{60};

int control(const std::string &path, const std::string &command)
{
	auto reply = failover::control_request(path, command, kControlTimeout);
	if (!reply) {
		std::cerr << "safailover: " << reply.error().message() << "\n";
		return kExitFailed;
	}
	const auto j = nlohmann::json::parse(*reply, nullptr, false);
	if (j.is_discarded()) {
		std::cerr << "safailover: the daemon's reply is not JSON\n";
		return kExitFailed;
	}
	std::cout << j.dump(2) << "\n";
	return j.contains("error") ? kExitFailed : 0;
}

// For keepalived's track_script: a standby that has no complete view, or
// whose active went quiet, should not be promoted while the other node can
// be (the script lowers this node's priority; it does not forbid a
// takeover when this node is all there is); nor should an active node stay
// so while its ESP fence keeps it dark.
int ready(const std::string &path)
{
	auto reply = failover::control_request(path, "status", kControlTimeout);
	if (!reply) {
		std::cerr << "safailover: " << reply.error().message() << "\n";
		return kExitFailed;
	}
	const auto j = nlohmann::json::parse(*reply, nullptr, false);
	if (j.is_discarded() || !j.contains("role"))
		return kExitFailed;
	if (j["role"] == "active") {
		// Active but fenced: the numbers were set, the fence did not
		// open (nftables refused); housekeeping keeps trying.
		const auto fence = j.find("esp_fence"), applied = j.find("esp_fence_applied");
		const bool closed = fence != j.end() && (!fence->is_string() || *fence == "closed");
		const bool held = applied == j.end() || (applied->is_boolean() && applied->get<bool>());
		if (!closed && held)
			return 0;
		std::cerr << "safailover: not ready: active, but its ESP fence is not open\n";
		return kExitFailed;
	}
	const bool synced = j.value("synced", false);
	if (synced && j.value("live_active", false))
		return 0;
	std::cerr << "safailover: not ready: " << (synced ? "no live active" : "no complete view")
		  << "\n";
	return kExitFailed;
}

// keepalived's notify_fifo_script: state changes arrive in the order they
// happened (separate notify_master/notify_backup scripts run concurrently
// and can reach the daemon in either order), each passed on before the
// next is read. Runs until keepalived closes the FIFO or stops it.
int follow_keepalived(const std::string &fifo, const std::string &path,
		      const std::string &instance)
{
	std::ifstream in(fifo);
	if (!in) {
		std::cerr << "safailover: " << fifo << ": " << std::strerror(errno) << "\n";
		return kExitFailed;
	}
	std::string line;
	while (std::getline(in, line)) {
		const auto command = failover::command_for_vrrp_line(line, instance);
		if (!command)
			continue;
		auto reply = failover::control_request(path, *command, kControlTimeout);
		if (!reply)
			failover::log("error", "vrrp_command_failed",
				      {{"command", *command}, {"reason", reply.error().message()}});
		else if (reply->find("\"error\"") != std::string::npos)
			failover::log("error", "vrrp_command_failed",
				      {{"command", *command}, {"reason", *reply}});
	}
	return 0;
}

} // namespace

int main(int argc, char **argv)
{
	CLI::App app{"Keep IPsec SAs alive across a gateway failover"};
	std::string config_path = "/etc/safailover/safailover.toml";
	std::string control_path = "/run/safailover.sock";

	app.add_option("--control", control_path, "the daemon's control socket");
	app.require_subcommand(1);
	auto *run = app.add_subcommand("run", "run the daemon");
	run->add_option("--config", config_path, "configuration file (TOML)");
	auto *check = app.add_subcommand("check-config", "parse a configuration file and exit");
	check->add_option("config", config_path, "configuration file (TOML)")->required();
	app.add_subcommand("status", "role, epoch, sync channel and last takeover (JSON)");
	app.add_subcommand("ready", "exit 0 if this node may be promoted: active, or a standby "
				    "with a complete view from a live active (keepalived track_script)");
	app.add_subcommand("sas", "every SA's replay state as this node knows it (JSON)");
	app.add_subcommand("takeover", "become active now (keepalived notify_master)");
	app.add_subcommand("standby", "become standby (keepalived notify_backup, notify_fault)");
	app.add_subcommand("resync", "send (active) or fetch (standby) a fresh snapshot");
	std::string fifo, instance;
	auto *vrrp = app.add_subcommand(
		"keepalived", "follow keepalived's notify FIFO (its notify_fifo_script): "
			      "MASTER takes over, BACKUP, FAULT and STOP stand by, in order");
	vrrp->add_option("--instance", instance, "only this vrrp_instance (default: all)");
	vrrp->add_option("fifo", fifo, "the FIFO (keepalived passes it last)")->required();

	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &e) {
		const int rc = app.exit(e);
		return rc ? kExitUsage : 0;
	}

	if (run->parsed() || check->parsed()) {
		auto config = failover::load_config(config_path);
		if (!config) {
			std::cerr << "safailover: " << config.error().context << "\n";
			return kExitUsage;
		}
		if (check->parsed())
			return 0;
		// Keys pass through this process: no core dumps, no ptrace by
		// other processes of the same user.
		::prctl(PR_SET_DUMPABLE, 0);
		auto daemon = failover::Daemon::create(std::move(*config));
		if (!daemon) {
			failover::log("error", "start_failed", {{"reason", daemon.error().message()}});
			return kExitFailed;
		}
		return (*daemon)->run();
	}
	if (vrrp->parsed())
		return follow_keepalived(fifo, control_path, instance);
	if (app.got_subcommand("ready"))
		return ready(control_path);
	for (const char *cmd : {"status", "sas", "takeover", "standby", "resync"})
		if (app.got_subcommand(cmd))
			return control(control_path, cmd);
	return kExitUsage;
}
