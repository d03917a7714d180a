/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * PF_KEY v2 replay-state extensions: replay notifications, per-SA notification
 * thresholds and an explicit set-replay message, so that a key manager can
 * mirror the anti-replay state of its SAs to a standby node.
 *
 * Everything here is invisible to a PF_KEY socket until it sends
 * SADB_X_REPLAY_REGISTER: before that it never receives one of the message
 * types or extension types below, promiscuous or not, with one exception:
 * the reply to a SADB_X_SET_REPLAY it sent itself.
 *
 * Numbers continue after Linux's SADB_MAX (24, SADB_X_MIGRATE) and
 * SADB_EXT_MAX (26, SADB_X_EXT_FILTER), which have not moved since 2.6.
 *
 * See Documentation/networking/pfkey_replay.rst.
 */
#ifndef _UAPI_LINUX_PFKEY_REPLAY_H
#define _UAPI_LINUX_PFKEY_REPLAY_H

#include <linux/types.h>

/* Message types (struct sadb_msg.sadb_msg_type). */

/*
 * SADB_X_REPLAY_REGISTER - user to kernel; opts this socket in.
 * Base header only, satype SADB_SATYPE_UNSPEC. The reply echoes the header
 * with sadb_msg_errno 0.
 * A second registration of the same socket fails with EEXIST.
 */
#define SADB_X_REPLAY_REGISTER		25
/*
 * SADB_X_REPLAY_NOTIFY - kernel to every registered socket of the SA's
 * network namespace: base, SA, current lifetime, source and destination
 * address, SA2, SADB_X_EXT_REPLAY_THRESH and SADB_X_EXT_REPLAY_STATE (whose
 * cause field says why it was sent). sadb_msg_seq and sadb_msg_pid are 0,
 * except for cause SADB_X_REPLAY_CAUSE_UPDATE, where they are those of the
 * request (SADB_X_SET_REPLAY or XFRM_MSG_NEWAE) that set the state.
 */
#define SADB_X_REPLAY_NOTIFY		26
/*
 * SADB_X_SET_REPLAY - user to kernel: base, SA, source and destination
 * address, and SADB_X_EXT_REPLAY_STATE and/or SADB_X_EXT_REPLAY_THRESH.
 * The reply, to the sender only, has the layout of SADB_X_REPLAY_NOTIFY and
 * carries the state now in force. A socket need not register to send it.
 */
#define SADB_X_SET_REPLAY		27
#define SADB_X_REPLAY_MSG_MAX		27

/* Extension types (struct sadb_ext.sadb_ext_type). */
#define SADB_X_EXT_REPLAY_THRESH	27
#define SADB_X_EXT_REPLAY_STATE		28
#define SADB_X_REPLAY_EXT_MAX		28

/**
 * struct sadb_x_replay_thresh - notification thresholds of one SA
 * @sadb_x_replay_thresh_len: extension length in 64-bit words (2)
 * @sadb_x_replay_thresh_exttype: %SADB_X_EXT_REPLAY_THRESH
 * @sadb_x_replay_thresh_packets: N: notify when the inbound or the outbound
 *	sequence number moved by at least N since the last notification;
 *	0 disables the count trigger
 * @sadb_x_replay_thresh_msecs: T in milliseconds: notify when T elapsed since
 *	the last notification and the replay state changed; 0 disables the
 *	timer; at most %SADB_X_REPLAY_MSECS_MAX (EINVAL above). The kernel
 *	rounds T up to its tick and reports the value in force.
 * @sadb_x_replay_thresh_reserved: must be zero
 *
 * Accepted in SADB_ADD, SADB_UPDATE and SADB_X_SET_REPLAY; in any other
 * message it is refused with EINVAL. Both default to 0, which means no
 * notifications for the SA.
 */
struct sadb_x_replay_thresh {
	__u16	sadb_x_replay_thresh_len;
	__u16	sadb_x_replay_thresh_exttype;
	__u32	sadb_x_replay_thresh_packets;
	__u32	sadb_x_replay_thresh_msecs;
	__u32	sadb_x_replay_thresh_reserved;
} __attribute__((packed));
/* sizeof(struct sadb_x_replay_thresh) == 16 */

/* Largest T: one day, in milliseconds. */
#define SADB_X_REPLAY_MSECS_MAX		86400000U

/* struct sadb_x_replay_state.sadb_x_replay_state_flags */
#define SADB_X_REPLAY_F_ESN		0x01	/* 64-bit extended sequence numbers */

/* struct sadb_x_replay_state.sadb_x_replay_state_cause (notifications only) */
#define SADB_X_REPLAY_CAUSE_NONE	0	/* GET, DUMP and SET replies */
#define SADB_X_REPLAY_CAUSE_COUNT	1	/* N packets since the last one */
#define SADB_X_REPLAY_CAUSE_TIMER	2	/* T elapsed and state changed */
#define SADB_X_REPLAY_CAUSE_UPDATE	3	/* replay state set explicitly */

/* Largest window (in packets) the kernel accepts for bitmap and ESN SAs. */
#define SADB_X_REPLAY_WINDOW_MAX	4096

/**
 * struct sadb_x_replay_state - anti-replay state of one SA
 * @sadb_x_replay_state_len: extension length in 64-bit words:
 *	4 + DIV_ROUND_UP(window, 64)
 * @sadb_x_replay_state_exttype: %SADB_X_EXT_REPLAY_STATE
 * @sadb_x_replay_state_flags: %SADB_X_REPLAY_F_ESN; must match the SA
 * @sadb_x_replay_state_cause: SADB_X_REPLAY_CAUSE_*; zero from user space
 * @sadb_x_replay_state_reserved: must be zero
 * @sadb_x_replay_state_oseq: last outbound sequence number sent
 * @sadb_x_replay_state_seq: highest inbound sequence number accepted
 * @sadb_x_replay_state_window: replay window in packets; must match the SA
 * @sadb_x_replay_state_reserved2: must be zero
 *
 * Without %SADB_X_REPLAY_F_ESN both sequence numbers fit in 32 bits.
 * The inbound bitmap follows as DIV_ROUND_UP(window, 32) __u32 words in host
 * byte order, zero-padded to a multiple of 8 bytes. It is canonical, whatever
 * the kernel's internal layout: bit i (word i / 32, bit i % 32) is set when
 * sequence number seq - i has been accepted, for 0 <= i < window.
 *
 * Accepted in SADB_X_SET_REPLAY only; in any other message it is refused
 * with EINVAL.
 *
 * On SADB_X_SET_REPLAY the outbound number may not move backwards (ERANGE),
 * nor may the inbound one (ERANGE); the new bitmap is merged with the bits
 * the SA already holds, so a set never re-opens a sequence number the SA
 * would reject.
 */
struct sadb_x_replay_state {
	__u16	sadb_x_replay_state_len;
	__u16	sadb_x_replay_state_exttype;
	__u8	sadb_x_replay_state_flags;
	__u8	sadb_x_replay_state_cause;
	__u16	sadb_x_replay_state_reserved;
	__u64	sadb_x_replay_state_oseq;
	__u64	sadb_x_replay_state_seq;
	__u32	sadb_x_replay_state_window;
	__u32	sadb_x_replay_state_reserved2;
	__u32	sadb_x_replay_state_bitmap[];
} __attribute__((packed));
/* sizeof(struct sadb_x_replay_state) == 32 */

#endif /* _UAPI_LINUX_PFKEY_REPLAY_H */
