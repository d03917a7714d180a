// SPDX-License-Identifier: GPL-2.0
#include "stand_down.hpp"

#include <algorithm>
#include <chrono>
#include <netinet/in.h>
#include <thread>

#include "kernel_tables.hpp"

namespace failover {
namespace {

bool same_numbers(const std::vector<ReplayUpdate> &a, const std::vector<ReplayUpdate> &b)
{
	return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto &x, const auto &y) {
		return x.id == y.id && x.state == y.state;
	});
}

std::vector<ReplayUpdate> settled_numbers(ActiveFeed &feed)
{
	using namespace std::chrono_literals;
	auto numbers = feed.table();
	for (int reads = 0; reads < 5; reads++) {
		std::this_thread::sleep_for(10ms);
		auto again = feed.table();
		const bool same = same_numbers(again, numbers);
		numbers = std::move(again);
		if (same)
			break;
	}
	return numbers;
}

void add_numbers(ShadowView &view, const ReplayUpdate &u)
{
	auto &sa = view.sas[key_of(u.id)];
	sa.id = u.id;
	sa.state = u.state;
	sa.thresh = u.thresh;
}

} // namespace

StoodDown block_and_read(KernelSink &kernel, ActiveFeed &feed)
{
	StoodDown out;
	auto sas = kernel.dump_sas();
	auto policies = kernel.dump_policies();
	if (policies) {
		for (auto &p : *policies) {
			if (kernel.install_blocking(p))
				out.blocked++;
			else
				out.failed++;
			out.own.policies[policy_key(p)] = std::move(p);
		}
	} else {
		out.failed++;
	}
	if (sas) {
		for (auto &record : *sas) {
			const auto id = sa_id_of(record);
			auto &sa = out.own.sas[key_of(id)];
			sa.id = id;
			sa.record = std::move(record);
		}
	} else {
		out.failed++;
	}
	out.final_numbers = settled_numbers(feed);
	const auto replayed =
		std::count_if(out.own.sas.begin(), out.own.sas.end(), [](const auto &kv) {
			return kv.second.id.proto == IPPROTO_ESP || kv.second.id.proto == IPPROTO_AH;
		});
	long covered = 0;
	for (const auto &u : out.final_numbers) {
		covered += !out.own.sas[key_of(u.id)].record.empty();
		add_numbers(out.own, u);
	}
	// Not final when a policy may still carry traffic, nor complete
	// when an SA's numbers went unread.
	out.complete = !out.failed && covered >= replayed;
	return out;
}

ShadowView numbers_view(const std::vector<ReplayUpdate> &numbers)
{
	ShadowView view;
	for (const auto &u : numbers)
		add_numbers(view, u);
	return view;
}

} // namespace failover
