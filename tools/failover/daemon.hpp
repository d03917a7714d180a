// SPDX-License-Identifier: GPL-2.0
// safailover's daemon: on the active node it streams the SAD, SPD and replay
// notifications to standbys; on a standby it keeps them (SAs installed as
// they come, policies held back) and at takeover moves every SA's replay
// state past what the old active can have used.
#pragma once

#include <memory>

#include "config.hpp"
#include "frame.hpp"

namespace failover {

class Daemon {
public:
	static Result<std::unique_ptr<Daemon>> create(Config config);
	virtual ~Daemon() = default;
	// Until SIGTERM or SIGINT; the exit status.
	virtual int run() = 0;
};

} // namespace failover
