/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PF_KEY replay-state extensions: the part of af_key that knows nothing of
 * PF_KEY sockets. See Documentation/networking/pfkey_replay.rst.
 */
#ifndef _NET_KEY_AF_KEY_REPLAY_H
#define _NET_KEY_AF_KEY_REPLAY_H

#include <linux/pfkeyv2.h>
#include <linux/pfkey_replay.h>
#include <net/xfrm.h>

/* Slots parse_exthdrs() fills: the standard extensions and ours. */
#define PFKEY_EXT_HDRS		SADB_X_REPLAY_EXT_MAX

int pfkey_replay_verify_ext(const struct sadb_ext *ext);
int pfkey_replay_verify_use(u8 type, void * const *ext_hdrs);
bool pfkey_replay_msg_is_new(const struct sk_buff *skb);
u8 pfkey_replay_cause(u32 aevent);

size_t pfkey_replay_room(const struct xfrm_state *x);
struct sk_buff *pfkey_replay_append(struct sk_buff *skb,
				    const struct xfrm_state *x, u8 cause);
int pfkey_replay_reserve(struct sk_buff *skb);
void pfkey_replay_init_thresh(struct xfrm_state *x,
			      const struct sadb_x_replay_thresh *thresh);
int pfkey_replay_apply(struct xfrm_state *x,
		       const struct sadb_x_replay_state *state,
		       const struct sadb_x_replay_thresh *thresh,
		       struct sk_buff *reply);

#endif /* _NET_KEY_AF_KEY_REPLAY_H */
