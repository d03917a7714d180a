// SPDX-License-Identifier: GPL-2.0
// The ESP fence: an nftables table that keeps a node that is not active
// from sending ESP.
//
// An IKE daemon's HA installs the SAs and policies on the passive node too,
// with the outbound numbers starting from 1. A packet that reaches such a
// node's policy (a LAN host with a stale neighbour entry, or the node's
// own) would leave with a number the peer has seen, under the same key:
// for AES-GCM, a nonce used twice.
//
// Closed, the table drops what an IPsec policy would encrypt before it is
// encrypted (rt ipsec, in the output and forward hooks: whatever the
// encapsulation, UDP on any port, TCP or offload), and what leaves as ESP,
// AH or ESP in UDP from port 4500 all the same (an xfrm interface's
// traffic meets no policy). Admitting, the same two lines let through only
// the SAs whose numbers were set, by destination and SPI: what a new
// active sends while its IKE daemon may still install SAs the old one used
// (late_sas.hpp). Open, it drops nothing. Two named counters say what each
// line dropped.
//
// Every change of mode is one nftables transaction that declares the table
// again: `nft flush ruleset` (Debian's nftables.service does it at every
// start) removes it, and reassert() puts it back when it finds it gone or
// changed.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "frame.hpp"

struct nft_ctx;

namespace failover {

// An SA that may send while the fence admits: its destination and SPI.
struct Admitted {
	int family = 0;				// AF_INET or AF_INET6
	std::array<std::uint8_t, 16> dst{};	// 4 or 16 bytes used
	std::uint32_t spi = 0;			// host byte order
	auto operator<=>(const Admitted &) const = default;
};

class EspFence {
public:
	enum class Mode { open, closed, admitting };

	// The table (family inet, "safailover") as it is, or made open.
	static Result<EspFence> create();

	Result<std::monostate> close();
	// Only these SAs' ESP and AH leave.
	Result<std::monostate> admit_only(std::set<Admitted> sas);
	// One more SA, in admitting mode.
	Result<std::monostate> admit(const Admitted &sa);
	Result<std::monostate> open();
	// The wanted mode again, if the kernel's table is gone or not as it
	// was left.
	Result<std::monostate> reassert();

	Mode mode() const { return mode_; }
	// False when the kernel may not hold the wanted mode: its last
	// transaction failed.
	bool applied() const { return applied_; }

private:
	struct CtxFree {
		void operator()(nft_ctx *ctx) const;
	};
	explicit EspFence(std::unique_ptr<nft_ctx, CtxFree> ctx) : ctx_(std::move(ctx)) {}
	Result<std::monostate> apply();
	// Whether the kernel's table has the rules of mode_.
	bool intact();
	// Runs @commands as one nftables transaction; its output in @out.
	Result<std::monostate> run(const std::string &commands, std::string *out = nullptr);

	std::unique_ptr<nft_ctx, CtxFree> ctx_;
	Mode mode_ = Mode::open;
	std::set<Admitted> admitted_;
	bool applied_ = false;
};

const char *name(EspFence::Mode mode);

} // namespace failover
