// SPDX-License-Identifier: GPL-2.0
// Encode and decode throughput of the messages a failover daemon handles
// most: replay notifications, small (legacy window) and large (4096).
#include <benchmark/benchmark.h>
#include <linux/ipsec.h>
#include <linux/pfkey_replay.h>
#include <linux/pfkeyv2.h>

#include "pfkey/message.hpp"

namespace {

pfkey::Message notification(std::uint32_t window)
{
	pfkey::Message m;

	m.type = SADB_X_REPLAY_NOTIFY;
	m.satype = SADB_SATYPE_ESP;
	m.sa = pfkey::Sa{0x1001, 32, SADB_SASTATE_MATURE, 0, SADB_X_EALG_AESCBC, 0};
	m.lifetime_current = pfkey::Lifetime{1000, 64000, 1700000000, 1700000001};
	m.src = pfkey::parse_address("10.0.0.1");
	m.dst = pfkey::parse_address("10.0.0.2");
	m.sa2 = pfkey::Sa2{IPSEC_MODE_TUNNEL, 0, 1};
	m.replay_thresh = pfkey::ReplayThresh{1000, 1000};
	m.replay_state = pfkey::ReplayState{
		true, SADB_X_REPLAY_CAUSE_COUNT, 1000, 998, window,
		std::vector<std::uint32_t>((window + 31) / 32, 0xffffffff)};
	return m;
}

void encode_notification(benchmark::State &state)
{
	const auto m = notification(state.range(0));

	for (auto _ : state)
		benchmark::DoNotOptimize(pfkey::encode(m));
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(state.iterations() * pfkey::encode(m).size());
}

void decode_notification(benchmark::State &state)
{
	const auto bytes = pfkey::encode(notification(state.range(0)));

	for (auto _ : state)
		benchmark::DoNotOptimize(pfkey::decode(bytes));
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(state.iterations() * bytes.size());
}

} // namespace

BENCHMARK(encode_notification)->Arg(32)->Arg(4096);
BENCHMARK(decode_notification)->Arg(32)->Arg(4096);
BENCHMARK_MAIN();
