// SPDX-License-Identifier: GPL-2.0
#include "esp_fence.hpp"

#include <cerrno>
#include <nftables/libnftables.h>

namespace failover {
namespace {

constexpr const char *kTable = "inet safailover";

// The output hook sees the packets the kernel made by ESP (or AH) for
// forwarded traffic too: xfrm sends each one through LOCAL_OUT. ESP in
// UDP starts with a non-zero SPI where IKE carries its zero marker.
const std::string kDropRules =
	std::string("add rule ") + kTable +
	" esp_out meta l4proto { esp, ah } counter drop comment \"safailover: not active\"\n" +
	"add rule " + kTable +
	" esp_out udp sport 4500 @th,64,32 != 0 counter drop comment \"safailover: not active\"\n";

} // namespace

void EspFence::CtxFree::operator()(nft_ctx *ctx) const { nft_ctx_free(ctx); }

Result<EspFence> EspFence::open()
{
	std::unique_ptr<nft_ctx, CtxFree> ctx(nft_ctx_new(NFT_CTX_DEFAULT));
	if (!ctx)
		return Error{ENOMEM, "nftables: no context"};
	if (nft_ctx_buffer_output(ctx.get()) || nft_ctx_buffer_error(ctx.get()))
		return Error{ENOMEM, "nftables: no output buffers"};
	EspFence fence(std::move(ctx));
	if (auto r = fence.run(std::string("add table ") + kTable + "\n" + "add chain " + kTable +
			       " esp_out { type filter hook output priority filter; policy accept; }\n");
	    !r)
		return r.error();
	return fence;
}

Result<std::monostate> EspFence::run(const std::string &commands)
{
	const int rc = nft_run_cmd_from_buffer(ctx_.get(), commands.c_str());
	// Read, and so emptied, each time: no old warning in the next error.
	nft_ctx_get_output_buffer(ctx_.get());
	std::string why = nft_ctx_get_error_buffer(ctx_.get());
	if (rc == 0)
		return std::monostate{};
	while (!why.empty() && why.back() == '\n')
		why.pop_back();
	return Error{EIO, "nftables: " + (why.empty() ? std::string("failed") : why)};
}

Result<std::monostate> EspFence::close()
{
	// Flushed first in the same transaction: closing twice adds no rules.
	auto r = run(std::string("flush chain ") + kTable + " esp_out\n" + kDropRules);
	if (r)
		closed_ = true;
	return r;
}

Result<std::monostate> EspFence::open_gate()
{
	auto r = run(std::string("flush chain ") + kTable + " esp_out\n");
	if (r)
		closed_ = false;
	return r;
}

} // namespace failover
