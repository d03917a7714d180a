// SPDX-License-Identifier: GPL-2.0
#include "esp_fence.hpp"

#include <cerrno>
#include <cstdio>
#include <nftables/libnftables.h>

namespace failover {
namespace {

constexpr const char *kDeclare =
	"add table inet safailover\n"
	"add chain inet safailover esp_out"
	" { type filter hook output priority filter; policy accept; }\n"
	"add chain inet safailover forward"
	" { type filter hook forward priority filter; policy accept; }\n"
	"add set inet safailover admitted { typeof esp spi; }\n"
	"flush chain inet safailover esp_out\n"
	"flush chain inet safailover forward\n"
	"flush set inet safailover admitted\n";

// Before encryption: a packet whose route is an IPsec bundle. After: the
// kernel sends each ESP or AH packet it made through LOCAL_OUT (xfrm
// interfaces' too); ESP in UDP starts with a non-zero SPI where IKE
// carries its zero marker (a 1-byte keepalive is too short to match).
constexpr const char *kClosed =
	"add rule inet safailover forward rt ipsec exists counter drop"
	" comment \"safailover: not active\"\n"
	"add rule inet safailover esp_out rt ipsec exists counter drop"
	" comment \"safailover: not active\"\n"
	"add rule inet safailover esp_out meta l4proto { esp, ah } counter drop"
	" comment \"safailover: not active\"\n"
	"add rule inet safailover esp_out udp sport 4500 @th,64,32 != 0 counter drop"
	" comment \"safailover: not active\"\n";

constexpr const char *kAdmitting =
	"add rule inet safailover esp_out esp spi != @admitted counter drop"
	" comment \"safailover: numbers not set yet\"\n"
	"add rule inet safailover esp_out ah spi != @admitted counter drop"
	" comment \"safailover: numbers not set yet\"\n"
	"add rule inet safailover esp_out udp sport 4500 @th,64,32 != 0"
	" @th,64,32 != @admitted counter drop comment \"safailover: numbers not set yet\"\n";

} // namespace

const char *name(EspFence::Mode mode)
{
	switch (mode) {
	case EspFence::Mode::open:
		return "open";
	case EspFence::Mode::closed:
		return "closed";
	case EspFence::Mode::admitting:
		return "admitting";
	}
	return "?";
}

void EspFence::CtxFree::operator()(nft_ctx *ctx) const { nft_ctx_free(ctx); }

Result<EspFence> EspFence::create()
{
	std::unique_ptr<nft_ctx, CtxFree> ctx(nft_ctx_new(NFT_CTX_DEFAULT));
	if (!ctx)
		return Error{ENOMEM, "nftables: no context"};
	if (nft_ctx_buffer_output(ctx.get()) || nft_ctx_buffer_error(ctx.get()))
		return Error{ENOMEM, "nftables: no output buffers"};
	EspFence fence(std::move(ctx));
	// Declared only: the mode a previous daemon left stays until the
	// caller picks one.
	if (auto r = fence.run("add table inet safailover\n"); !r)
		return r.error();
	return fence;
}

std::string EspFence::transaction() const
{
	std::string t = kDeclare;
	switch (mode_) {
	case Mode::open:
		break;
	case Mode::closed:
		t += kClosed;
		break;
	case Mode::admitting:
		if (!admitted_.empty()) {
			t += "add element inet safailover admitted { ";
			const char *sep = "";
			for (auto spi : admitted_) {
				char hex[16];
				std::snprintf(hex, sizeof(hex), "%s0x%08x", sep, spi);
				t += hex;
				sep = ", ";
			}
			t += " }\n";
		}
		t += kAdmitting;
		break;
	}
	return t;
}

Result<std::monostate> EspFence::apply()
{
	auto r = run(transaction());
	applied_ = r.ok();
	return r;
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
	mode_ = Mode::closed;
	admitted_.clear();
	return apply();
}

Result<std::monostate> EspFence::admit_only(std::set<std::uint32_t> spis)
{
	mode_ = Mode::admitting;
	admitted_ = std::move(spis);
	return apply();
}

Result<std::monostate> EspFence::admit(std::uint32_t spi)
{
	if (mode_ != Mode::admitting)
		return std::monostate{};
	if (!admitted_.insert(spi).second && applied_)
		return std::monostate{};
	return apply();
}

Result<std::monostate> EspFence::open()
{
	mode_ = Mode::open;
	admitted_.clear();
	return apply();
}

} // namespace failover
