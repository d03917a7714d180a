// SPDX-License-Identifier: GPL-2.0
#include "shadow_table.hpp"

#include <gtest/gtest.h>

#include "fake_kernel.hpp"
#include "kernel_tables.hpp"
#include "samples.hpp"

namespace failover {
namespace {

replay::SaId id_of(std::uint32_t spi)
{
	return sa_id_of(sample_newsa(spi));
}

TEST(ShadowTable, SnapshotBecomesTheViewOnlyWhenItEnds)
{
	FakeKernel kernel;
	ShadowTable shadow(kernel);
	shadow.begin_snapshot({2, 1});
	shadow.sa(sample_newsa(1));
	shadow.sa(sample_newsa(2));
	shadow.policy(sample_newpolicy());
	EXPECT_FALSE(shadow.complete());
	EXPECT_TRUE(shadow.view().sas.empty());
	shadow.end_snapshot();
	EXPECT_TRUE(shadow.complete());
	EXPECT_EQ(2u, shadow.view().sas.size());
	EXPECT_EQ(1u, shadow.view().policies.size());
	EXPECT_EQ(1, kernel.blocking);	// held back as BLOCK
}

// A snapshot that never ends must not take numbers with it: the last
// view has them too.
TEST(ShadowTable, NumbersDuringASnapshotReachTheLastViewToo)
{
	FakeKernel kernel;
	ShadowTable shadow(kernel);
	shadow.begin_snapshot({1, 0});
	shadow.sa(sample_newsa(1));
	shadow.end_snapshot();

	shadow.begin_snapshot({1, 0});
	shadow.replay({id_of(1), std::nullopt, {false, 0, 5000, 6, 32, {1}}, 1});
	// Not in the last view: only the snapshot's.
	shadow.replay({id_of(2), std::nullopt, {false, 0, 7000, 0, 32, {1}}, 1});
	EXPECT_TRUE(shadow.interrupt());
	EXPECT_EQ(5000u, shadow.view().sas.at(key_of(id_of(1))).state.oseq);
	EXPECT_EQ(0u, shadow.view().sas.count(key_of(id_of(2))));
}

TEST(ShadowTable, InterruptedSnapshotKeepsTheLastView)
{
	FakeKernel kernel;
	ShadowTable shadow(kernel);
	shadow.begin_snapshot({2, 1});
	shadow.sa(sample_newsa(1));
	shadow.sa(sample_newsa(2));
	shadow.policy(sample_newpolicy());
	shadow.replay({id_of(1), std::nullopt, {false, 0, 500, 6, 32, {1}}, 1});
	shadow.end_snapshot();

	// The active dies after sending one SA of the next snapshot.
	shadow.begin_snapshot({2, 1});
	shadow.sa(sample_newsa(1));
	EXPECT_TRUE(shadow.interrupt());
	EXPECT_FALSE(shadow.in_progress());
	ASSERT_EQ(2u, shadow.view().sas.size());
	EXPECT_EQ(1u, shadow.view().policies.size());
	EXPECT_EQ(500u, shadow.view().sas.at(key_of(id_of(1))).state.oseq);
	EXPECT_EQ(2u, kernel.sas.size());	// nothing deleted from the kernel
}

TEST(ShadowTable, InterruptedSnapshotAddsWhatTheViewLacks)
{
	FakeKernel kernel;
	ShadowTable shadow(kernel);
	shadow.begin_snapshot({1, 1});
	shadow.sa(sample_newsa(1));
	shadow.policy(sample_newpolicy(2));
	shadow.replay({id_of(1), std::nullopt, {false, 0, 500, 6, 32, {1}}, 1});
	EXPECT_TRUE(shadow.end_snapshot());

	// Halfway through the next one (an SA and a policy rekeyed in while
	// the link was down), then a report of an SA whose record never came.
	shadow.begin_snapshot({4, 2});
	shadow.sa(sample_newsa(1));
	shadow.sa(sample_newsa(5));
	shadow.policy(sample_newpolicy(2));
	shadow.policy(sample_newpolicy(7));
	shadow.replay({id_of(6), std::nullopt, {false, 0, 70, 0, 32, {1}}, 1});
	EXPECT_TRUE(shadow.interrupt());
	EXPECT_FALSE(shadow.end_snapshot());	// a late SnapshotEnd commits nothing
	ASSERT_EQ(2u, shadow.view().sas.size());
	EXPECT_EQ(500u, shadow.view().sas.at(key_of(id_of(1))).state.oseq);	// not rewound
	EXPECT_EQ(1u, shadow.view().sas.count(key_of(id_of(5))));
	EXPECT_EQ(0u, shadow.view().sas.count(key_of(id_of(6))));
	EXPECT_EQ(2u, shadow.view().policies.size());
	// The kernel keeps both SAs, and both policies as placeholders.
	EXPECT_EQ(2u, kernel.sas.size());
	EXPECT_EQ(2u, kernel.policies.size());
	EXPECT_EQ(0, kernel.installed);
}

// Reports lost while the link was down: the cut-off snapshot's record is
// ahead of the view, and the view takes its numbers.
TEST(ShadowTable, InterruptedSnapshotMovesTheViewToNewerRecords)
{
	FakeKernel kernel;
	ShadowTable shadow(kernel);
	shadow.begin_snapshot({1, 0});
	shadow.sa(sample_newsa(1));
	EXPECT_TRUE(shadow.end_snapshot());
	shadow.begin_snapshot({1, 0});
	shadow.sa(sample_newsa(1, 0, {}, {900, 800, 1}));
	EXPECT_TRUE(shadow.interrupt());
	const auto &sa = shadow.view().sas.at(key_of(id_of(1)));
	EXPECT_EQ(900u, sa.state.oseq);
	EXPECT_EQ(800u, sa.state.seq);
}

TEST(ShadowTable, SnapshotEndDeletesWhatTheActiveNoLongerHas)
{
	FakeKernel kernel;
	ShadowTable shadow(kernel);
	shadow.begin_snapshot({2, 2});
	shadow.sa(sample_newsa(1));
	shadow.sa(sample_newsa(2));
	shadow.policy(sample_newpolicy(2));
	shadow.policy(sample_newpolicy(3));
	shadow.end_snapshot();
	ASSERT_TRUE(kernel.install_sa(sample_newsa(9), KernelSink::Existing::keep).ok());	// left over from before

	shadow.begin_snapshot({1, 1});
	shadow.sa(sample_newsa(1));
	shadow.policy(sample_newpolicy(2));
	shadow.end_snapshot();
	EXPECT_EQ(1u, shadow.view().sas.size());
	EXPECT_EQ(1u, kernel.sas.size());
	EXPECT_EQ(1u, kernel.policies.size());
	EXPECT_EQ(1u, shadow.view().policies.size());
}

TEST(ShadowTable, ReplayOnlyNeverWritesTheIkeDaemonsTables)
{
	// The IKE daemon's SAs and policies on this node, and one SA the
	// active no longer reports: all stay as they are.
	FakeKernel kernel;
	ASSERT_TRUE(kernel.install_sa(sample_newsa(1), KernelSink::Existing::keep).ok());
	ASSERT_TRUE(kernel.install_sa(sample_newsa(9), KernelSink::Existing::keep).ok());
	ASSERT_TRUE(kernel.install_policy(sample_newpolicy(2)).ok());
	ShadowTable shadow(kernel, ShadowTable::Mirror::replay_only);

	shadow.begin_snapshot({0, 0});
	shadow.sa(sample_newsa(3));		// an active that sends records anyway
	shadow.policy(sample_newpolicy(3));
	shadow.replay({id_of(1), std::nullopt, {false, 0, 50, 7, 32, {1}}, 0});
	shadow.end_snapshot();
	shadow.sa_deleted(id_of(9));
	shadow.policy_deleted(sample_newpolicy(2));

	EXPECT_EQ(2u, kernel.sas.size());
	EXPECT_EQ(1u, kernel.policies.size());
	EXPECT_EQ(0, kernel.blocking);
	ASSERT_EQ(1u, shadow.view().sas.size());	// the numbers, not the records
	EXPECT_EQ(50u, shadow.view().sas.begin()->second.state.oseq);
	EXPECT_TRUE(shadow.view().sas.begin()->second.record.empty());
	EXPECT_TRUE(shadow.view().policies.empty());

	shadow.sa_deleted(id_of(1));	// forgotten, still not deleted
	EXPECT_TRUE(shadow.view().sas.empty());
	EXPECT_EQ(2u, kernel.sas.size());
}

TEST(ShadowTable, ReplayMovesForwardOnly)
{
	FakeKernel kernel;
	ShadowTable shadow(kernel);
	shadow.begin_snapshot({1, 0});
	shadow.sa(sample_newsa(1));
	shadow.end_snapshot();
	shadow.replay({id_of(1), std::nullopt, {false, 0, 900, 6, 32, {1}}, 1});
	shadow.replay({id_of(1), std::nullopt, {false, 0, 800, 6, 32, {1}}, 2});
	EXPECT_EQ(900u, shadow.view().sas.at(key_of(id_of(1))).state.oseq);
}

TEST(ShadowTable, PolicyDeletedByIndexLeavesByItsAttribute)
{
	// PF_KEY SPDDELETE2 deletes by index: the event's header has no
	// selector, its XFRMA_POLICY attribute has the policy.
	FakeKernel kernel;
	ShadowTable shadow(kernel);
	const Bytes policy = sample_newpolicy(7);
	shadow.begin_snapshot({0, 1});
	shadow.policy(policy);
	shadow.end_snapshot();

	Bytes buf(1024);
	nlmsghdr *nlh = mnl_nlmsg_put_header(buf.data());
	nlh->nlmsg_type = XFRM_MSG_DELPOLICY;
	auto *id = static_cast<xfrm_userpolicy_id *>(
		mnl_nlmsg_put_extra_header(nlh, sizeof(xfrm_userpolicy_id)));
	id->index = 42;
	id->dir = XFRM_POLICY_OUT;
	mnl_attr_put(nlh, XFRMA_POLICY, sizeof(xfrm_userpolicy_info),
		     policy.data() + NLMSG_HDRLEN);
	buf.resize(nlh->nlmsg_len);

	shadow.policy_deleted(buf);
	EXPECT_TRUE(shadow.view().policies.empty());
	EXPECT_TRUE(kernel.policies.empty());
}

} // namespace
} // namespace failover
