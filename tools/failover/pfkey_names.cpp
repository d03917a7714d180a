// SPDX-License-Identifier: GPL-2.0
#include "pfkey_names.hpp"

#include "kernel_tables.hpp"

namespace failover {
namespace {

SaKey unmarked_key(replay::SaId id)
{
	id.mark = {};
	return key_of(id);
}

} // namespace

void PfkeyNames::reset(std::span<const Bytes> newsas)
{
	marked_.clear();
	for (const auto &record : newsas)
		added(sa_id_of(record));
}

void PfkeyNames::added(const replay::SaId &id)
{
	if (id.mark.any())
		marked_[unmarked_key(id)].emplace(id.mark.v, id.mark.m);
}

void PfkeyNames::deleted(const replay::SaId &id)
{
	const auto it = marked_.find(unmarked_key(id));
	if (it == marked_.end())
		return;
	it->second.erase({id.mark.v, id.mark.m});
	if (it->second.empty())
		marked_.erase(it);
}

bool PfkeyNames::ambiguous(const replay::SaId &name) const
{
	return marked_.count(unmarked_key(name));
}

bool PfkeyNames::resolvable(const replay::SaId &name) const
{
	const auto it = marked_.find(unmarked_key(name));
	if (it == marked_.end())
		return true;
	for (const auto &[value, mask] : it->second)
		if (value == 0)
			return false;
	return true;
}

} // namespace failover
