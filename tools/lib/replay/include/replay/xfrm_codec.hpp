// SPDX-License-Identifier: GPL-2.0
// The XFRM netlink messages of the netlink backend, built and parsed with
// libmnl. Parsing is strict for the attributes used here (size, duplicates,
// a truncated tail) and ignores attributes newer kernels may add.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "replay/backend.hpp"

struct nlmsghdr;

namespace replay::xfrm {

// The replay state as the kernel keeps it: XFRMA_REPLAY_VAL (legacy, up to
// 32 packets) or XFRMA_REPLAY_ESN_VAL (a ring; bitmap or ESN SAs).
struct KernelReplay {
	bool ring = false;
	std::uint32_t oseq = 0, seq = 0, oseq_hi = 0, seq_hi = 0;
	std::uint32_t window = 0;		// ring only
	std::vector<std::uint32_t> bitmap;	// legacy: 1 word; ring: bmp_len
	bool operator==(const KernelReplay &) const = default;
};

// XFRM_MSG_NEWSA, as far as replay state goes.
struct KernelSa {
	SaId id;
	std::uint32_t reqid = 0;
	bool esn = false;
	std::uint32_t legacy_window = 0;	// xfrm_usersa_info.replay_window
	KernelReplay replay;
};

// XFRM_MSG_NEWAE, a reply to GETAE or a notification.
struct KernelAevent {
	SaId id;	// id.src is the SA's source address
	std::uint32_t reqid = 0;
	std::uint32_t flags = 0;	// XFRM_AE_*
	KernelReplay replay;
	std::optional<std::uint32_t> packets;		// XFRMA_REPLAY_THRESH
	std::optional<std::uint32_t> deciseconds;	// XFRMA_ETIMER_THRESH
};

// What XFRM_MSG_NEWAE changes; absent fields stay as they are. The kernel
// takes XFRMA_ETIMER_THRESH in jiffies but reports it in 1/10 s.
struct AeUpdate {
	std::optional<KernelReplay> replay;
	std::optional<std::uint32_t> packets;
	std::optional<std::uint32_t> etimer_jiffies;
};

// Builders write one request into @buf (at least MNL_SOCKET_BUFFER_SIZE
// bytes) and return it.
nlmsghdr *build_get_sa(std::span<std::uint8_t> buf, const SaId &id, std::uint32_t seq);
nlmsghdr *build_dump_sa(std::span<std::uint8_t> buf, std::uint32_t seq);
// XFRM_MSG_DELSA of @id, acknowledged.
nlmsghdr *build_del_sa(std::span<std::uint8_t> buf, const SaId &id, std::uint32_t seq);
nlmsghdr *build_get_ae(std::span<std::uint8_t> buf, const SaId &id, std::uint32_t seq);
nlmsghdr *build_new_ae(std::span<std::uint8_t> buf, const SaId &id, std::uint32_t seq,
		       const AeUpdate &update);

// The messages of one datagram. EINVAL if a length does not fit (libmnl's
// mnl_nlmsg_ok() takes lengths of 2 GiB and more for negative ones).
Result<std::vector<const nlmsghdr *>> split(std::span<const std::uint8_t> datagram);

// @nlh is one message of split(), or as trustworthy.
Result<KernelSa> parse_sa(const nlmsghdr *nlh);
Result<KernelAevent> parse_aevent(const nlmsghdr *nlh);

// Canonical view; @legacy_window sizes XFRMA_REPLAY_VAL's bitmap.
ReplayState to_canonical(const KernelReplay &replay, bool esn,
			 std::uint32_t legacy_window);
// @state in the layout of @like (the SA's current state).
KernelReplay to_kernel(const ReplayState &state, const KernelReplay &like);

// SADB_X_REPLAY_CAUSE_* of a notification's XFRM_AE_* flags.
std::uint8_t cause_of(std::uint32_t flags);

} // namespace replay::xfrm
