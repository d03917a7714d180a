// SPDX-License-Identifier: GPL-2.0-or-later
/* PF_KEY replay-state extensions: validation of the new extensions, the
 * canonical view of an SA's anti-replay state, and the rules for setting it.
 *
 * The kernel keeps three layouts of replay state (legacy 32-bit, bitmap and
 * ESN, see xfrm_replay.c); user space sees one canonical layout in which bit
 * i of the bitmap stands for sequence number "seq - i".
 */

#include <linux/bitrev.h>
#include <linux/jiffies.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/timer.h>

#include "af_key_replay.h"

#define PFKEY_WORD		sizeof(u64)

/* The largest extension pair a message can carry: a reply sized for it
 * never has to grow while x->lock is held.
 */
#define PFKEY_REPLAY_EXT_MAX	(sizeof(struct sadb_x_replay_thresh) + \
				 state_ext_size(SADB_X_REPLAY_WINDOW_MAX))

/* The window as the replay paths use it, read once: SADB_DUMP reads an SA
 * without x->lock while XFRM_MSG_NEWAE may change the window of a bitmap or
 * ESN SA to anything up to its bitmap's size, zero included. Every size and
 * index of one message derives from this one value, and the bitmap's size
 * cannot change.
 */
static u32 replay_window(const struct xfrm_state *x)
{
	const struct xfrm_replay_state_esn *esn = x->replay_esn;

	if (x->repl_mode == XFRM_REPLAY_MODE_LEGACY)
		return min_t(u32, READ_ONCE(x->props.replay_window),
			     sizeof(x->replay.bitmap) * BITS_PER_BYTE);
	return min_t(u32, READ_ONCE(esn->replay_window),
		     esn->bmp_len * sizeof(esn->bmp[0]) * BITS_PER_BYTE);
}

static bool replay_is_esn(const struct xfrm_state *x)
{
	return x->repl_mode == XFRM_REPLAY_MODE_ESN;
}

static size_t state_ext_size(u32 window)
{
	return sizeof(struct sadb_x_replay_state) +
	       DIV_ROUND_UP(window, 64) * PFKEY_WORD;
}

/* The inbound top. Without x->lock (an SA busy at that instant in SADB_DUMP)
 * the ESN halves are read until the high one holds still around the low
 * one. The input path writes the low half first and carries into the high
 * one after, so a read that falls between the two writes, at the moment the
 * low half wraps, is still 2^32 short: only SADB_GET is exact.
 */
static u64 replay_seq(const struct xfrm_state *x)
{
	const struct xfrm_replay_state_esn *esn = x->replay_esn;
	u32 hi, lo;

	switch (x->repl_mode) {
	case XFRM_REPLAY_MODE_LEGACY:
		return READ_ONCE(x->replay.seq);
	case XFRM_REPLAY_MODE_BMP:
		return READ_ONCE(esn->seq);
	default:
		do {
			hi = READ_ONCE(esn->seq_hi);
			lo = READ_ONCE(esn->seq);
		} while (hi != READ_ONCE(esn->seq_hi));
		return (u64)hi << 32 | lo;
	}
}

static u64 replay_oseq(const struct xfrm_state *x)
{
	const struct xfrm_replay_state_esn *esn = x->replay_esn;

	switch (x->repl_mode) {
	case XFRM_REPLAY_MODE_LEGACY:
		return READ_ONCE(x->replay.oseq);
	case XFRM_REPLAY_MODE_BMP:
		return READ_ONCE(esn->oseq);
	default:
		return (u64)READ_ONCE(esn->oseq_hi) << 32 | READ_ONCE(esn->oseq);
	}
}

/* Bitmap and ESN SAs keep a ring of @window bits whose slot for the highest
 * sequence number moves with it (xfrm_replay_check_bmp()): age a, the
 * distance below the top, sits in slot (top - a) mod window. The canonical
 * bitmap has age a in bit a. Going from one to the other reverses runs of
 * up to 32 bits, so a conversion costs O(window / 32) word operations, not
 * a division per bit: notifications run under x->lock in softirq.
 */

/* Bits [@lo, @lo + @n) of @ring as the low bits of a word; 1 <= @n <= 32. */
static u32 ring_get(const u32 *ring, u32 lo, u32 n)
{
	u64 v = READ_ONCE(ring[lo / 32]);

	if (lo % 32 + n > 32)
		v |= (u64)READ_ONCE(ring[lo / 32 + 1]) << 32;
	return (v >> (lo % 32)) & GENMASK_ULL(n - 1, 0);
}

