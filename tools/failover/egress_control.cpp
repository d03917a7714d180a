// SPDX-License-Identifier: GPL-2.0
#include "egress_control.hpp"

#include "log.hpp"

namespace failover {

Result<std::monostate> EgressControl::logged(const Result<std::monostate> &r, const char *why)
{
	if (!r) {
		log("error", "esp_fence_failed",
		    {{"wanted", name(fence_->mode())}, {"reason", r.error().message()}});
		return Error{r.error().code, "ESP fence: " + r.error().message()};
	}
	log("info", "esp_fence", {{"mode", name(fence_->mode())}, {"reason", why}});
	return std::monostate{};
}

Result<std::monostate> EgressControl::stop(const char *why)
{
	late_.reset();
	if (!fence_)
		return std::monostate{};
	return logged(fence_->close(), why);
}

Result<std::monostate> EgressControl::open(const char *why)
{
	if (!fence_)
		return std::monostate{};
	return logged(fence_->open(), why);
}

void EgressControl::expect_late_sas(const ShadowView &view, const TakeoverReport &report,
				    const Margins &margins)
{
	late_.emplace(view, report, margins, Clock::now() + LateSas::kWindow);
	late_moved_ = late_failed_ = 0;
}

bool EgressControl::sweep(const char *when)
{
	auto swept = late_->sweep(backend_, kernel_);
	late_moved_ = late_->moved();
	late_failed_ = late_->failed();
	swept_ = Clock::now();
	if (!swept)
		log("error", "late_sas_sweep_failed", {{"when", when}, {"reason", swept.error().message()}});
	return swept.ok();
}

Result<std::monostate> EgressControl::release()
{
	if (!late_)
		return open("took over");
	// An SA it could not reach stays unadmitted: dropped, not sent.
	sweep("takeover");
	if (!fence_)
		return std::monostate{};
	return logged(fence_->admit_only(late_->admitted()), "took over: SAs of set numbers only");
}

Result<std::monostate> EgressControl::sa_appeared(const replay::SaId &id)
{
	if (!late_)
		return std::monostate{};
	auto moved = late_->appeared(id, backend_, kernel_, Clock::now());
	late_failed_ = late_->failed();
	if (!moved)
		return moved.error();
	if (!*moved)
		return std::monostate{};
	late_moved_ = late_->moved();
	if (fence_ && fence_->mode() == EspFence::Mode::admitting)
		(void)logged(fence_->admit(Admitted{id.dst.family, id.dst.addr, id.spi}),
			     "late SA moved");
	return std::monostate{};
}

void EgressControl::resweep()
{
	if (!late_ || !sweep("events lost") || !fence_ ||
	    fence_->mode() != EspFence::Mode::admitting)
		return;
	(void)logged(fence_->admit_only(late_->admitted()), "late SAs swept");
}

void EgressControl::keep(Clock::time_point now, bool active)
{
	if (late_ && late_->over(now) && now - swept_ >= kReassert) {
		// Every SA there is moved, or deleted, before everything may
		// leave; until then only the admitted ones do.
		if (sweep("window over")) {
			log("info", "late_sas_window_closed",
			    {{"moved", std::to_string(late_moved_)},
			     {"failed", std::to_string(late_failed_)}});
			late_.reset();
			if (active)
				(void)open("late SAs' window over");
		}
	}
	if (!fence_ || now - reasserted_ < kReassert)
		return;
	reasserted_ = now;
	const bool was_applied = fence_->applied();
	auto r = fence_->reassert();
	// Logged when it changes: a failure, and the recovery.
	if (!r && was_applied)
		(void)logged(r, "reasserted");
	else if (r && !was_applied)
		(void)logged(r, "reasserted after a failure");
}

} // namespace failover
