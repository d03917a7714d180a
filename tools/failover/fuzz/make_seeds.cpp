// SPDX-License-Identifier: GPL-2.0
// Writes the seed corpus of failover_frame_fuzz: a standby's view of a
// snapshot and a replay stream. Usage: failover_make_seeds DIR
#include <fstream>

#include "frame.hpp"
#include "tests/samples.hpp"

using namespace failover;

static void write(const std::string &path, const std::vector<Frame> &frames)
{
	std::ofstream out(path, std::ios::binary);
	for (const auto &f : frames) {
		const auto b = encode(f);
		out.write(reinterpret_cast<const char *>(b.data()), b.size());
	}
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	const std::string dir = argv[1];
	const Bytes sa = sample_newsa(0x1001, 0, {0x10, 0xff});
	const replay::SaId id{0x1001, IPPROTO_ESP, *pfkey::parse_address("10.0.0.1"),
			      *pfkey::parse_address("10.0.0.2"), {0x10, 0xff}};
	write(dir + "/snapshot", {{1, Hello{Role::active, 1, "gw1"}},
				  {2, SnapshotBegin{1, 0}},
				  {3, SaRecord{sa}},
				  {4, SnapshotEnd{}}});
	write(dir + "/stream", {{5, ReplayUpdate{id, replay::ReplayThresh{1000, 1000},
						 {true, 1, (1ULL << 32) + 1, 7, 64, {1, 2}}, 1}},
				{6, SaDelete{id}},
				{7, Heartbeat{}},
				{8, Ack{7}},
				{9, HandoverRequest{2}},
				{10, Release{2}}});
	return 0;
}