static void ring_or(u32 *ring, u32 lo, u32 n, u32 bits)
{
	u64 v = (u64)bits << (lo % 32);

	ring[lo / 32] |= lower_32_bits(v);
	if (lo % 32 + n > 32)
		ring[lo / 32 + 1] |= upper_32_bits(v);
}

/* The slot of the top @seq, as the input path computes it; @window > 0. */
static u32 ring_top(u32 seq, u32 window)
{
	return (seq - 1) % window;
}

/* Walk the ages 0..@window-1 in runs that stay inside one canonical word and
 * one unwrapped stretch of the ring. For each run: *@age its first age,
 * *@slot the slot of that age (the run covers slots *@slot down to
 * *@slot - n + 1); returns n, 0 at the end.
 */
static u32 ring_run(u32 top, u32 window, u32 *age, u32 *slot)
{
	if (*age >= window)
		return 0;
	*slot = *age <= top ? top - *age : top + window - *age;
	return min3(32 - *age % 32, *slot + 1, window - *age);
}

static u32 reverse_low_bits(u32 bits, u32 n)
{
	return bitrev32(bits) >> (32 - n);
}

/* @canonical must be zeroed; @seq is the top the bitmap is reported for. */
static void ring_to_canonical(const struct xfrm_replay_state_esn *esn,
			      u32 seq, u32 window, u32 *canonical)
{
	u32 top, age, slot, n;

	if (!window)
		return;
	top = ring_top(seq, window);
	for (age = 0; (n = ring_run(top, window, &age, &slot)); age += n)
		canonical[age / 32] |=
			reverse_low_bits(ring_get(esn->bmp, slot + 1 - n, n),
					 n) << (age % 32);
}

/* The ring must be zeroed and esn->seq be the new top. */
static void canonical_to_ring(struct xfrm_replay_state_esn *esn, u32 window,
			      const u32 *canonical)
{
	u32 top, age, slot, n;

	if (!window)
		return;
	top = ring_top(esn->seq, window);
	for (age = 0; (n = ring_run(top, window, &age, &slot)); age += n)
		ring_or(esn->bmp, slot + 1 - n, n,
			reverse_low_bits(canonical[age / 32] >> (age % 32) &
					 GENMASK(n - 1, 0), n));
}

/* The canonical bitmap of @x for @window below the top @seq; @canonical
 * must be zeroed.
 */
static void read_bitmap(const struct xfrm_state *x, u64 seq, u32 window,
			u32 *canonical)
{
	if (x->repl_mode != XFRM_REPLAY_MODE_LEGACY) {
		ring_to_canonical(x->replay_esn, lower_32_bits(seq), window,
				  canonical);
		return;
	}
	if (window)
		canonical[0] = READ_ONCE(x->replay.bitmap) &
			       GENMASK(window - 1, 0);
}

static void write_bitmap(struct xfrm_state *x, u32 window,
			 const u32 *canonical)
{
	if (x->repl_mode == XFRM_REPLAY_MODE_LEGACY)
		x->replay.bitmap = window ? canonical[0] : 0;
	else
		canonical_to_ring(x->replay_esn, window, canonical);
}

/* Counters set, bitmap cleared. */
static void replay_write_counters(struct xfrm_state *x, u64 oseq, u64 seq)
{
	struct xfrm_replay_state_esn *esn = x->replay_esn;

	if (x->repl_mode == XFRM_REPLAY_MODE_LEGACY) {
		x->replay.oseq = oseq;
		x->replay.seq = seq;
		x->replay.bitmap = 0;
		return;
	}
	esn->oseq = lower_32_bits(oseq);
	esn->oseq_hi = upper_32_bits(oseq);
	esn->seq = lower_32_bits(seq);
	esn->seq_hi = upper_32_bits(seq);
	memset(esn->bmp, 0, esn->bmp_len * sizeof(esn->bmp[0]));
}

/* Start the next count and timer periods from the state just written. */
static void replay_sync_preplay(struct xfrm_state *x)
{
	if (x->repl_mode == XFRM_REPLAY_MODE_LEGACY)
		x->preplay = x->replay;
	else
		memcpy(x->preplay_esn, x->replay_esn,
		       xfrm_replay_state_esn_len(x->replay_esn));
}

