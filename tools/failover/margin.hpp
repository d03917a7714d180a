// SPDX-License-Identifier: GPL-2.0
// How far a standby moves an SA's replay state at takeover.
//
// The active reports an SA when a counter moved by N packets, or T passed
// with a change. So at the moment it dies, the standby's last report is
// behind the truth by at most
//     unseen = (N > 0 ? N : rate * T) + rate * (lag + staleness)
// packets: a full count period (or timer period), plus what was sent while
// reports were in flight (lag, an operator bound on the channel's delay)
// or while the channel was quiet before the takeover (staleness). rate is
// the highest packet rate seen on that SA. Outbound, the standby starts at
// last + max(floor, unseen): every number the old active used is below it.
// Inbound, the window is set to the last report as is: a packet the peer
// sends after the takeover is never dropped, and up to "unseen" packets the
// old active accepted after its last report could be replayed once. Both
// numbers are logged per takeover.
#pragma once

#include <cstdint>

#include "replay/backend.hpp"

namespace failover {

// Highest packet rate between two reports of one SA, from the active's
// timestamps (the channel's delay does not distort it).
// Rates come from reports at least kMinSampleNs apart, and are capped at
// kMaxPps (100 Gbit/s of minimum-size packets is ~150 Mpps per link; no
// single SA is processed that fast by the kernel's crypto).
class RateEstimate {
public:
	static constexpr std::uint64_t kMinSampleNs = 100'000'000;
	static constexpr double kMaxPps = 10'000'000;

	void observe(const replay::ReplayState &state, std::uint64_t observed_ns);
	double peak_pps() const { return peak_; }

private:
	std::uint64_t last_ns_ = 0, last_oseq_ = 0, last_seq_ = 0;
	double peak_ = 0;
};

struct MarginInputs {
	replay::ReplayThresh thresh;
	double peak_pps = 0;
	double lag_s = 0;
	double staleness_s = 0;
	std::uint64_t floor = 0;
};

// Packets the standby may not have seen (the formula above).
std::uint64_t unseen_bound(const MarginInputs &in);

struct TakeoverStep {
	replay::ReplayState state;	// to set
	std::uint64_t margin = 0;	// added to oseq
	std::uint64_t inbound_exposure = 0;
	bool exhausted = false;		// a 32-bit counter hit its end: rekey
};

TakeoverStep plan_takeover(const replay::ReplayState &last, const MarginInputs &in);

} // namespace failover
