// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * PF_KEY replay-state extensions: validation of the new extensions, the
 * canonical view of an SA's anti-replay state, and the rules for setting it.
 *
 * The kernel keeps three layouts of replay state (legacy 32-bit, bitmap and
 * ESN, see xfrm_replay.c); user space sees one canonical layout in which bit
 * i of the bitmap stands for sequence number "seq - i".
 */

#include <linux/bitmap.h>
#include <linux/jiffies.h>
#include <linux/skbuff.h>
#include <linux/slab.h>

#include "af_key_replay.h"

#define PFKEY_WORD		sizeof(u64)

static u32 replay_window(const struct xfrm_state *x)
{
	if (x->repl_mode == XFRM_REPLAY_MODE_LEGACY)
		return x->props.replay_window;
	return x->replay_esn->replay_window;
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

static u64 replay_seq(const struct xfrm_state *x)
{
	const struct xfrm_replay_state_esn *esn = x->replay_esn;

	switch (x->repl_mode) {
	case XFRM_REPLAY_MODE_LEGACY:
		return x->replay.seq;
	case XFRM_REPLAY_MODE_BMP:
		return esn->seq;
	default:
		return (u64)esn->seq_hi << 32 | esn->seq;
	}
}

static u64 replay_oseq(const struct xfrm_state *x)
{
	const struct xfrm_replay_state_esn *esn = x->replay_esn;

	switch (x->repl_mode) {
	case XFRM_REPLAY_MODE_LEGACY:
		return x->replay.oseq;
	case XFRM_REPLAY_MODE_BMP:
		return esn->oseq;
	default:
		return (u64)esn->oseq_hi << 32 | esn->oseq;
	}
}

/* Bitmap and ESN SAs keep a ring whose slot for the highest sequence number
 * moves with it; this is the slot the input path (xfrm_replay_check_bmp())
 * looks at for "seq - age".
 */
static u32 ring_slot(const struct xfrm_replay_state_esn *esn, u32 age)
{
	u32 window = esn->replay_window;
	u32 top = (esn->seq - 1) % window;

	return top >= age ? top - age : window - (age - top);
}

static bool replay_test_age(const struct xfrm_state *x, u32 age)
{
	const struct xfrm_replay_state_esn *esn = x->replay_esn;
	u32 slot;

	if (x->repl_mode == XFRM_REPLAY_MODE_LEGACY)
		return x->replay.bitmap & (1U << age);
	slot = ring_slot(esn, age);
	return esn->bmp[slot / 32] & (1U << (slot % 32));
}

static void replay_set_age(struct xfrm_state *x, u32 age)
{
	struct xfrm_replay_state_esn *esn = x->replay_esn;
	u32 slot;

	if (x->repl_mode == XFRM_REPLAY_MODE_LEGACY) {
		x->replay.bitmap |= 1U << age;
		return;
	}
	slot = ring_slot(esn, age);
	esn->bmp[slot / 32] |= 1U << (slot % 32);
}

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
	    thresh->sadb_x_replay_thresh_reserved)
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
 * pfkey_replay_msg_has_ext - does a parsed message carry a replay extension
 * @ext_hdrs: extensions found by parse_exthdrs()
 */
bool pfkey_replay_msg_has_ext(void * const *ext_hdrs)
{
	return ext_hdrs[SADB_X_EXT_REPLAY_THRESH - 1] ||
	       ext_hdrs[SADB_X_EXT_REPLAY_STATE - 1];
}

/**
 * pfkey_replay_cause - PF_KEY cause of an XFRM_MSG_NEWAE event
 * @aevent: km_event.data.aevent
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
	thresh->sadb_x_replay_thresh_packets = x->replay_maxdiff;
	thresh->sadb_x_replay_thresh_msecs = jiffies_to_msecs(x->replay_maxage);
}

/* @state must be zeroed, bitmap included. */
static void fill_state(struct sadb_x_replay_state *state,
		       const struct xfrm_state *x, u8 cause)
{
	u32 window = replay_window(x);
	u32 age;

	state->sadb_x_replay_state_len = state_ext_size(window) / PFKEY_WORD;
	state->sadb_x_replay_state_exttype = SADB_X_EXT_REPLAY_STATE;
	state->sadb_x_replay_state_flags = replay_is_esn(x) ?
					   SADB_X_REPLAY_F_ESN : 0;
	state->sadb_x_replay_state_cause = cause;
	state->sadb_x_replay_state_oseq = replay_oseq(x);
	state->sadb_x_replay_state_seq = replay_seq(x);
	state->sadb_x_replay_state_window = window;
	for (age = 0; age < window; age++)
		if (replay_test_age(x, age))
			state->sadb_x_replay_state_bitmap[age / 32] |=
				1U << (age % 32);
}

