// SPDX-License-Identifier: GPL-2.0
// The ESP fence: an nftables table that drops every ESP and AH packet (and
// ESP in UDP from port 4500) this node sends while it is not active.
//
// An IKE daemon's HA installs the SAs and policies on the passive node too,
// with the outbound numbers starting from 1. A packet that reaches such a
// node's policy (a LAN host with a stale neighbour entry, a locally
// generated one) would leave with a number the peer has seen, under the
// same key: for AES-GCM, a nonce used twice. The fence drops those packets
// after the kernel encrypted them, before they leave; the numbers they
// took are overwritten by the next takeover.
#pragma once

#include <memory>
#include <string>

#include "frame.hpp"

struct nft_ctx;

namespace failover {

class EspFence {
public:
	// Creates the table (family inet, "safailover") unless it exists.
	static Result<EspFence> open();

	// Drops what the node sends as ESP, AH or ESP in UDP.
	Result<std::monostate> close();
	// Lets it through again: only once the node's numbers are set.
	Result<std::monostate> open_gate();
	bool closed() const { return closed_; }

private:
	struct CtxFree {
		void operator()(nft_ctx *ctx) const;
	};
	explicit EspFence(std::unique_ptr<nft_ctx, CtxFree> ctx) : ctx_(std::move(ctx)) {}
	// Runs @commands as one nftables transaction.
	Result<std::monostate> run(const std::string &commands);

	std::unique_ptr<nft_ctx, CtxFree> ctx_;
	bool closed_ = false;
};

} // namespace failover
