// SPDX-License-Identifier: GPL-2.0
#include "config.hpp"

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

namespace failover {
namespace {

class ConfigFile : public ::testing::Test {
protected:
	std::string path = "/tmp/safailover-test-" + std::to_string(::getpid()) + ".toml";
	void TearDown() override { std::remove(path.c_str()); }

	Result<Config> load(const std::string &text)
	{
		std::ofstream(path) << text;
		return load_config(path);
	}
};

const char *kMinimal = R"(node = "gw1"
[sync]
listen = "10.0.0.1:7500"
certificate = "a.crt"
key = "a.key"
ca = "ca.crt"
peer_names = ["gw2"]
)";

TEST_F(ConfigFile, TheExampleLoads)
{
	auto c = load_config(EXAMPLE_CONFIG);
	ASSERT_TRUE(c.ok()) << c.error().context;
	EXPECT_EQ("gw1", c->node);
	EXPECT_EQ((Endpoint{"192.0.2.2", 7500}), c->peers.at(0));
	EXPECT_EQ(4096u, c->margin_floor);
	ASSERT_EQ(1u, c->rules.size());
}

TEST_F(ConfigFile, DefaultsAndRules)
{
	auto c = load(std::string(kMinimal) + R"(
[replay]
packets = 50
msecs = 0
[[replay.rule]]
dst = "10.9.0.0/16"
spi = 0x2000
packets = 5
msecs = 5
)");
	ASSERT_TRUE(c.ok()) << c.error().context;
	EXPECT_EQ(Role::standby, c->initial_role);
	EXPECT_EQ(SaOwner::safailover, c->sa_owner);
	EXPECT_EQ(replay::Choice::automatic, c->backend);
	replay::SaId id{0x2000, 50, *pfkey::parse_address("10.0.0.1"),
			*pfkey::parse_address("10.9.3.4"), {}};
	EXPECT_EQ((replay::ReplayThresh{5, 5}), c->thresh_for(id));
	id.spi = 0x2001;
	EXPECT_EQ((replay::ReplayThresh{50, 0}), c->thresh_for(id));
	id.spi = 0x2000;
	id.dst = *pfkey::parse_address("10.10.0.1");
	EXPECT_EQ((replay::ReplayThresh{50, 0}), c->thresh_for(id));
}

// The sync channel's keys: certificates, or a PSK, never both.
TEST_F(ConfigFile, CertificatesOrAPskAlone)
{
	const std::string head = "node = \"gw1\"\n[sync]\nlisten = \"10.0.0.1:7500\"\n"
				 "peer_names = [\"gw2\"]\n";
	auto psk = load(head + "psk_file = \"/etc/safailover/pair.psk\"\n");
	ASSERT_TRUE(psk.ok()) << psk.error().context;
	EXPECT_EQ("/etc/safailover/pair.psk", psk->psk_file);
	EXPECT_TRUE(psk->certificate.empty());
	auto two = load("node = \"gw1\"\n[sync]\nlisten = \"10.0.0.1:7500\"\n"
			"peer_names = [\"gw2\", \"gw3\"]\npsk_file = \"p\"\n");
	ASSERT_FALSE(two.ok());
	EXPECT_NE(std::string::npos, two.error().context.find("one key per pair"));
	for (const std::string &keys :
	     {std::string("psk_file = \"p\"\ncertificate = \"a.crt\"\n"),
	      std::string("certificate = \"a.crt\"\nkey = \"a.key\"\n"), std::string("")}) {
		auto c = load(head + keys);
		ASSERT_FALSE(c.ok()) << keys;
		EXPECT_NE(std::string::npos,
			  c.error().context.find("certificate, key and ca, or psk_file alone"));
	}
}

TEST_F(ConfigFile, SasOwnedByAnIkeDaemon)
{
	auto c = load(std::string("sa_owner = \"ike\"\n") + kMinimal);
	ASSERT_TRUE(c.ok()) << c.error().context;
	EXPECT_EQ(SaOwner::ike, c->sa_owner);
	EXPECT_TRUE(c->esp_fence) << "on by default: the IKE daemon's policies carry traffic";
	auto off = load(std::string("sa_owner = \"ike\"\nesp_fence = false\n") + kMinimal);
	ASSERT_TRUE(off.ok()) << off.error().context;
	EXPECT_FALSE(off->esp_fence);
}

TEST_F(ConfigFile, EspFenceOffByDefaultWithBlockPlaceholders)
{
	auto c = load(kMinimal);
	ASSERT_TRUE(c.ok()) << c.error().context;
	EXPECT_FALSE(c->esp_fence);
	auto on = load(std::string("esp_fence = true\n") + kMinimal);
	ASSERT_TRUE(on.ok()) << on.error().context;
	EXPECT_TRUE(on->esp_fence);
}

TEST_F(ConfigFile, RefusesWhatIsWrongAndSaysWhere)
{
	struct Case {
		const char *what, *text, *says;
	} cases[] = {
		{"unknown key", "node = \"x\"\nnoed = 1\n", "noed"},
		{"unknown sync key", "node = \"x\"\n[sync]\nlisten = \"10.0.0.1:1\"\nport = 1\n", "sync.port"},
		{"bad endpoint", "node = \"x\"\n[sync]\nlisten = \"10.0.0.1\"\n", "sync.listen"},
		{"bad role", "node = \"x\"\nrole = \"primary\"\n", "role"},
		{"bad owner", "node = \"x\"\nsa_owner = \"charon\"\n", "sa_owner"},
		{"fence not a boolean", "node = \"x\"\nesp_fence = \"yes\"\n", "esp_fence"},
		{"syntax", "node = \n", "node"},
		{"missing node", "[sync]\n", "node"},
		{"node name", "node = \"gw 1\"\n", "node"},
		{"no peer names", "node = \"gw1\"\n[sync]\nlisten = \"10.0.0.1:1\"\npeer_names = []\n",
		 "sync.peer_names"},
		{"own name as peer", "node = \"gw1\"\n[sync]\nlisten = \"10.0.0.1:1\"\npeer_names = [\"gw1\"]\n",
		 "sync.peer_names"},
		{"domain as peer name",
		 "node = \"gw1\"\n[sync]\nlisten = \"10.0.0.1:1\"\npeer_names = [\".example.com\"]\n",
		 "sync.peer_names"},
		{"bad peer name", "node = \"gw1\"\n[sync]\nlisten = \"10.0.0.1:1\"\npeer_names = [\"gw\\u00e9\"]\n",
		 "sync.peer_names"},
	};
	for (const auto &c : cases) {
		auto r = load(c.text);
		ASSERT_FALSE(r.ok()) << c.what;
		EXPECT_EQ(EINVAL, r.error().code) << c.what;
		EXPECT_NE(std::string::npos, r.error().context.find(c.says))
			<< c.what << ": " << r.error().context;
	}
	auto never = load(std::string(kMinimal) + "[replay]\npackets = 0\nmsecs = 0\n");
	ASSERT_FALSE(never.ok());
	auto rule_never = load(std::string(kMinimal) +
			       "[replay]\n[[replay.rule]]\nspi = 1\npackets = 0\nmsecs = 0\n");
	ASSERT_FALSE(rule_never.ok());
	EXPECT_NE(std::string::npos, rule_never.error().context.find("replay.rule"));
	auto port = load(std::string(kMinimal) + "[metrics]\nlisten = \"127.0.0.1:70000\"\n");
	ASSERT_FALSE(port.ok());
	auto file = load_config("/nonexistent/safailover.toml");
	ASSERT_FALSE(file.ok());
}

TEST(Endpoint, ParsesAddressAndPort)
{
	EXPECT_EQ((Endpoint{"fd00::1", 7500}), parse_endpoint("[fd00::1]:7500"));
	EXPECT_EQ((Endpoint{"10.0.0.1", 1}), parse_endpoint("10.0.0.1:1"));
	for (const char *bad : {"10.0.0.1", "10.0.0.1:", "10.0.0.1:0", "10.0.0.1:65536",
				"10.0.0.1:7x", "host:7500", ":7500"})
		EXPECT_FALSE(parse_endpoint(bad)) << bad;
}

} // namespace
} // namespace failover
