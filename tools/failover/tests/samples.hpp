// SPDX-License-Identifier: GPL-2.0
// An XFRM_MSG_NEWSA as the kernel dumps it (legacy window, 32 packets), for
// the frame tests and the fuzzer's seeds.
#pragma once

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/xfrm.h>
#include <netinet/in.h>

#include "frame.hpp"

namespace failover {

inline Bytes sample_newsa()
{
	Bytes buf(512);
	nlmsghdr *nlh = mnl_nlmsg_put_header(buf.data());
	nlh->nlmsg_type = XFRM_MSG_NEWSA;
	auto *info = static_cast<xfrm_usersa_info *>(
		mnl_nlmsg_put_extra_header(nlh, sizeof(xfrm_usersa_info)));
	info->family = AF_INET;
	info->id.spi = htonl(0x1001);
	info->id.proto = IPPROTO_ESP;
	info->replay_window = 32;
	xfrm_replay_state r{5, 6, 1};
	mnl_attr_put(nlh, XFRMA_REPLAY_VAL, sizeof(r), &r);
	buf.resize(nlh->nlmsg_len);
	return buf;
}

} // namespace failover
