// SPDX-License-Identifier: GPL-2.0
/*
 * Random and mutated PF_KEY messages against af_key, from a registered and
 * an unregistered socket, while a promiscuous unregistered socket watches.
 * Checks, for every message: the kernel answers (a send() error, or a reply
 * with our sequence number and an errno it is allowed to give); no socket
 * that did not register ever receives a replay message or extension type,
 * except the reply to a SADB_X_SET_REPLAY it sent itself.
 *
 * Destructive requests (deletes, flushes, SPD changes) and anything naming
 * the SPIs in PROTECTED are left out: the caller checks afterwards that its
 * SAs still carry ESP. Prints one TAP line per check.
 * Usage: pfkey_fuzz COUNT SEED [SECONDS]   (in the namespace to test)
 *   SECONDS ends the run early: a kernel with sanitizers under TCG takes
 *   seconds for what takes milliseconds elsewhere. Without SECONDS, at
 *   least half of COUNT must be sent; with it, at least MIN_SENT_IN_TIME.
 *   Replies are never waited for: af_key queues its answer before send()
 *   returns, and the next part of a dump before recv() returns.
 *        pfkey_fuzz generate COUNT SEED
 *   makes COUNT messages and sends none: the harness runs the generator
 *   under ASan and UBSan on the host, where no PF_KEY is needed.
 */
#define _GNU_SOURCE
#include "pfkey_replay_lib.h"

static const uint32_t PROTECTED[] = { 0x1001, 0x2001 };
/* What a run bounded in time must still have sent to count. */
#define MIN_SENT_IN_TIME 2000

static uint64_t rng;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static bool destructive(uint8_t type)
{
	switch (type) {
	case SADB_DELETE: case SADB_FLUSH: case SADB_UPDATE:
	case SADB_X_SPDADD: case SADB_X_SPDUPDATE: case SADB_X_SPDDELETE:
	case SADB_X_SPDDELETE2: case SADB_X_SPDFLUSH: case SADB_X_SPDSETIDX:
	case SADB_X_MIGRATE:
		return true;
	}
	return false;
}

/* A valid message to start from: one of the shapes the extension knows. */
static void seed(struct msg *m)
{
	static const uint8_t types[] = {
		SADB_GET, SADB_X_SET_REPLAY, SADB_X_REPLAY_REGISTER, SADB_DUMP,
		SADB_ADD, SADB_X_SPDDUMP, SADB_REGISTER, SADB_GETSPI,
	};
	uint8_t type = types[rnd() % sizeof(types)];
	uint32_t spi = 0x7000 + rnd() % 16;
	uint32_t window = rnd() % 3 ? 32 : rnd() % 4200;

	msg_init(m, type, type == SADB_X_REPLAY_REGISTER ? 0 : SADB_SATYPE_ESP);
	switch (type) {
	case SADB_GET:
	case SADB_GETSPI:
		msg_add_sa_id(m, spi, AF_INET, "10.0.0.1", "10.0.0.2");
		break;
	case SADB_X_SET_REPLAY:
		msg_add_sa_id(m, spi, AF_INET, "10.0.0.1", "10.0.0.2");
		if (rnd() % 2)
			msg_add_thresh(m, rnd() % 100, rnd() % 5000);
		if (rnd() % 2)
			msg_add_state(m, rnd() % 2, rnd(), rnd(), window);
		break;
	case SADB_ADD: {
		struct sadb_sa *sa = msg_add_sa_id(m, spi, AF_INET, "10.0.0.1",
						   "10.0.0.2");
		struct sadb_key *key;

		sa->sadb_sa_replay = rnd() % 40;
		sa->sadb_sa_state = SADB_SASTATE_MATURE;
		sa->sadb_sa_encrypt = SADB_X_EALG_AESCBC;
		key = msg_add(m, SADB_EXT_KEY_ENCRYPT, sizeof(*key) + 16);
		key->sadb_key_bits = 128;
		if (rnd() % 2)
			msg_add_thresh(m, rnd() % 100, rnd() % 5000);
		break;
	}
	}
}

