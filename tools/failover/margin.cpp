// SPDX-License-Identifier: GPL-2.0
#include "margin.hpp"

#include <algorithm>
#include <cmath>

namespace failover {

void RateEstimate::observe(const replay::ReplayState &state, std::uint64_t observed_ns)
{
	if (!last_ns_) {
		last_ns_ = observed_ns;
	} else if (observed_ns >= last_ns_ + kMinSampleNs) {
		const std::uint64_t moved = std::max(state.oseq > last_oseq_ ? state.oseq - last_oseq_ : 0,
						     state.seq > last_seq_ ? state.seq - last_seq_ : 0);
		const double seconds = (observed_ns - last_ns_) / 1e9;
		peak_ = std::min(kMaxPps, std::max(peak_, moved / seconds));
		last_ns_ = observed_ns;
	} else {
		// Reports read together after a stall are stamped close together:
		// too short an interval to say anything about the rate.
		return;
	}
	last_oseq_ = std::max(last_oseq_, state.oseq);
	last_seq_ = std::max(last_seq_, state.seq);
}

std::uint64_t unseen_bound(const MarginInputs &in)
{
	const double period = in.thresh.packets
				      ? in.thresh.packets
				      : in.peak_pps * in.thresh.msecs / 1000.0;
	const double unseen = std::ceil(period + in.peak_pps * (in.lag_s + in.staleness_s));
	// Saturate: a double past 2^64 does not convert.
	if (!(unseen < 0x1p63))
		return 1ULL << 63;
	return unseen > 0 ? static_cast<std::uint64_t>(unseen) : 0;
}

TakeoverStep plan_takeover(const replay::ReplayState &last, const MarginInputs &in)
{
	TakeoverStep step;
	const std::uint64_t unseen = unseen_bound(in);
	const std::uint64_t limit = last.esn ? UINT64_MAX : UINT32_MAX;

	step.state = last;
	step.state.cause = 0;
	step.margin = std::max(in.floor, unseen);
	step.inbound_exposure = last.seq ? unseen : 0;
	if (last.oseq > limit - step.margin) {
		step.state.oseq = limit;
		step.exhausted = true;
	} else {
		step.state.oseq = last.oseq + step.margin;
	}
	return step;
}

} // namespace failover
