// SPDX-License-Identifier: GPL-2.0
// A KernelSink for tests: the SAD and SPD in maps, no kernel.
#pragma once

#include <cerrno>
#include <map>

#include "kernel_tables.hpp"
#include "shadow_table.hpp"

namespace failover {

// A kernel SAD and SPD in memory, keyed as the daemon keys them.
class FakeKernel final : public KernelSink {
public:
	Result<std::vector<Bytes>> dump_sas() override
	{
		if (sad_unreadable)
			return Error{ENOBUFS, "SAD dump"};
		std::vector<Bytes> out;
		for (const auto &[key, sa] : sas)
			out.push_back(sa);
		return out;
	}
	Result<std::vector<Bytes>> dump_policies() override
	{
		if (spd_unreadable)
			return Error{ENOBUFS, "SPD dump"};
		std::vector<Bytes> out;
		for (const auto &[key, p] : policies)
			out.push_back(p);
		return out;
	}
	Result<std::monostate> install_sa(std::span<const std::uint8_t> newsa,
					  Existing existing) override
	{
		Bytes &slot = sas[key_of(sa_id_of(newsa))];
		if (!slot.empty() && existing == Existing::keep)
			return Error{EEXIST, "SA exists"};
		slot = Bytes(newsa.begin(), newsa.end());
		return std::monostate{};
	}
	Result<std::monostate> delete_sa(const replay::SaId &id) override
	{
		if (!sas.erase(key_of(id)))
			return Error{ESRCH, "no SA"};
		return std::monostate{};
	}
	Result<std::monostate> install_blocking(std::span<const std::uint8_t> p) override
	{
		if (blocking_fails)
			return Error{ENOMEM, "install_blocking"};
		policies[policy_key(p)] = Bytes(p.begin(), p.end());
		blocking++;
		return std::monostate{};
	}
	Result<std::monostate> install_policy(std::span<const std::uint8_t> p) override
	{
		policies[policy_key(p)] = Bytes(p.begin(), p.end());
		installed++;
		return std::monostate{};
	}
	Result<std::monostate> delete_policy(std::span<const std::uint8_t> p) override
	{
		if (!policies.erase(policy_key(p)))
			return Error{ESRCH, "no policy"};
		return std::monostate{};
	}

	std::map<SaKey, Bytes> sas;
	std::map<Bytes, Bytes> policies;
	int blocking = 0, installed = 0;
	bool sad_unreadable = false, spd_unreadable = false, blocking_fails = false;
};

} // namespace failover
