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

// @dst: the SA's destination, an IPv4 address in host byte order; @mark
// its XFRMA_MARK, none when { 0, 0 }; @replay its numbers.
inline Bytes sample_newsa(std::uint32_t spi = 0x1001, std::uint32_t dst = 0,
			  replay::Mark mark = {}, xfrm_replay_state r = {5, 6, 1})
{
	Bytes buf(512);
	nlmsghdr *nlh = mnl_nlmsg_put_header(buf.data());
	nlh->nlmsg_type = XFRM_MSG_NEWSA;
	auto *info = static_cast<xfrm_usersa_info *>(
		mnl_nlmsg_put_extra_header(nlh, sizeof(xfrm_usersa_info)));
	info->family = AF_INET;
	info->id.spi = htonl(spi);
	info->id.daddr.a4 = htonl(dst);
	info->id.proto = IPPROTO_ESP;
	info->replay_window = 32;
	mnl_attr_put(nlh, XFRMA_REPLAY_VAL, sizeof(r), &r);
	if (mark.any()) {
		const xfrm_mark m{mark.v, mark.m};
		mnl_attr_put(nlh, XFRMA_MARK, sizeof(m), &m);
	}
	buf.resize(nlh->nlmsg_len);
	return buf;
}

// An XFRM_MSG_NEWPOLICY for 10.0.0.1 -> @dst, direction out.
inline Bytes sample_newpolicy(std::uint8_t dst_last = 2)
{
	Bytes buf(512);
	nlmsghdr *nlh = mnl_nlmsg_put_header(buf.data());
	nlh->nlmsg_type = XFRM_MSG_NEWPOLICY;
	auto *info = static_cast<xfrm_userpolicy_info *>(
		mnl_nlmsg_put_extra_header(nlh, sizeof(xfrm_userpolicy_info)));
	info->sel.family = AF_INET;
	info->sel.prefixlen_s = info->sel.prefixlen_d = 32;
	info->sel.saddr.a4 = htonl(0x0a000001);
	info->sel.daddr.a4 = htonl(0x0a000000 | dst_last);
	info->dir = XFRM_POLICY_OUT;
	buf.resize(nlh->nlmsg_len);
	return buf;
}

} // namespace failover
