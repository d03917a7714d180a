// SPDX-License-Identifier: GPL-2.0
// The client side of the daemon's control socket: one command, one JSON
// reply. Used by the CLI and by the keepalived FIFO follower.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "frame.hpp"

namespace failover {

// The daemon's reply to @command, as JSON text. ETIMEDOUT when it did not
// answer within @timeout; a reply with an "error" member is still a reply.
Result<std::string> control_request(const std::string &socket_path, const std::string &command,
				    std::chrono::milliseconds timeout);

// The control command for one line of keepalived's notify FIFO
// ("INSTANCE "lan" MASTER 150"): takeover for MASTER, standby for BACKUP,
// FAULT and STOP; nothing for other lines or other instances (an empty
// @instance takes every instance).
std::optional<std::string> command_for_vrrp_line(const std::string &line,
						 const std::string &instance);

} // namespace failover
