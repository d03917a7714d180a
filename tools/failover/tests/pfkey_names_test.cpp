// SPDX-License-Identifier: GPL-2.0
#include "pfkey_names.hpp"

#include <gtest/gtest.h>

#include "kernel_tables.hpp"
#include "samples.hpp"

namespace failover {
namespace {

constexpr std::uint32_t kDst = 0x0a000002;

// What PF_KEY calls the SA of @spi: no mark.
replay::SaId pfkey_name(std::uint32_t spi)
{
	return sa_id_of(sample_newsa(spi, kDst));
}

TEST(PfkeyNames, OnlyNamesOfMarkedSasAreAmbiguous)
{
	PfkeyNames names;
	const Bytes sad[] = {sample_newsa(0x2001, kDst), sample_newsa(0x2002, kDst, {0x2a, 0xff})};
	names.reset(sad);
	EXPECT_FALSE(names.ambiguous(pfkey_name(0x2001)));
	EXPECT_TRUE(names.ambiguous(pfkey_name(0x2002)));
	EXPECT_FALSE(names.ambiguous(pfkey_name(0x2003)));
}

// An unmarked SA and a marked one under the same SPI and destination:
// PF_KEY's name could be either's.
TEST(PfkeyNames, AnUnmarkedSaWithAMarkedTwinIsAmbiguousToo)
{
	PfkeyNames names;
	const Bytes sad[] = {sample_newsa(0x2001, kDst), sample_newsa(0x2001, kDst, {0x2a, 0xff})};
	names.reset(sad);
	EXPECT_TRUE(names.ambiguous(pfkey_name(0x2001)));
}

// af_key looks SAs up with mark 0: a marked twin of mark value 0 matches
// that as the unmarked SA does, one of another value never does.
TEST(PfkeyNames, ANameIsResolvableUnlessATwinHasMarkValueZero)
{
	PfkeyNames names;
	names.added(sa_id_of(sample_newsa(0x2001, kDst, {0x2a, 0xff})));
	EXPECT_TRUE(names.resolvable(pfkey_name(0x2001)));
	EXPECT_TRUE(names.resolvable(pfkey_name(0x2003)));
	names.added(sa_id_of(sample_newsa(0x2001, kDst, {0, 0xff})));
	EXPECT_FALSE(names.resolvable(pfkey_name(0x2001)));
}

// Events keep it current: UPDSA of the same SA counts once, each marked
// twin goes with its own deletion, and a dump starts over.
TEST(PfkeyNames, EventsAddAndRemoveMarkedSas)
{
	PfkeyNames names;
	const auto a = sa_id_of(sample_newsa(0x2001, kDst, {1, 0xff}));
	const auto b = sa_id_of(sample_newsa(0x2001, kDst, {2, 0xff}));
	names.added(a);
	names.added(a);
	names.added(b);
	names.deleted(a);
	EXPECT_TRUE(names.ambiguous(pfkey_name(0x2001)));
	names.deleted(b);
	EXPECT_FALSE(names.ambiguous(pfkey_name(0x2001)));
	names.added(a);
	names.deleted(pfkey_name(0x2001));	// the unmarked twin's deletion
	EXPECT_TRUE(names.ambiguous(pfkey_name(0x2001)));
	names.reset({});
	EXPECT_FALSE(names.ambiguous(pfkey_name(0x2001)));
}

} // namespace
} // namespace failover