static int verify_thresh(const struct sadb_x_replay_thresh *thresh)
{
	if (thresh->sadb_x_replay_thresh_len * PFKEY_WORD != sizeof(*thresh) ||
	    thresh->sadb_x_replay_thresh_reserved ||
	    thresh->sadb_x_replay_thresh_msecs > SADB_X_REPLAY_MSECS_MAX)
		return -EINVAL;
	return 0;
}

static int verify_state(const struct sadb_x_replay_state *state)
{
	u32 window = state->sadb_x_replay_state_window;
	u32 words = DIV_ROUND_UP(window, 32);
	size_t len = state->sadb_x_replay_state_len * PFKEY_WORD;
	const u32 *bitmap = state->sadb_x_replay_state_bitmap;

	if (len < sizeof(*state) || window > SADB_X_REPLAY_WINDOW_MAX ||
	    len != state_ext_size(window))
		return -EINVAL;
	if (state->sadb_x_replay_state_flags & ~SADB_X_REPLAY_F_ESN ||
	    state->sadb_x_replay_state_cause ||
	    state->sadb_x_replay_state_reserved ||
	    state->sadb_x_replay_state_reserved2)
		return -EINVAL;
	if (!(state->sadb_x_replay_state_flags & SADB_X_REPLAY_F_ESN) &&
	    (upper_32_bits(state->sadb_x_replay_state_oseq) ||
	     upper_32_bits(state->sadb_x_replay_state_seq)))
		return -EINVAL;
	/* Bits past the window, and the padding word, must be clear. */
	if (window % 32 && bitmap[words - 1] & ~GENMASK(window % 32 - 1, 0))
		return -EINVAL;
	if (words % 2 && bitmap[words])
		return -EINVAL;
	return 0;
}

/**
 * pfkey_replay_verify_ext - check one replay extension of an incoming message
 * @ext: extension whose sadb_ext_len was checked against the message length
 *
 * Return: 0 if @ext is well formed, -EINVAL otherwise.
 */
int pfkey_replay_verify_ext(const struct sadb_ext *ext)
{
	size_t len = ext->sadb_ext_len * PFKEY_WORD;

	switch (ext->sadb_ext_type) {
	case SADB_X_EXT_REPLAY_THRESH:
		if (len < sizeof(struct sadb_x_replay_thresh))
			return -EINVAL;
		return verify_thresh((const void *)ext);
	case SADB_X_EXT_REPLAY_STATE:
		if (len < sizeof(struct sadb_x_replay_state))
			return -EINVAL;
		return verify_state((const void *)ext);
	}
	return -EINVAL;
}

/**
 * pfkey_replay_verify_use - are the replay extensions of a message in place
 * @type: sadb_msg_type of the message
 * @ext_hdrs: extensions found by parse_exthdrs()
 *
 * Thresholds belong in SADB_ADD, SADB_UPDATE and SADB_X_SET_REPLAY, a state
 * in SADB_X_SET_REPLAY only. Anywhere else they are refused rather than
 * ignored: a sender must not believe a state or threshold was applied.
 *
 * Return: 0, or -EINVAL.
 */
int pfkey_replay_verify_use(u8 type, void * const *ext_hdrs)
{
	bool thresh = ext_hdrs[SADB_X_EXT_REPLAY_THRESH - 1];
	bool state = ext_hdrs[SADB_X_EXT_REPLAY_STATE - 1];

	switch (type) {
	case SADB_X_SET_REPLAY:
		return 0;
	case SADB_ADD:
	case SADB_UPDATE:
		return state ? -EINVAL : 0;
	}
	return thresh || state ? -EINVAL : 0;
}

/**
 * pfkey_replay_msg_is_new - does a PF_KEY message carry anything of ours
 * @skb: a linear PF_KEY message, from the kernel or as a user sent it
 *
 * Old parsers (libipsec, strongSwan's kernel-pfkey) reject unknown message
 * and extension types, so such a message may reach only sockets that
 * registered for the replay extension, whatever path broadcasts it (replies,
 * dumps, copies for promiscuous sockets). The walk stops at the first
 * extension that does not fit; extensions after it were never parsed.
 *
 * Return: true if @skb has a replay message type or extension.
 */