/**
 * pfkey_replay_append - add the thresholds and replay state of an SA
 * @skb: a complete PF_KEY message; consumed
 * @x: the SA the message describes
 * @cause: SADB_X_REPLAY_CAUSE_* to report
 *
 * Reads @x without taking its lock: callers that need a consistent snapshot
 * hold x->lock, as the replay notification path already does.
 *
 * Return: the message with both extensions appended and its length updated,
 * or an ERR_PTR() after freeing @skb.
 */
struct sk_buff *pfkey_replay_append(struct sk_buff *skb,
				    const struct xfrm_state *x, u8 cause)
{
	size_t state_size = state_ext_size(replay_window(x));
	size_t size = sizeof(struct sadb_x_replay_thresh) + state_size;
	struct sadb_msg *hdr;

	if (skb_tailroom(skb) < size &&
	    pskb_expand_head(skb, 0, size, GFP_ATOMIC)) {
		kfree_skb(skb);
		return ERR_PTR(-ENOBUFS);
	}
	fill_thresh(skb_put_zero(skb, sizeof(struct sadb_x_replay_thresh)), x);
	fill_state(skb_put_zero(skb, state_size), x, cause);

	hdr = (struct sadb_msg *)skb->data;
	hdr->sadb_msg_len += size / PFKEY_WORD;
	return skb;
}

static void apply_thresh(struct xfrm_state *x,
			 const struct sadb_x_replay_thresh *thresh)
{
	x->replay_maxdiff = thresh->sadb_x_replay_thresh_packets;
	x->replay_maxage = msecs_to_jiffies(thresh->sadb_x_replay_thresh_msecs);

	/* A new period starts now. An expiry deferred under the old
	 * thresholds (the timer fired while nobody listened) would otherwise
	 * turn every packet into a notification: xfrm_replay_notify() clears
	 * the flag only when it finds the timer idle. The timer re-arms
	 * itself only while replay_maxage is set.
	 */
	x->xflags &= ~XFRM_TIME_DEFER;
	if (x->replay_maxage)
		mod_timer(&x->rtimer, jiffies + x->replay_maxage);
	else
		del_timer(&x->rtimer);
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

/* Move the inbound window forward to the new top and keep every sequence
 * number the SA has already accepted: the new bitmap is OR-ed with the old
 * one shifted by the distance the top moved.
 */
static void apply_state(struct xfrm_state *x,
			const struct sadb_x_replay_state *state,
			unsigned long *merged)
{
	u64 shift = state->sadb_x_replay_state_seq - replay_seq(x);
	u32 window = replay_window(x);
	u32 age;

	for (age = 0; age < window; age++) {
		if (state->sadb_x_replay_state_bitmap[age / 32] &
		    (1U << (age % 32)))
			__set_bit(age, merged);
		if (age >= shift && replay_test_age(x, age - shift))
			__set_bit(age, merged);
	}

	replay_write_counters(x, state->sadb_x_replay_state_oseq,
			      state->sadb_x_replay_state_seq);
	for_each_set_bit(age, merged, window)
		replay_set_age(x, age);
	replay_sync_preplay(x);
}

/**
 * pfkey_replay_apply - set the replay state and/or thresholds of a live SA
 * @x: the SA, not locked by the caller
 * @state: new replay state, or NULL
 * @thresh: new thresholds, or NULL
 *
 * Both were checked by pfkey_replay_verify_ext(). The update is atomic under
 * x->lock: either everything is applied or nothing is.
 *
 * Return: 0, -ESRCH if @x is no longer valid, -EINVAL if @state does not fit
 * @x, -ERANGE if it would move a sequence number backwards, -ENOMEM.
 */
int pfkey_replay_apply(struct xfrm_state *x,
		       const struct sadb_x_replay_state *state,
		       const struct sadb_x_replay_thresh *thresh)
{
	unsigned long *merged = NULL;
	int err = 0;

	if (state) {
		merged = bitmap_zalloc(state->sadb_x_replay_state_window,
				       GFP_KERNEL);
		if (!merged)
			return -ENOMEM;
	}

	spin_lock_bh(&x->lock);
	if (x->km.state != XFRM_STATE_VALID)
		err = -ESRCH;
	else if (state)
		err = check_state(x, state);
	if (!err && state)
		apply_state(x, state, merged);
	if (!err && thresh)
		apply_thresh(x, thresh);
	spin_unlock_bh(&x->lock);

	bitmap_free(merged);
	return err;
}
