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
	late_moved_ = 0;
}

Result<std::monostate> EgressControl::release()
{
	if (!late_)
		return open("took over");
	auto swept = late_->sweep(backend_, kernel_);
	if (!swept)
		log("error", "late_sas_sweep_failed", {{"reason", swept.error().message()}});
	late_moved_ = late_->moved();
	if (!fence_)
		return std::monostate{};
	return logged(fence_->admit_only(late_->spis()), "took over: SAs of set numbers only");
}

Result<std::monostate> EgressControl::sa_appeared(const replay::SaId &id)
{
	if (!late_)
		return std::monostate{};
	auto moved = late_->appeared(id, backend_, kernel_, Clock::now());
	if (!moved)
		return moved.error();
	if (!*moved)
		return std::monostate{};
	late_moved_ = late_->moved();
	if (fence_)
		(void)logged(fence_->admit(id.spi), "late SA moved");
	return std::monostate{};
}

void EgressControl::keep(Clock::time_point now, bool active)
{
	if (late_ && late_->over(now)) {
		auto swept = late_->sweep(backend_, kernel_);
		late_moved_ = late_->moved();
		log(swept ? "info" : "error", "late_sas_window_closed",
		    {{"moved", std::to_string(late_moved_)},
		     {"last_sweep", swept ? std::to_string(*swept) : swept.error().message()}});
		late_.reset();
		if (active)
			(void)open("late SAs' window over");
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