bool pfkey_replay_msg_is_new(const struct sk_buff *skb)
{
	const struct sadb_msg *hdr = (const struct sadb_msg *)skb->data;
	const struct sadb_ext *ext;
	size_t left, len;

	if (skb->len < sizeof(*hdr))
		return false;
	if (hdr->sadb_msg_type > SADB_MAX)
		return true;
	left = min_t(size_t, hdr->sadb_msg_len * PFKEY_WORD, skb->len);
	left = left > sizeof(*hdr) ? left - sizeof(*hdr) : 0;
	ext = (const struct sadb_ext *)(hdr + 1);
	while (left >= sizeof(*ext)) {
		if (ext->sadb_ext_type > SADB_EXT_MAX &&
		    ext->sadb_ext_type <= SADB_X_REPLAY_EXT_MAX)
			return true;
		len = ext->sadb_ext_len * PFKEY_WORD;
		if (!len || len > left)
			break;
		left -= len;
		ext = (const void *)ext + len;
	}
	return false;
}

/**
 * pfkey_replay_cause - PF_KEY cause of an XFRM_MSG_NEWAE event
 * @aevent: km_event.data.aevent
 *
 * Return: SADB_X_REPLAY_CAUSE_*.
 */
u8 pfkey_replay_cause(u32 aevent)
{
	switch (aevent) {
	case XFRM_REPLAY_UPDATE:
		return SADB_X_REPLAY_CAUSE_COUNT;
	case XFRM_REPLAY_TIMEOUT:
		return SADB_X_REPLAY_CAUSE_TIMER;
	case XFRM_AE_CU:
		return SADB_X_REPLAY_CAUSE_UPDATE;
	}
	return SADB_X_REPLAY_CAUSE_NONE;
}

static void fill_thresh(struct sadb_x_replay_thresh *thresh,
			const struct xfrm_state *x)
{
	thresh->sadb_x_replay_thresh_len = sizeof(*thresh) / PFKEY_WORD;
	thresh->sadb_x_replay_thresh_exttype = SADB_X_EXT_REPLAY_THRESH;
	thresh->sadb_x_replay_thresh_packets = READ_ONCE(x->replay_maxdiff);
	/* XFRMA_ETIMER_THRESH can set more than PF_KEY can name. */
	thresh->sadb_x_replay_thresh_msecs =
		min_t(u64, jiffies64_to_msecs(READ_ONCE(x->replay_maxage)),
		      SADB_X_REPLAY_MSECS_MAX);
}

/* @state must be zeroed, bitmap included. */
static void fill_state(struct sadb_x_replay_state *state,
		       const struct xfrm_state *x, u32 window, u8 cause)
{
	state->sadb_x_replay_state_len = state_ext_size(window) / PFKEY_WORD;
	state->sadb_x_replay_state_exttype = SADB_X_EXT_REPLAY_STATE;
	state->sadb_x_replay_state_flags = replay_is_esn(x) ?
					   SADB_X_REPLAY_F_ESN : 0;
	state->sadb_x_replay_state_cause = cause;
	state->sadb_x_replay_state_oseq = replay_oseq(x);
	state->sadb_x_replay_state_seq = replay_seq(x);
	state->sadb_x_replay_state_window = window;
	read_bitmap(x, state->sadb_x_replay_state_seq, window,
		    state->sadb_x_replay_state_bitmap);
}

/* Both extensions for @window. */
static size_t exts_size(u32 window)
{
	return sizeof(struct sadb_x_replay_thresh) + state_ext_size(window);
}

/* Both extensions for @window; the caller made the room. */
static void put_exts(struct sk_buff *skb, const struct xfrm_state *x,
		     u32 window, u8 cause)
{
	size_t state_size = state_ext_size(window);
	struct sadb_msg *hdr = (struct sadb_msg *)skb->data;

	fill_thresh(skb_put_zero(skb, sizeof(struct sadb_x_replay_thresh)), x);
	fill_state(skb_put_zero(skb, state_size), x, window, cause);
	hdr->sadb_msg_len += exts_size(window) / PFKEY_WORD;
}

/**
 * pfkey_replay_room - what pfkey_replay_append() will add for an SA
 * @x: the SA, as it is now
 *
 * For a message allocated with this much tailroom, appending needs no
 * second allocation, unless NEWAE grows the window in between: then
 * pfkey_replay_append() makes the room itself.
 *
 * Return: the size in bytes.
 */
