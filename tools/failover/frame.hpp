// SPDX-License-Identifier: GPL-2.0
// The sync channel's frames, active -> standby and back. Every frame has a
// header (magic, type, length, sequence number) and a typed body; SAs and
// policies travel as the XFRM netlink messages the kernel dumped, so keys
// (AEAD included), ESN, encapsulation and marks arrive as the kernel knows
// them. The decoder is strict: any malformed byte is an error value.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "replay/backend.hpp"

namespace failover {

using pfkey::Error;
using pfkey::Result;
// Memory that may have held key material is wiped when it is freed: SA
// records carry keys, and so do the TLS buffers they pass through.
template <class T>
struct WipingAllocator {
	using value_type = T;
	WipingAllocator() = default;
	template <class U>
	WipingAllocator(const WipingAllocator<U> &) noexcept
	{
	}
	T *allocate(std::size_t n) { return std::allocator<T>{}.allocate(n); }
	void deallocate(T *p, std::size_t n) noexcept
	{
		explicit_bzero(p, n * sizeof(T));
		std::allocator<T>{}.deallocate(p, n);
	}
	template <class U>
	bool operator==(const WipingAllocator<U> &) const noexcept
	{
		return true;
	}
};
using Bytes = std::vector<std::uint8_t, WipingAllocator<std::uint8_t>>;

enum class Role : std::uint8_t { active = 1, standby = 2 };

// Who installs, rekeys and deletes the SAs and policies. safailover: the
// daemon mirrors the active's SAD and SPD onto the standbys itself. ike:
// an IKE daemon with its own HA (strongSwan's ha plugin) does it on every
// node; safailover then never writes an SA or a policy, and only carries
// thresholds and replay state, which it sets at takeover on the SAs the
// IKE daemon installed (deleting one it cannot set: fail closed). Both
// nodes of a pair must agree: a Hello carries it.
enum class SaOwner : std::uint8_t { safailover = 1, ike = 2 };

// A node name as configured and as a Hello carries it: 1 to 255 letters,
// digits, dots, dashes and underscores (it reaches logs, JSON and TLS
// name checks; nothing else is safe in all three).
bool valid_node_name(std::string_view name);

// First frame each way: who is speaking.
struct Hello {
	Role role = Role::standby;
	std::uint64_t epoch = 0;	// bumped by every takeover
	std::string node;		// 1 to 255 bytes
	SaOwner sa_owner = SaOwner::safailover;
	bool operator==(const Hello &) const = default;
};

// A full copy of the active's SAD and SPD follows, then SnapshotEnd.
struct SnapshotBegin {
	std::uint32_t sas = 0, policies = 0;
	bool operator==(const SnapshotBegin &) const = default;
};
struct SnapshotEnd {
	bool operator==(const SnapshotEnd &) const = default;
};

// XFRM_MSG_NEWSA or XFRM_MSG_NEWPOLICY, as the kernel sends them.
struct SaRecord {
	Bytes netlink;
	bool operator==(const SaRecord &) const = default;
};
struct PolicyRecord {
	Bytes netlink;
	bool operator==(const PolicyRecord &) const = default;
};
struct SaDelete {
	replay::SaId id;
	bool operator==(const SaDelete &) const = default;
};
// XFRM_MSG_DELPOLICY with the policy's xfrm_userpolicy_id.
struct PolicyDelete {
	Bytes netlink;
	bool operator==(const PolicyDelete &) const = default;
};

// A replay notification, with the active's monotonic time of it so the
// standby can measure packet rates without the channel's delay.
struct ReplayUpdate {
	replay::SaId id;
	std::optional<replay::ReplayThresh> thresh;
	replay::ReplayState state;
	std::uint64_t observed_ns = 0;
	bool operator==(const ReplayUpdate &) const = default;
};

// Receiver -> sender: every frame up to @seq arrived and was applied.
struct Ack {
	std::uint64_t seq = 0;
	bool operator==(const Ack &) const = default;
};
// Sent when idle, so a standby knows how fresh its view is.
struct Heartbeat {
	bool operator==(const Heartbeat &) const = default;
};

// Standby -> active, when the standby is told to take over while the
// active can still answer: "stop sending and give me your last numbers".
struct HandoverRequest {
	std::uint64_t epoch = 0;	// the epoch the standby will take over with
	bool operator==(const HandoverRequest &) const = default;
};
// Active -> standby, after it blocked its policies and sent every SA's
// replay state in ReplayUpdates: those numbers are final, the sender no
// longer carries traffic. In reply to a HandoverRequest, or because the
// active was told to stand by.
struct Release {
	std::uint64_t epoch = 0;
	bool operator==(const Release &) const = default;
};

using Body = std::variant<Hello, SnapshotBegin, SnapshotEnd, SaRecord, PolicyRecord,
			  SaDelete, PolicyDelete, ReplayUpdate, Ack, Heartbeat, HandoverRequest,
			  Release>;

struct Frame {
	std::uint64_t seq = 0;	// per direction, from 1, no gaps
	Body body;
	bool operator==(const Frame &) const = default;
};

// Frames larger than this are refused (a 4096-packet window is ~600 bytes,
// an SA with keys under 1 KiB).
constexpr std::size_t kMaxBody = 64 * 1024;
constexpr std::size_t kHeaderSize = 20;

Bytes encode(const Frame &frame);

// Takes bytes as they come off the connection and returns whole frames.
class Decoder {
public:
	void feed(std::span<const std::uint8_t> bytes);
	// A frame, nullopt when more bytes are needed, or EPROTO for anything
	// malformed; after an error the connection must be dropped.
	Result<std::optional<Frame>> next();

private:
	Bytes buffer_;
	std::size_t offset_ = 0;
};

// One frame from exactly @bytes (for tests and the fuzzer).
Result<Frame> decode(std::span<const std::uint8_t> bytes);

} // namespace failover
