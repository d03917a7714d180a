// SPDX-License-Identifier: GPL-2.0
#include "pair_release.hpp"

#include <algorithm>

#include "kernel_tables.hpp"

namespace failover {

std::string release_refusal(const ReleaseFacts &facts, KernelSink &kernel)
{
	if (facts.ike_owned)
		return "the IKE daemon owns the policies: this node cannot promise not to send";
	if (facts.wanted_active)
		return "wanted active too";
	if (facts.peers != 1)
		return "not one of a pair: another node may be active";
	if (facts.active_connected)
		return "an active is connected";
	if (!facts.numbers_final)
		return "its numbers are not known final (no complete stand-down, not synced)";
	auto policies = kernel.dump_policies();
	if (!policies)
		return "the SPD cannot be read: " + policies.error().message();
	if (!std::all_of(policies->begin(), policies->end(),
			 [](const Bytes &p) { return policy_blocks(p); }))
		return "a policy that is not BLOCK: this node may send";
	return {};
}

} // namespace failover