size_t pfkey_replay_room(const struct xfrm_state *x)
{
	return exts_size(replay_window(x));
}

/**
 * pfkey_replay_append - add the thresholds and replay state of an SA
 * @skb: a complete PF_KEY message; consumed
 * @x: the SA the message describes
 * @cause: SADB_X_REPLAY_CAUSE_* to report
 *
 * With x->lock held the message is a snapshot. Without it (SADB_DUMP of an
 * SA whose lock was taken at that instant: the walk holds xfrm_state_lock,
 * which nests inside x->lock) each field is read once, the bitmap is
 * reported for the top the message reports, and the message is well formed
 * and sized for the window it reports; packets and NEWAE may still move
 * the SA between two fields.
 *
 * Return: the message with both extensions appended and its length updated,
 * or an ERR_PTR() after freeing @skb.
 */
struct sk_buff *pfkey_replay_append(struct sk_buff *skb,
				    const struct xfrm_state *x, u8 cause)
{
	u32 window = replay_window(x);
	size_t size = exts_size(window);

	if (skb_tailroom(skb) < size &&
	    pskb_expand_head(skb, 0, size, GFP_ATOMIC)) {
		kfree_skb(skb);
		return ERR_PTR(-ENOBUFS);
	}
	put_exts(skb, x, window, cause);
	return skb;
}

/**
 * pfkey_replay_reserve - make room for the replay extensions of any SA
 * @skb: a PF_KEY message that pfkey_replay_apply() will complete
 *
 * Return: 0 or -ENOBUFS.
 */
int pfkey_replay_reserve(struct sk_buff *skb)
{
	if (skb_tailroom(skb) >= PFKEY_REPLAY_EXT_MAX)
		return 0;
	return pskb_expand_head(skb, 0, PFKEY_REPLAY_EXT_MAX, GFP_KERNEL) ?
	       -ENOBUFS : 0;
}

/**
 * pfkey_replay_init_thresh - thresholds of an SA that is not inserted yet
 * @x: the SA, private to the caller
 * @thresh: checked by pfkey_replay_verify_ext()
 *
 * As xfrm_state_construct() does for netlink: inserting the SA arms its
 * replay timer, so nothing can fail after the SA is visible.
 */
void pfkey_replay_init_thresh(struct xfrm_state *x,
			      const struct sadb_x_replay_thresh *thresh)
{
	x->replay_maxdiff = thresh->sadb_x_replay_thresh_packets;
	x->replay_maxage = msecs_to_jiffies(thresh->sadb_x_replay_thresh_msecs);
}

/* New thresholds start a new period. An expiry deferred under the old ones
 * (XFRM_TIME_DEFER: the timer fired with nothing to report, or while nobody
 * listened) would otherwise turn every packet into a notification until the
 * next expiry. A timer handler already running would set the flag again
 * behind our back, so wait for it first, without x->lock, which it needs:
 * the new thresholds are in force already, so whoever arms the timer
 * meanwhile (a packet) arms it for the new period.
 */
static void restart_period(struct xfrm_state *x)
{
	timer_delete_sync(&x->rtimer);
	spin_lock_bh(&x->lock);
	x->xflags &= ~XFRM_TIME_DEFER;
	if (x->replay_maxage && x->km.state == XFRM_STATE_VALID)
		mod_timer(&x->rtimer, jiffies + x->replay_maxage);
	spin_unlock_bh(&x->lock);
}

static int check_state(const struct xfrm_state *x,
		       const struct sadb_x_replay_state *state)
{
	bool esn = state->sadb_x_replay_state_flags & SADB_X_REPLAY_F_ESN;

	if (state->sadb_x_replay_state_window != replay_window(x) ||
	    esn != replay_is_esn(x))
		return -EINVAL;
	/* A lower outbound number would reuse ESP sequence numbers, and with
	 * them AES-GCM nonces; a lower inbound one would accept replays.
	 */
	if (state->sadb_x_replay_state_oseq < replay_oseq(x) ||
	    state->sadb_x_replay_state_seq < replay_seq(x))
		return -ERANGE;
	return 0;
}

