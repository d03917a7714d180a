// SPDX-License-Identifier: GPL-2.0
#include <gtest/gtest.h>

#include "control_client.hpp"

namespace failover {
namespace {

TEST(VrrpLine, MasterTakesOverOthersStandBy)
{
	EXPECT_EQ("takeover", command_for_vrrp_line("INSTANCE \"lan\" MASTER 150", "lan"));
	EXPECT_EQ("standby", command_for_vrrp_line("INSTANCE \"lan\" BACKUP 100", "lan"));
	EXPECT_EQ("standby", command_for_vrrp_line("INSTANCE \"lan\" FAULT 0", ""));
	EXPECT_EQ("standby", command_for_vrrp_line("INSTANCE \"lan\" STOP 0", ""));
}

TEST(VrrpLine, OtherLinesAndInstancesChangeNothing)
{
	EXPECT_FALSE(command_for_vrrp_line("INSTANCE \"wan\" MASTER 150", "lan"));
	EXPECT_FALSE(command_for_vrrp_line("GROUP \"g\" MASTER", "lan"));
	EXPECT_FALSE(command_for_vrrp_line("INSTANCE \"lan\" DELETED 0", "lan"));
	EXPECT_FALSE(command_for_vrrp_line("", ""));
	EXPECT_FALSE(command_for_vrrp_line("INSTANCE \"lan\"", ""));
	EXPECT_FALSE(command_for_vrrp_line("\xff\xfe MASTER", ""));
}

TEST(ControlRequest, NoDaemonIsAnErrorWithItsPath)
{
	auto r = control_request("/nonexistent/safailover.sock", "status",
				 std::chrono::milliseconds(100));
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(ENOENT, r.error().code);
	EXPECT_NE(std::string::npos, r.error().message().find("/nonexistent/safailover.sock"));
}

} // namespace
} // namespace failover
