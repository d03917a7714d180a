// SPDX-License-Identifier: GPL-2.0
#include "active_feed.hpp"

#include <cerrno>
#include <chrono>
#include <netinet/in.h>
#include <set>

#include "log.hpp"
#include "shadow_table.hpp"

namespace failover {

std::uint64_t observed_now_ns()
{
	return std::chrono::duration_cast<std::chrono::nanoseconds>(
		       std::chrono::steady_clock::now().time_since_epoch())
		.count();
}

void ActiveFeed::apply_thresholds()
{
	names_.reset({});
	auto sas = tables_.dump_sas();
	if (!sas) {
		log("error", "dump_failed", {{"reason", sas.error().message()}});
		return;
	}
	names_.reset(*sas);
	for (const auto &record : *sas)
		set_thresh(sa_id_of(record));
}

void ActiveFeed::sa_added(const replay::SaId &id)
{
	names_.added(id);
	set_thresh(id);
}

void ActiveFeed::sa_deleted(const replay::SaId &id)
{
	names_.deleted(id);
}

void ActiveFeed::reread_names()
{
	if (backend_.kind() != replay::Kind::pfkey)
		return;
	if (auto sad = tables_.dump_sas(); sad)
		names_.reset(*sad);
	else
		log("error", "dump_failed", {{"reason", sad.error().message()}});
}

void ActiveFeed::set_thresh(const replay::SaId &id)
{
	// EOPNOTSUPP: a marked SA over PF_KEY, which a takeover fences
	// (and logs then); said here on every NEWSA, it would be noise.
	if (auto r = backend_.set_thresh(id, cfg_.thresh_for(id));
	    !r && r.error().code != ESRCH && r.error().code != EOPNOTSUPP)
		log("error", "thresh_failed", {{"sa", sa_text(id)}, {"reason", r.error().message()}});
}

// The replay update for @sa as the backend gave it; none when it cannot be
// told whose numbers they are. Over PF_KEY, a notification or dump entry
// under the unmarked name of marked SAs may be any of theirs: the unmarked
// SA of that name, when a lookup finds it alone, is read now by its name
// (pfkey_names.hpp); the marked ones are never sent.
std::optional<ReplayUpdate> ActiveFeed::update_for(replay::SaReplay sa, const PfkeyNames &names)
{
	if (backend_.kind() == replay::Kind::pfkey && names.ambiguous(sa.id)) {
		if (!names.resolvable(sa.id))
			return std::nullopt;
		auto own = backend_.get(sa.id);
		if (!own) {
			if (own.error().code != ESRCH)
				log("error", "replay_read_failed",
				    {{"sa", sa_text(sa.id)}, {"reason", own.error().message()}});
			return std::nullopt;
		}
		sa = std::move(*own);
	}
	return ReplayUpdate{sa.id, sa.thresh, sa.state, observed_now_ns()};
}

std::vector<ReplayUpdate> ActiveFeed::table()
{
	std::vector<ReplayUpdate> out;
	// Over PF_KEY, the SAD's marked SAs as they are now: the live set is
	// kept only while active.
	PfkeyNames names;
	if (backend_.kind() == replay::Kind::pfkey) {
		if (auto sad = tables_.dump_sas(); sad)
			names.reset(*sad);
		else
			log("error", "dump_failed", {{"reason", sad.error().message()}});
	}
	for (std::uint8_t proto : {IPPROTO_ESP, IPPROTO_AH}) {
		auto sas = backend_.dump(proto);
		if (!sas) {
			log("error", "replay_dump_failed", {{"reason", sas.error().message()}});
			continue;
		}
		// An unmarked name marked SAs share is in the dump once per SA
		// answering to it; its own SA is read once.
		std::set<SaKey> read;
		for (auto &sa : *sas) {
			if (names.ambiguous(sa.id) && !read.insert(key_of(sa.id)).second)
				continue;
			if (auto u = update_for(std::move(sa), names))
				out.push_back(std::move(*u));
		}
	}
	return out;
}

Result<ActiveFeed::SnapshotSize> ActiveFeed::snapshot(bool records,
						      const std::function<void(Body)> &emit)
{
	auto sas = tables_.dump_sas();
	auto policies = tables_.dump_policies();
	if (!sas)
		return sas.error();
	if (!policies)
		return policies.error();
	if (!records) {
		sas->clear();
		policies->clear();
	}
	const SnapshotSize size{sas->size(), policies->size()};
	emit(SnapshotBegin{static_cast<std::uint32_t>(size.sas),
			   static_cast<std::uint32_t>(size.policies)});
	for (auto &sa : *sas)
		emit(SaRecord{std::move(sa)});
	sas->clear();
	for (auto &p : *policies)
		emit(PolicyRecord{std::move(p)});
	policies->clear();
	for (auto &u : table())
		emit(std::move(u));
	emit(SnapshotEnd{});
	return size;
}

ActiveFeed::Notifications ActiveFeed::drain(std::size_t max_events)
{
	Notifications n;
	for (std::size_t events = 0; events < max_events; events++) {
		auto e = backend_.next_event(std::chrono::milliseconds(0));
		if (!e) {
			if (e.error().code != ETIMEDOUT)
				log("error", "replay_receive", {{"reason", e.error().message()}});
			return n;
		}
		if (std::holds_alternative<replay::Overrun>(*e)) {
			// Lost notifications: everyone gets the whole table.
			log("warning", "replay_overrun", {});
			n.overruns++;
			for (auto &u : table())
				n.updates.push_back(std::move(u));
			// A whole table is a batch's worth.
			n.more = true;
			return n;
		}
		if (auto u = update_for(std::move(std::get<replay::SaReplay>(*e)), names_)) {
			n.updates.push_back(std::move(*u));
			n.notifications++;
		}
	}
	n.more = true;
	return n;
}

} // namespace failover