/* @dst |= @src shifted up by @shift bits, over @window bits. */
static void or_shifted(u32 *dst, const u32 *src, u32 window, u64 shift)
{
	u32 words = DIV_ROUND_UP(window, 32);
	u32 ws, bs, i;

	if (shift >= window)
		return;
	ws = shift / 32;
	bs = shift % 32;
	for (i = words; i-- > ws;) {
		dst[i] |= src[i - ws] << bs;
		if (bs && i > ws)
			dst[i] |= src[i - ws - 1] >> (32 - bs);
	}
	if (window % 32)
		dst[words - 1] &= GENMASK(window % 32 - 1, 0);
}

/* Move the inbound window forward to the new top and keep every sequence
 * number the SA has already accepted: the new bitmap is OR-ed with the old
 * one shifted by the distance the top moved. @scratch holds two canonical
 * bitmaps of the SA's window, zeroed.
 */
static void apply_state(struct xfrm_state *x,
			const struct sadb_x_replay_state *state, u32 *scratch)
{
	u32 window = state->sadb_x_replay_state_window;
	u32 *old = scratch, *merged = scratch + DIV_ROUND_UP(window, 32);

	read_bitmap(x, replay_seq(x), window, old);
	memcpy(merged, state->sadb_x_replay_state_bitmap,
	       DIV_ROUND_UP(window, 32) * sizeof(u32));
	or_shifted(merged, old, window,
		   state->sadb_x_replay_state_seq - replay_seq(x));

	replay_write_counters(x, state->sadb_x_replay_state_oseq,
			      state->sadb_x_replay_state_seq);
	write_bitmap(x, window, merged);
	replay_sync_preplay(x);
}

/**
 * pfkey_replay_apply - set the replay state and/or thresholds of a live SA
 * @x: the SA, not locked by the caller
 * @state: new replay state, or NULL
 * @thresh: new thresholds, or NULL
 * @reply: a message made ready with pfkey_replay_reserve(), or NULL; on
 *	success the extensions with the state now in force are appended
 *
 * Both extensions were checked by pfkey_replay_verify_ext(). The update is
 * atomic under x->lock: either everything is applied or nothing is, and the
 * reply is completed in the same critical section, so no error can follow a
 * change. A new T, or thresholds set while an expiry was deferred, then
 * restart the notification period, after the lock is dropped; the same T
 * again leaves a pending expiry alone. Must not be called in atomic
 * context.
 *
 * Return: 0, -ESRCH if @x is no longer valid, -EINVAL if @state does not fit
 * @x, -ERANGE if it would move a sequence number backwards, -EOPNOTSUPP for
 * a state on an SA offloaded to a device (whose ESN high bits would go stale),
 * -ENOMEM.
 */
int pfkey_replay_apply(struct xfrm_state *x,
		       const struct sadb_x_replay_state *state,
		       const struct sadb_x_replay_thresh *thresh,
		       struct sk_buff *reply)
{
	bool restart = false;
	u32 *scratch = NULL;
	int err = 0;

	might_sleep();
	if (state && x->xso.dev)
		return -EOPNOTSUPP;
	if (state) {
		u32 words = DIV_ROUND_UP(state->sadb_x_replay_state_window, 32);

		scratch = kcalloc(2 * words, sizeof(u32), GFP_KERNEL);
		if (!scratch)
			return -ENOMEM;
	}

	spin_lock_bh(&x->lock);
	if (x->km.state != XFRM_STATE_VALID)
		err = -ESRCH;
	else if (state)
		err = check_state(x, state);
	if (err)
		goto out;
	if (state)
		apply_state(x, state, scratch);
	if (thresh) {
		u32 maxage = msecs_to_jiffies(thresh->sadb_x_replay_thresh_msecs);

		/* The same T again leaves a pending expiry alone: a key
		 * manager that resends its thresholds would never hear one.
		 */
		restart = x->xflags & XFRM_TIME_DEFER ||
			  maxage != x->replay_maxage;
		if (restart)
			x->xflags &= ~XFRM_TIME_DEFER;
		x->replay_maxdiff = thresh->sadb_x_replay_thresh_packets;
		x->replay_maxage = maxage;
	}
	if (reply)
		put_exts(reply, x, replay_window(x), SADB_X_REPLAY_CAUSE_NONE);
out:
	spin_unlock_bh(&x->lock);
	kfree(scratch);
	if (!err && restart)
		restart_period(x);
	return err;
}
