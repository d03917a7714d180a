// SPDX-License-Identifier: GPL-2.0
// What a standby's shadow table costs per SA: 100,000 AES-GCM SAs, half
// ESN with a 128-packet window, half legacy with 32, each with its record
// as the kernel dumps it and a replay report. Memory, not time: asserted.
#include <gtest/gtest.h>

#include <cstring>
#include <iostream>
#include <malloc.h>

#if defined(__SANITIZE_ADDRESS__)
// The ASan runtime's allocator statistics (GCC 12 does not ship the
// header that declares it).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#endif

#include "active_feed.hpp"
#include "fake_backend.hpp"
#include "samples.hpp"
#include "shadow_table.hpp"

namespace failover {
namespace {

constexpr std::size_t kSas = 100'000;
constexpr std::size_t kBudgetPerSa = 1024;

// Bytes the heap hands out now, under whichever allocator runs.
std::size_t heap_in_use()
{
#if defined(__SANITIZE_ADDRESS__)
	return __sanitizer_get_current_allocated_bytes();
#else
	return mallinfo2().uordblks;
#endif
}

// A sink that keeps nothing: only the shadow table is measured.
class NullKernel : public KernelSink {
public:
	Result<std::vector<Bytes>> dump_sas() override { return std::vector<Bytes>{}; }
	Result<std::vector<Bytes>> dump_policies() override { return std::vector<Bytes>{}; }
	Result<std::monostate> install_sa(std::span<const std::uint8_t>, Existing) override
	{
		return std::monostate{};
	}
	Result<std::monostate> delete_sa(const replay::SaId &) override { return std::monostate{}; }
	Result<std::monostate> install_blocking(std::span<const std::uint8_t>) override
	{
		return std::monostate{};
	}
	Result<std::monostate> install_policy(std::span<const std::uint8_t>) override
	{
		return std::monostate{};
	}
	Result<std::monostate> delete_policy(std::span<const std::uint8_t>) override
	{
		return std::monostate{};
	}
};

// An AES-GCM SA's NEWSA with the attributes 6.1's dump gives it: the
// AEAD algorithm and key, the replay state, lifetime and last use.
Bytes gcm_newsa(std::uint32_t spi, bool esn)
{
	Bytes buf(1024);
	nlmsghdr *nlh = mnl_nlmsg_put_header(buf.data());
	nlh->nlmsg_type = XFRM_MSG_NEWSA;
	auto *info = static_cast<xfrm_usersa_info *>(
		mnl_nlmsg_put_extra_header(nlh, sizeof(xfrm_usersa_info)));
	info->family = AF_INET;
	info->id.spi = htonl(spi);
	info->id.proto = IPPROTO_ESP;
	info->id.daddr.a4 = htonl(0x0a000002);
	info->saddr.a4 = htonl(0x0a000001);
	info->mode = XFRM_MODE_TUNNEL;
	info->flags = esn ? XFRM_STATE_ESN : 0;
	info->replay_window = esn ? 0 : 32;

	alignas(4) std::uint8_t aead[sizeof(xfrm_algo_aead) + 20] = {};
	auto *a = reinterpret_cast<xfrm_algo_aead *>(aead);
	std::strcpy(a->alg_name, "rfc4106(gcm(aes))");
	a->alg_key_len = 160;
	a->alg_icv_len = 128;
	mnl_attr_put(nlh, XFRMA_ALG_AEAD, sizeof(aead), aead);
	xfrm_lifetime_cur lft{};
	mnl_attr_put(nlh, XFRMA_LTIME_VAL, sizeof(lft), &lft);
	std::uint64_t lastused = 0;
	mnl_attr_put(nlh, XFRMA_LASTUSED, sizeof(lastused), &lastused);
	if (esn) {
		alignas(4) std::uint8_t r[sizeof(xfrm_replay_state_esn) + 4 * sizeof(std::uint32_t)] = {};
		auto *e = reinterpret_cast<xfrm_replay_state_esn *>(r);
		e->bmp_len = 4;
		e->replay_window = 128;
		mnl_attr_put(nlh, XFRMA_REPLAY_ESN_VAL, sizeof(r), r);
	} else {
		xfrm_replay_state r{};
		mnl_attr_put(nlh, XFRMA_REPLAY_VAL, sizeof(r), &r);
	}
	// As a sync frame's decoder hands it over: exactly its size.
	return Bytes(buf.begin(), buf.begin() + nlh->nlmsg_len);
}

TEST(ShadowMemory, HundredThousandSasTakeAtMostOneKiBEach)
{
	NullKernel kernel;
	const std::size_t before = heap_in_use();
	{
		ShadowTable shadow(kernel);
		shadow.begin_snapshot({kSas, 0});
		for (std::size_t i = 0; i < kSas; i++)
			shadow.sa(gcm_newsa(0x10000 + static_cast<std::uint32_t>(i), i % 2));
		shadow.end_snapshot();
		for (const auto &[key, sa] : ShadowView(shadow.view()).sas) {
			ReplayUpdate u{sa.id, replay::ReplayThresh{1000, 1000}, sa.state, 1'000'000'000};
			u.state.oseq = u.state.seq = 500;
			u.state.bitmap.assign((u.state.window + 31) / 32, 0xffffffff);
			shadow.replay(u);
		}
		ASSERT_EQ(kSas, shadow.view().sas.size());
		const std::size_t per_sa = (heap_in_use() - before) / kSas;
		std::cout << "[ shadow   ] " << per_sa << " bytes of heap per SA ("
			  << kSas << " SAs, half ESN-128, half legacy-32)\n";
		EXPECT_LE(per_sa, kBudgetPerSa);
		// A measurement that saw nothing proves nothing: the records
		// alone are over 400 bytes.
		EXPECT_GE(per_sa, 400u);
	}
}

// An active's kernel as its SAD dump hands it over: @sas fresh records.
class DumpingKernel final : public NullKernel {
public:
	explicit DumpingKernel(std::size_t sas) : sas_(sas) {}
	Result<std::vector<Bytes>> dump_sas() override
	{
		std::vector<Bytes> out;
		for (std::size_t i = 0; i < sas_; i++)
			out.push_back(gcm_newsa(0x10000 + static_cast<std::uint32_t>(i), i % 2));
		return out;
	}

private:
	std::size_t sas_;
};

// A snapshot goes into the link's queue record by record: at its peak it
// holds little more than what is queued, not the dump beside it as well
// (which would be twice the snapshot: 130 MB for 100,000 SAs).
TEST(SnapshotMemory, AnActivesSnapshotIsInMemoryAboutOnce)
{
	constexpr std::size_t kSnapshotSas = 20'000;
	Config cfg;
	DumpingKernel kernel(kSnapshotSas);
	FakeBackend backend;
	ActiveFeed feed(cfg, backend, kernel);
	std::deque<Bytes> queue;	// as a link's, frame after frame
	std::size_t queued = 0, frames = 0, peak = 0;
	const std::size_t before = heap_in_use();
	auto size = feed.snapshot(true, [&](Body body) {
		queue.push_back(encode(Frame{++frames, std::move(body)}));
		queued += queue.back().size();
		if (frames % 128 == 0)
			peak = std::max(peak, heap_in_use());
	});
	ASSERT_TRUE(size);
	ASSERT_EQ(kSnapshotSas, size->sas);
	const std::size_t held = peak - before;
	std::cout << "[ snapshot ] peak " << held << " bytes of heap for " << queued
		  << " bytes queued (" << kSnapshotSas << " SAs)\n";
	EXPECT_LE(held, queued + queued / 2);
	// Nothing measured proves nothing: the queue alone is over 300 bytes
	// per SA.
	EXPECT_GE(queued, 300 * kSnapshotSas);
}

} // namespace
} // namespace failover
