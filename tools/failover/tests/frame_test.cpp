// SPDX-License-Identifier: GPL-2.0
// Sync frames: round trips of every body, split reads, and malformed input
// of every kind.
#include "frame.hpp"
#include "samples.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/xfrm.h>
#include <netinet/in.h>

namespace failover {
namespace {

replay::SaId sa_id()
{
	// Marked, as a route-based tunnel's SA is: the mark travels too.
	return replay::SaId{0x1001, IPPROTO_ESP, *pfkey::parse_address("fd00::1"),
			    *pfkey::parse_address("fd00::2"), {0x10, 0xff}};
}

Bytes newsa()
{
	return sample_newsa();
}

Bytes netlink(std::uint16_t type, std::size_t payload)
{
	Bytes buf(NLMSG_HDRLEN + payload);
	nlmsghdr nlh{};
	nlh.nlmsg_len = buf.size();
	nlh.nlmsg_type = type;
	std::memcpy(buf.data(), &nlh, sizeof(nlh));
	return buf;
}

std::vector<Frame> every_body()
{
	replay::ReplayState esn{true, 1, (1ULL << 32) + 7, 99, 64, {1, 0x80000000}};
	return {
		{1, Hello{Role::active, 3, "gw1"}},
		{1, Hello{Role::standby, 0, "gw2", SaOwner::ike}},
		{2, SnapshotBegin{10, 2}},
		{3, SaRecord{newsa()}},
		{4, PolicyRecord{netlink(XFRM_MSG_NEWPOLICY, sizeof(xfrm_userpolicy_info))}},
		{5, PolicyDelete{netlink(XFRM_MSG_DELPOLICY, sizeof(xfrm_userpolicy_id))}},
		{6, SaDelete{sa_id()}},
		{7, ReplayUpdate{sa_id(), replay::ReplayThresh{1000, 500}, esn, 123456789}},
		{8, ReplayUpdate{sa_id(), std::nullopt, {false, 0, 5, 0, 0, {}}, 1}},
		{9, SnapshotEnd{}},
		{10, Ack{9}},
		{11, Heartbeat{}},
		{12, HandoverRequest{4}},
		{13, Release{4}},
	};
}

TEST(Frame, EveryBodyRoundTrips)
{
	for (const auto &f : every_body()) {
		const auto bytes = encode(f);
		auto back = decode(bytes);
		ASSERT_TRUE(back.ok()) << back.error().message() << " body " << f.body.index();
		EXPECT_EQ(f, *back);
	}
}

TEST(Frame, DecoderTakesBytesAsTheyCome)
{
	Bytes stream;
	for (const auto &f : every_body()) {
		const auto b = encode(f);
		stream.insert(stream.end(), b.begin(), b.end());
	}
	Decoder d;
	std::vector<Frame> got;
	for (std::uint8_t byte : stream) {
		d.feed({&byte, 1});
		auto f = d.next();
		ASSERT_TRUE(f.ok()) << f.error().message();
		if (*f)
			got.push_back(**f);
	}
	EXPECT_EQ(every_body(), got);
}

// Writes a big-endian @v at @off.
template <class T>
void poke(Bytes &b, std::size_t off, T v)
{
	for (std::size_t i = 0; i < sizeof(T); i++)
		b[off + i] = static_cast<std::uint8_t>(v >> (8 * (sizeof(T) - 1 - i)));
}

void expect_refused(const Bytes &bytes, const char *why)
{
	auto r = decode(bytes);
	ASSERT_FALSE(r.ok()) << why;
	EXPECT_EQ(EPROTO, r.error().code) << why;
	EXPECT_NE(std::string::npos, r.error().message().find("sync frame")) << why;
}

TEST(Frame, RefusesHandoverFramesOfTheWrongSize)
{
	for (const Body &body : {Body{HandoverRequest{1}}, Body{Release{1}}}) {
		auto b = encode(Frame{1, body});
		b.push_back(0);
		poke<std::uint32_t>(b, 8, 9);
		expect_refused(b, "long handover frame");
		b.resize(b.size() - 2);
		poke<std::uint32_t>(b, 8, 7);
		expect_refused(b, "short handover frame");
	}
}

TEST(Frame, RefusesMalformedHeaders)
{
	const auto good = encode(Frame{1, Ack{1}});
	auto b = good;
	poke<std::uint32_t>(b, 0, 0x12345678);
	expect_refused(b, "magic");
	b = good;
	b[4] = 99;
	expect_refused(b, "type");
	b = good;
	b[5] = 1;
	expect_refused(b, "flags");
	b = good;
	poke<std::uint16_t>(b, 6, 1);
	expect_refused(b, "reserved");
	b = good;
	poke<std::uint32_t>(b, 8, kMaxBody + 1);
	expect_refused(b, "length");
	b = good;
	b.push_back(0);
	expect_refused(b, "trailing byte");
	b = good;
	b.pop_back();
	expect_refused(b, "truncated");
}

TEST(Frame, RefusesMalformedBodies)
{
	auto hello = encode(Frame{1, Hello{Role::standby, 0, "gw2"}});
	hello[kHeaderSize] = 7;
	expect_refused(hello, "unknown role");

	auto nameless = encode(Frame{1, Hello{Role::standby, 0, ""}});
	expect_refused(nameless, "hello without a name");

	auto owner = encode(Frame{1, Hello{Role::standby, 0, "gw2"}});
	owner.back() = 3;
	expect_refused(owner, "unknown sa_owner");

	// A name from the wire reaches logs and JSON: nothing but a node name.
	// A leading '.' would match a whole domain's certificates.
	for (const char *name : {"gw\xff", "gw 2", "gw2\n", "gw=2", "gw\"2", ".example.com"})
		expect_refused(encode(Frame{1, Hello{Role::standby, 0, name}}), name);

	auto del = encode(Frame{1, SaDelete{sa_id()}});
	del[kHeaderSize + 5] = 99;
	expect_refused(del, "SA delete of family 99");

	auto v4 = sa_id();
	v4.src = *pfkey::parse_address("10.0.0.1");
	v4.dst = *pfkey::parse_address("10.0.0.2");
	auto dirty = encode(Frame{1, SaDelete{v4}});
	dirty[kHeaderSize + 6 + 5] = 1;
	expect_refused(dirty, "IPv4 address with bytes past 4");

	replay::ReplayState st{false, 0, 5, 6, 32, {1}};
	auto rep = encode(Frame{1, ReplayUpdate{sa_id(), std::nullopt, st, 1}});
	const std::size_t state = kHeaderSize + 46 + 9;	// id (with its mark), thresh
	auto b = rep;
	b[state] = 2;
	expect_refused(b, "esn flag");
	b = rep;
	poke<std::uint32_t>(b, state - 8, 1000);	// found by failover_frame_fuzz
	expect_refused(b, "thresholds without their flag");
	b = rep;
	poke<std::uint32_t>(b, state + 18, 33);
	expect_refused(b, "window without its bitmap word");
	b = rep;
	poke<std::uint32_t>(b, state + 18, 5000);
	expect_refused(b, "window above 4096");
	b = rep;
	poke<std::uint64_t>(b, state + 2, 1ULL << 32);
	expect_refused(b, "64-bit oseq without ESN");
	st.window = 20;
	st.bitmap = {1U << 20};
	expect_refused(encode(Frame{1, ReplayUpdate{sa_id(), std::nullopt, st, 1}}),
		       "bits past the window");

	auto sa = newsa();
	sa[4] = XFRM_MSG_NEWPOLICY;	// nlmsg_type, little-endian host
	expect_refused(encode(Frame{1, SaRecord{sa}}), "SA record of another type");
	sa = newsa();
	sa.push_back(0);
	expect_refused(encode(Frame{1, SaRecord{sa}}), "SA record with a trailing byte");
	expect_refused(encode(Frame{1, PolicyRecord{netlink(XFRM_MSG_NEWPOLICY, 8)}}),
		       "policy shorter than xfrm_userpolicy_info");
	expect_refused(encode(Frame{1, SnapshotEnd{}}).size() ? [] {
		auto e = encode(Frame{1, SnapshotEnd{}});
		e[11] = 1;	// length 1 ...
		e.push_back(0);	// ... and its byte
		return e;
	}() : Bytes{}, "snapshot end with a body");
}

} // namespace
} // namespace failover
