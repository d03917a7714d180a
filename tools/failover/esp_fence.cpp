// SPDX-License-Identifier: GPL-2.0
#include "esp_fence.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <nftables/libnftables.h>
#include <sys/socket.h>

namespace failover {
namespace {

// Elements per transaction: a user namespace's netlink socket refuses a
// batch of about 13,000 (its send buffer).
constexpr std::size_t kElementsPerTransaction = 4096;

constexpr const char *kDeclare =
	"add table inet safailover\n"
	"add counter inet safailover before_encryption\n"
	"add counter inet safailover after_encryption\n"
	"add chain inet safailover esp_out"
	" { type filter hook output priority filter; policy accept; }\n"
	"add chain inet safailover forward"
	" { type filter hook forward priority filter; policy accept; }\n"
	"add set inet safailover admitted4 { typeof ip daddr . esp spi; }\n"
	"add set inet safailover admitted6 { typeof ip6 daddr . esp spi; }\n"
	"flush chain inet safailover esp_out\n"
	"flush chain inet safailover forward\n"
	"flush set inet safailover admitted4\n"
	"flush set inet safailover admitted6\n";

#define RULE(chain, match, counter, why)                                                    \
	"add rule inet safailover " chain " " match " counter name \"" counter "\" drop"      \
	" comment \"safailover: " why "\"\n"
#define NOT_ACTIVE "not active"
#define NOT_SET "numbers not set yet"

// Before encryption: a packet whose route is an IPsec bundle. After: the
// kernel sends each ESP or AH packet it made through LOCAL_OUT (xfrm
// interfaces' too); ESP in UDP starts with a non-zero SPI where IKE
// carries its zero marker (a 1-byte keepalive is too short to match).
constexpr const char *kClosed =
	RULE("forward", "rt ipsec exists", "before_encryption", NOT_ACTIVE)
	RULE("esp_out", "rt ipsec exists", "before_encryption", NOT_ACTIVE)
	RULE("esp_out", "meta l4proto { esp, ah }", "after_encryption", NOT_ACTIVE)
	RULE("esp_out", "udp sport 4500 @th,64,32 != 0", "after_encryption", NOT_ACTIVE);
constexpr int kClosedRules = 4;

#define ADMITTED_BEFORE(chain)                                                                \
	RULE(chain, "rt ipsec exists ipsec out ip daddr . ipsec out spi != @admitted4",       \
	     "before_encryption", NOT_SET)                                                      \
	RULE(chain, "rt ipsec exists ipsec out ip6 daddr . ipsec out spi != @admitted6",      \
	     "before_encryption", NOT_SET)
constexpr const char *kAdmitting =
	ADMITTED_BEFORE("forward")
	ADMITTED_BEFORE("esp_out")
	RULE("esp_out", "ip daddr . esp spi != @admitted4", "after_encryption", NOT_SET)
	RULE("esp_out", "ip daddr . ah spi != @admitted4", "after_encryption", NOT_SET)
	RULE("esp_out", "ip6 daddr . esp spi != @admitted6", "after_encryption", NOT_SET)
	RULE("esp_out", "ip6 daddr . ah spi != @admitted6", "after_encryption", NOT_SET)
	RULE("esp_out", "udp sport 4500 @th,64,32 != 0 ip daddr . @th,64,32 != @admitted4",
	     "after_encryption", NOT_SET)
	RULE("esp_out", "udp sport 4500 @th,64,32 != 0 ip6 daddr . @th,64,32 != @admitted6",
	     "after_encryption", NOT_SET);
constexpr int kAdmittingRules = 10;

// "add element ..." for @sas, @limit at most from @from on.
std::string elements(std::set<Admitted>::const_iterator &from,
		     std::set<Admitted>::const_iterator end, std::size_t limit)
{
	std::string v4, v6;
	for (std::size_t n = 0; from != end && n < limit; ++from, ++n) {
		char addr[INET6_ADDRSTRLEN] = "", spi[16];
		if (!inet_ntop(from->family, from->dst.data(), addr, sizeof(addr)))
			continue;
		std::snprintf(spi, sizeof(spi), " . 0x%08x", from->spi);
		std::string &to = from->family == AF_INET6 ? v6 : v4;
		to += (to.empty() ? "" : ", ") + std::string(addr) + spi;
	}
	std::string out;
	if (!v4.empty())
		out += "add element inet safailover admitted4 { " + v4 + " }\n";
	if (!v6.empty())
		out += "add element inet safailover admitted6 { " + v6 + " }\n";
	return out;
}

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

Result<std::monostate> EspFence::apply()
{
	std::string first = kDeclare;
	auto next = admitted_.cbegin();
	if (mode_ == Mode::closed)
		first += kClosed;
	if (mode_ == Mode::admitting)
		first += kAdmitting + elements(next, admitted_.cend(), kElementsPerTransaction);
	auto r = run(first);
	// The rest of a large set: admitted later, never too early.
	while (r && next != admitted_.cend())
		r = run(elements(next, admitted_.cend(), kElementsPerTransaction));
	applied_ = r.ok();
	return r;
}

bool EspFence::intact()
{
	std::string listing;
	if (!run("list table inet safailover\n", &listing))
		return false;
	int rules = 0;
	for (auto at = listing.find("comment \"safailover: "); at != std::string::npos;
	     at = listing.find("comment \"safailover: ", at + 1))
		rules++;
	return rules == (mode_ == Mode::closed ? kClosedRules
			 : mode_ == Mode::admitting ? kAdmittingRules
						    : 0);
}

Result<std::monostate> EspFence::reassert()
{
	if (applied_ && intact())
		return std::monostate{};
	return apply();
}

Result<std::monostate> EspFence::run(const std::string &commands, std::string *out)
{
	const int rc = nft_run_cmd_from_buffer(ctx_.get(), commands.c_str());
	// Read, and so emptied, each time: no old warning in the next error.
	const char *output = nft_ctx_get_output_buffer(ctx_.get());
	std::string why = nft_ctx_get_error_buffer(ctx_.get());
	if (out)
		*out = output ? output : "";
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

Result<std::monostate> EspFence::admit_only(std::set<Admitted> sas)
{
	mode_ = Mode::admitting;
	admitted_ = std::move(sas);
	return apply();
}

Result<std::monostate> EspFence::admit(const Admitted &sa)
{
	if (mode_ != Mode::admitting || !admitted_.insert(sa).second)
		return std::monostate{};
	if (!applied_)
		return apply();
	const std::set<Admitted> one{sa};
	auto it = one.cbegin();
	auto r = run(elements(it, one.cend(), 1));
	applied_ = r.ok();
	return r;
}

Result<std::monostate> EspFence::open()
{
	mode_ = Mode::open;
	admitted_.clear();
	return apply();
}

} // namespace failover
