// SPDX-License-Identifier: GPL-2.0
// safailover: keeps IPsec SAs alive across a gateway failover. "run" is the
// daemon; the other commands talk to a running one over its control socket
// (keepalived's notify hooks call "takeover" and "standby").
#include <cerrno>
#include <cstring>
#include <iostream>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "config.hpp"
#include "daemon.hpp"
#include "log.hpp"

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

int control(const std::string &path, const std::string &command)
{
	sockaddr_un sun{};
	if (path.size() >= sizeof(sun.sun_path)) {
		std::cerr << "safailover: control socket path too long\n";
		return kExitUsage;
	}
	const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sun.sun_family = AF_UNIX;
	std::strcpy(sun.sun_path, path.c_str());
	if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr *>(&sun), sizeof(sun)) < 0) {
		std::cerr << "safailover: " << path << ": " << std::strerror(errno)
			  << " (is the daemon running?)\n";
		return kExitFailed;
	}
	const std::string line = command + "\n";
	std::string reply;
	char buf[4096];
	ssize_t n;
	if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
		std::cerr << "safailover: " << path << ": " << std::strerror(errno) << "\n";
		::close(fd);
		return kExitFailed;
	}
	while ((n = ::read(fd, buf, sizeof(buf))) > 0)
		reply.append(buf, n);
	::close(fd);
	const auto j = nlohmann::json::parse(reply, nullptr, false);
	if (j.is_discarded()) {
		std::cerr << "safailover: the daemon's reply is not JSON\n";
		return kExitFailed;
	}
	std::cout << j.dump(2) << "\n";
	return j.contains("error") ? kExitFailed : 0;
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
	app.add_subcommand("sas", "every SA's replay state as this node knows it (JSON)");
	app.add_subcommand("takeover", "become active now (keepalived notify_master)");
	app.add_subcommand("standby", "become standby (keepalived notify_backup, notify_fault)");
	app.add_subcommand("resync", "send (active) or fetch (standby) a fresh snapshot");

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
		auto daemon = failover::Daemon::create(std::move(*config));
		if (!daemon) {
			failover::log("error", "start_failed", {{"reason", daemon.error().message()}});
			return kExitFailed;
		}
		return (*daemon)->run();
	}
	for (const char *cmd : {"status", "sas", "takeover", "standby", "resync"})
		if (app.got_subcommand(cmd))
			return control(control_path, cmd);
	return kExitUsage;
}
