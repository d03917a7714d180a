// SPDX-License-Identifier: GPL-2.0
#include "control_server.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include "control_client.hpp"

namespace failover {
namespace {

// A socket path in a fresh directory, removed with it.
class ControlServerTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		char dir[] = "/tmp/control_server_test.XXXXXX";
		ASSERT_NE(nullptr, ::mkdtemp(dir));
		dir_ = dir;
		path_ = dir_ + "/safailover.sock";
	}
	void TearDown() override
	{
		::unlink(path_.c_str());
		::rmdir(dir_.c_str());
	}
	std::string dir_, path_;
};

TEST_F(ControlServerTest, PrivateWhateverTheUmask)
{
	const mode_t was = ::umask(0);
	auto server = ControlServer::open(path_);
	::umask(was);
	ASSERT_TRUE(server.ok()) << server.error().message();
	struct stat st{};
	ASSERT_EQ(0, ::stat(path_.c_str(), &st));
	EXPECT_EQ(0600u, st.st_mode & 0777);
}

TEST_F(ControlServerTest, ASecondServerLeavesTheFirstOneItsSocket)
{
	auto first = ControlServer::open(path_);
	ASSERT_TRUE(first.ok());
	{
		auto second = ControlServer::open(path_);
		ASSERT_FALSE(second.ok());
		EXPECT_EQ(EADDRINUSE, second.error().code);
	}
	EXPECT_EQ(0, ::access(path_.c_str(), F_OK));
}

TEST_F(ControlServerTest, ALeftoverSocketIsReplacedAndRemovedAtTheEnd)
{
	{
		auto gone = ControlServer::open(path_);
		ASSERT_TRUE(gone.ok());
	}
	EXPECT_NE(0, ::access(path_.c_str(), F_OK));
	ASSERT_TRUE(ControlServer::open(path_).ok());
}

TEST_F(ControlServerTest, OneCommandOneReply)
{
	auto server = ControlServer::open(path_);
	ASSERT_TRUE(server.ok());
	Result<std::string> reply = std::string();
	std::jthread client([&] {
		reply = control_request(path_, "status", std::chrono::milliseconds(5000));
	});
	pollfd p{server->fd(), POLLIN, 0};
	ASSERT_EQ(1, ::poll(&p, 1, 5000));
	auto request = server->accept();
	ASSERT_TRUE(request);
	EXPECT_EQ("status", request->command());
	request->reply(R"({"role":"standby"})");
	request.reset();
	client.join();
	ASSERT_TRUE(reply.ok()) << reply.error().message();
	EXPECT_NE(std::string::npos, reply->find(R"({"role":"standby"})"));
}

} // namespace
} // namespace failover
