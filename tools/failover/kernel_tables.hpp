// SPDX-License-Identifier: GPL-2.0
// The kernel's SAD and SPD over XFRM netlink, in the form the sync channel
// carries them: whole XFRM_MSG_NEWSA / NEWPOLICY messages as dumped.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "frame.hpp"
#include "replay/xfrm_socket.hpp"
#include "shadow_table.hpp"

namespace failover {

class KernelTables final : public KernelSink {
public:
	static Result<KernelTables> open();

	Result<std::vector<Bytes>> dump_sas() override;
	Result<std::vector<Bytes>> dump_policies() override;

	// Adds the SA of a NEWSA message, replacing one with the same SPI,
	// protocol and destination.
	Result<std::monostate> install_sa(std::span<const std::uint8_t> newsa,
					  Existing existing) override;
	Result<std::monostate> delete_sa(const replay::SaId &id) override;
	// Adds or replaces (XFRM_MSG_UPDPOLICY) the policy of a NEWPOLICY
	// message; the kernel picks the index.
	Result<std::monostate> install_policy(std::span<const std::uint8_t> newpolicy) override;
	// The same, with the action BLOCK: what a node that does not carry
	// traffic holds in place of a policy, so that nothing the policy
	// protects leaves it in the clear.
	Result<std::monostate> install_blocking(std::span<const std::uint8_t> newpolicy) override;
	// The policy a NEWPOLICY or DELPOLICY message names, by selector,
	// direction, mark and interface id (never by the sender's index);
	// ESRCH when there is none.
	Result<std::monostate> delete_policy(std::span<const std::uint8_t> policy) override;
	// Every SA and policy (the standby's tables are the daemon's).
	Result<std::monostate> flush();

private:
	explicit KernelTables(replay::xfrm::Socket sock) : sock_(std::move(sock)) {}
	Result<std::vector<Bytes>> dump(std::uint16_t type, const char *what);
	// @message copied into the aligned request buffer, as @type.
	nlmsghdr *request(std::span<const std::uint8_t> message, std::uint16_t type,
			  std::uint16_t flags);

	replay::xfrm::Socket sock_;
	// Requests carry SA keys: wiped when freed, like Bytes.
	std::vector<std::uint32_t, WipingAllocator<std::uint32_t>> tx_ =
		std::vector<std::uint32_t, WipingAllocator<std::uint32_t>>(kMaxBody / 4);
};

// Group events of the SAD and SPD, as sync frames.
class KernelEvents {
public:
	static Result<KernelEvents> open();
	int fd() const { return sock_.fd(); }
	// The frames for one datagram of SA and policy events. ENOBUFS when
	// the kernel dropped events: the caller must send a snapshot.
	// A flush shows as ESTALE for the same reason.
	Result<std::vector<Body>> receive();

private:
	explicit KernelEvents(replay::xfrm::Socket sock) : sock_(std::move(sock)) {}
	replay::xfrm::Socket sock_;
};

// What KernelEvents::receive() makes of one datagram of events.
Result<std::vector<Body>> frames_of_events(std::span<const std::uint8_t> datagram);

// The SA a NEWSA message describes (checked by the frame decoder).
replay::SaId sa_id_of(std::span<const std::uint8_t> newsa);

// What identifies a policy across nodes, from a NEWPOLICY message or a
// DELPOLICY event: its selector, direction, mark and interface id (if_id:
// xfrmi tunnels), as the kernel tells policies apart. A DELPOLICY event
// of a policy deleted by index (PF_KEY SPDDELETE2) has no selector in its
// header; its XFRMA_POLICY attribute has.
Bytes policy_key(std::span<const std::uint8_t> netlink);
// A NEWPOLICY message whose action is BLOCK: a policy that sends nothing.
bool policy_blocks(std::span<const std::uint8_t> newpolicy);

} // namespace failover