/* Up to three mutations. The length field is changed last, by at most
 * two words each time and kept inside the buffer: an extension appended
 * after a shortened (or wrapped) length would be written past it.
 */
static void mutate(struct msg *m)
{
	uint8_t *b = (uint8_t *)m->words;
	int n = rnd() % 4, i, len_delta = 0;
	size_t len = msg_len(m), ext_len;

	for (i = 0; i < n; i++) {
		switch (rnd() % 6) {
		case 0:	/* a byte anywhere past the base header */
			if (len > sizeof(m->hdr))
				b[sizeof(m->hdr) + rnd() % (len - sizeof(m->hdr))] = rnd();
			break;
		case 1:	/* an extension of any type, ours included */
			ext_len = 8 * (1 + rnd() % 6);
			if (len + ext_len <= sizeof(m->words)) {
				msg_add(m, 20 + rnd() % 12, ext_len);
				len = msg_len(m);
			}
			break;
		case 2:	/* the length field */
			len_delta += (int)(rnd() % 5) - 2;
			break;
		case 3:	/* the type */
			m->hdr.sadb_msg_type = 1 + rnd() % 30;
			break;
		case 4:	/* an extension length, in place */
			if (len > sizeof(m->hdr) + 8)
				((struct sadb_ext *)(b + sizeof(m->hdr)))->sadb_ext_len =
					rnd() % 80;
			break;
		case 5:	/* the satype */
			m->hdr.sadb_msg_satype = rnd() % 12;
			break;
		}
	}
	len_delta += (int)(len / 8);
	if (len_delta < 0)
		len_delta = 0;
	if ((size_t)len_delta > sizeof(m->words) / 8)
		len_delta = sizeof(m->words) / 8;
	m->hdr.sadb_msg_len = len_delta;
}

static bool names_protected_spi(const struct msg *m)
{
	const struct sadb_sa *sa = msg_ext(m, SADB_EXT_SA);
	unsigned int i;

	for (i = 0; sa && i < sizeof(PROTECTED) / sizeof(PROTECTED[0]); i++)
		if (ntohl(sa->sadb_sa_spi) == PROTECTED[i])
			return true;
	/* Extension lengths may be garbage: a walk can miss the SA. */
	return m->hdr.sadb_msg_type == SADB_X_SET_REPLAY && !sa;
}

/* The next message to send, or false for one the caller must not send. */
static bool next_message(struct msg *m)
{
	seed(m);
	if (rnd() % 8)
		mutate(m);
	return !destructive(m->hdr.sadb_msg_type) && !names_protected_spi(m);
}

static bool allowed_errno(int e)
{
	switch (e) {
	case 0: case EINVAL: case ESRCH: case ENOENT: case EEXIST: case ERANGE:
	case EPERM: case ENOBUFS: case EBUSY: case EOPNOTSUPP: case ENOMEM:
	case EAFNOSUPPORT: case EPROTONOSUPPORT: case ENOSYS: case EMSGSIZE:
		return true;
	}
	return false;
}

/* Our types only: unknown extension types that a user sent are echoed to
 * promiscuous sockets as stock af_key does.
 */
static bool carries_new(const struct msg *m)
{
	return m->hdr.sadb_msg_type > SADB_MAX ||
	       msg_ext(m, SADB_X_EXT_REPLAY_THRESH) ||
	       msg_ext(m, SADB_X_EXT_REPLAY_STATE);
}

/* The generator alone; prints how many messages it would have sent. */
static int generate(long count)
{
	long sendable = 0, i;
	struct msg m;

	for (i = 0; i < count; i++)
		sendable += next_message(&m);
	printf("# %ld of %ld generated messages sendable\n", sendable, count);
	return 0;
}

