// SPDX-License-Identifier: GPL-2.0
// One interface to the replay state of IPsec SAs, over the PF_KEY replay
// extension (patched kernel or module) or over XFRM netlink on any kernel.
// open() probes which one this kernel offers; callers do not change.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "pfkey/message.hpp"
#include "pfkey/result.hpp"
#include "pfkey/socket.hpp"

namespace replay {

using pfkey::Error;
using pfkey::Overrun;
using pfkey::ReplayState;
using pfkey::ReplayThresh;
using pfkey::Result;

// An SA's XFRM mark, value and mask (xfrm_mark): route-based tunnels (VTI,
// marked policies) tell their SAs apart by it, and the kernel's lookups
// take it. { 0, 0 } is no mark.
struct Mark {
	std::uint32_t v = 0, m = 0;
	bool any() const { return v || m; }
	bool operator==(const Mark &) const = default;
};

// How the kernel names an SA: SPI, protocol, destination and mark. The
// source address is part of PF_KEY's request format and of what is
// reported. PF_KEY has no mark: its backend cannot name a marked SA.
struct SaId {
	std::uint32_t spi = 0;		// host byte order
	std::uint8_t proto = 0;		// IPPROTO_ESP or IPPROTO_AH
	pfkey::Address src, dst;	// one family
	Mark mark;
	bool operator==(const SaId &) const = default;
};

struct SaReplay {
	SaId id;
	std::uint32_t reqid = 0;
	// Absent where the kernel does not say (netlink notifications). Over
	// netlink, T reads back in steps of 100 ms.
	std::optional<ReplayThresh> thresh;
	ReplayState state;	// cause says why a notification was sent
	bool operator==(const SaReplay &) const = default;
};

using Event = std::variant<SaReplay, Overrun>;

enum class Kind { pfkey, netlink };
std::string_view name(Kind kind);

class Backend {
public:
	virtual ~Backend() = default;
	virtual Kind kind() const = 0;

	// ESRCH when there is no such SA.
	virtual Result<SaReplay> get(const SaId &id) = 0;
	// Every SA of @proto; an empty table is an empty vector.
	virtual Result<std::vector<SaReplay>> dump(std::uint8_t proto) = 0;
	// Sets N and T; 0 turns either off. Returns the SA as it is now.
	virtual Result<SaReplay> set_thresh(const SaId &id,
					    const ReplayThresh &thresh) = 0;
	// Moves the replay state forward as merge_forward() describes (ERANGE
	// for a step back, EINVAL for a state that does not fit the SA).
	// Over netlink the check and the write are two steps: a packet the SA
	// takes in between is kept in the merge only if the caller read it.
	virtual Result<SaReplay> set_state(const SaId &id,
					   const ReplayState &state) = 0;

	// Starts the stream of notifications next_event() returns.
	virtual Result<std::monostate> subscribe() = 0;
	// A notification or an Overrun (notifications were lost: read again);
	// ETIMEDOUT when nothing came within @timeout.
	virtual Result<Event> next_event(std::chrono::milliseconds timeout) = 0;
	// The descriptor notifications arrive on, for poll() loops and socket
	// options; -1 before subscribe().
	virtual int event_fd() const = 0;
};

enum class Choice { automatic, pfkey, netlink };

// automatic: the PF_KEY extension when the kernel has it (the registration
// succeeds), XFRM netlink otherwise.
Result<std::unique_ptr<Backend>> open(Choice choice);

// Per backend, in their own files.
Result<std::unique_ptr<Backend>> open_pfkey();
Result<std::unique_ptr<Backend>> open_netlink();

} // namespace replay
