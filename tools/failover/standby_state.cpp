// SPDX-License-Identifier: GPL-2.0
#include "standby_state.hpp"

#include <cerrno>

namespace failover {

using Change = StandbyState::Change;

Result<Change> StandbyState::apply(Body &body, int link_fd, Clock::time_point now)
{
	return std::visit([&](auto &b) { return on(b, link_fd, now); }, body);
}

Result<Change> StandbyState::on(SnapshotBegin &b, int link_fd, Clock::time_point)
{
	// A new snapshot: a Release held is of an earlier active.
	released_at_.reset();
	snapshot_fd_ = link_fd;
	shadow_.begin_snapshot(b);
	return Change::snapshot_began;
}

Result<Change> StandbyState::on(SnapshotEnd &, int, Clock::time_point)
{
	snapshot_fd_ = -1;
	if (shadow_.end_snapshot())
		synced_ = true;
	return Change::snapshot_ended;
}

Result<Change> StandbyState::on(SaRecord &r, int, Clock::time_point)
{
	shadow_.sa(std::move(r.netlink));
	return Change::none;
}

Result<Change> StandbyState::on(SaDelete &d, int, Clock::time_point)
{
	shadow_.sa_deleted(d.id);
	return Change::none;
}

Result<Change> StandbyState::on(PolicyRecord &p, int, Clock::time_point)
{
	shadow_.policy(std::move(p.netlink));
	return Change::none;
}

Result<Change> StandbyState::on(PolicyDelete &p, int, Clock::time_point)
{
	shadow_.policy_deleted(p.netlink);
	return Change::none;
}

Result<Change> StandbyState::on(ReplayUpdate &u, int, Clock::time_point)
{
	shadow_.replay(u);
	return Change::numbers;
}

Result<Change> StandbyState::on(Release &, int, Clock::time_point now)
{
	released_at_ = now;
	return Change::released;
}

Result<Change> StandbyState::on(Heartbeat &, int, Clock::time_point)
{
	return Change::none;
}

Result<Change> StandbyState::on(HandoverRequest &, int, Clock::time_point)
{
	return Error{EPROTO, "a handover request from the active"};
}

Result<Change> StandbyState::on(Hello &, int, Clock::time_point)
{
	return Error{EPROTO, "a second hello"};
}

Result<Change> StandbyState::on(Ack &, int, Clock::time_point)
{
	return Error{EPROTO, "an ack from the active"};
}

void StandbyState::link_lost(int link_fd)
{
	if (link_fd < 0 || link_fd != snapshot_fd_)
		return;
	snapshot_fd_ = -1;
	shadow_.interrupt();
}

void StandbyState::stop_snapshot()
{
	snapshot_fd_ = -1;
	shadow_.interrupt();
}

void StandbyState::reset()
{
	snapshot_fd_ = -1;
	synced_ = false;
	released_at_.reset();
}

bool StandbyState::fresh_release(Clock::time_point now, Clock::duration max_age)
{
	if (released_at_ && now - *released_at_ <= max_age)
		return true;
	released_at_.reset();
	return false;
}

} // namespace failover