int main(int argc, char **argv)
{
	long count = argc > 1 ? atol(argv[1]) : 100000, sent = 0, i;
	long long seconds = argc > 3 ? atoll(argv[3]) : 0, end;
	int reg, plain, promisc, fd, r;
	long answered = 0, leaks = 0, bad_errno = 0, unanswered = 0;
	struct msg m, got;
	uint32_t seq;

	if (argc == 4 && !strcmp(argv[1], "generate")) {
		rng = strtoull(argv[3], NULL, 0);
		return generate(atol(argv[2]));
	}
	rng = argc > 2 ? strtoull(argv[2], NULL, 0) : 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	reg = socket(PF_KEY, SOCK_RAW, PF_KEY_V2);
	plain = socket(PF_KEY, SOCK_RAW, PF_KEY_V2);
	promisc = socket(PF_KEY, SOCK_RAW, PF_KEY_V2);
	if (reg < 0 || plain < 0 || promisc < 0) {
		printf("not ok fuzz.sockets %s\n", strerror(errno));
		return 1;
	}
	r = pfkey_register_replay(reg);
	printf("# registered: %s\n", r ? strerror(r) : "yes");
	msg_init(&m, SADB_X_PROMISC, 1);
	if (send(promisc, m.words, msg_len(&m), 0) < 0)
		printf("# promiscuous: %s\n", strerror(errno));

	end = monotonic_ms() + seconds * 1000;
	for (i = 0; i < count && (!seconds || monotonic_ms() < end); i++) {
		if (!next_message(&m))
			continue;
		fd = rnd() % 2 ? reg : plain;
		/* The unregistered socket must stay so. */
		if (m.hdr.sadb_msg_type == SADB_X_REPLAY_REGISTER)
			fd = reg;
		seq = (uint32_t)i + 1;
		m.hdr.sadb_msg_seq = seq;
		sent++;
		if (send(fd, m.words, m.hdr.sadb_msg_len * 8 <= sizeof(m.words) ?
				  m.hdr.sadb_msg_len * 8 : sizeof(m.hdr), 0) < 0) {
			answered++;
			continue;
		}
		/* Our reply, or nothing for a message af_key does not answer. */
		for (;;) {
			r = pfkey_recv(fd, &got, 0);
			if (r <= 0) {
				unanswered++;
				break;
			}
			if (fd == plain && carries_new(&got) &&
			    got.hdr.sadb_msg_type != SADB_X_SET_REPLAY) {
				leaks++;
				printf("# leak to unregistered sender: type %u ext %d\n",
				       got.hdr.sadb_msg_type, msg_max_ext_type(&got));
			}
			if (got.hdr.sadb_msg_seq == seq &&
			    got.hdr.sadb_msg_pid == (uint32_t)getpid()) {
				answered++;
				if (!allowed_errno(got.hdr.sadb_msg_errno)) {
					bad_errno++;
					printf("# type %u errno %u\n", got.hdr.sadb_msg_type,
					       got.hdr.sadb_msg_errno);
				}
				if (got.hdr.sadb_msg_type != SADB_DUMP &&
				    got.hdr.sadb_msg_type != SADB_X_SPDDUMP)
					break;
				if (!got.hdr.sadb_msg_seq || got.hdr.sadb_msg_errno)
					break;
			}
		}
		while (pfkey_recv(promisc, &got, 0) == 1)
			if (carries_new(&got)) {
				leaks++;
				printf("# leak to promiscuous: type %u ext %d\n",
				       got.hdr.sadb_msg_type, msg_max_ext_type(&got));
			}
		while (pfkey_recv(fd == reg ? plain : reg, &got, 0) == 1)
			if (fd == reg && carries_new(&got)) {
				leaks++;
				printf("# leak to an unregistered bystander: type %u\n",
				       got.hdr.sadb_msg_type);
			}
	}
	printf("# %ld messages sent, %ld answered, %ld without an answer\n",
	       sent, answered, unanswered);
	printf("%s fuzz.messages_sent # %ld%s\n",
	       sent >= (seconds ? MIN_SENT_IN_TIME : count / 2) ? "ok" : "not ok", sent,
	       seconds && i < count ? ", time was up" : "");
	printf("%s fuzz.no_replay_types_to_unregistered_sockets\n", leaks ? "not ok" : "ok");
	printf("%s fuzz.reply_errnos_allowed\n", bad_errno ? "not ok" : "ok");
	return leaks || bad_errno;
}
