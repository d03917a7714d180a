/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PF_KEY message helpers for the replay-state selftest and the demo: build
 * requests, walk replies, open sockets in named network namespaces.
 */
#ifndef PFKEY_REPLAY_LIB_H
#define PFKEY_REPLAY_LIB_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ipsec.h>
#include <linux/pfkeyv2.h>
#include <linux/pfkey_replay.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ALIGN8(x)	(((x) + 7) & ~7UL)

struct msg {
	union {
		struct sadb_msg hdr;
		uint64_t words[1024];
	};
};

static inline size_t msg_len(const struct msg *m)
{
	return m->hdr.sadb_msg_len * 8;
}

static inline void msg_init(struct msg *m, uint8_t type, uint8_t satype)
{
	memset(m, 0, sizeof(*m));
	m->hdr.sadb_msg_version = PF_KEY_V2;
	m->hdr.sadb_msg_type = type;
	m->hdr.sadb_msg_satype = satype;
	m->hdr.sadb_msg_len = sizeof(m->hdr) / 8;
	m->hdr.sadb_msg_pid = getpid();
}

static inline void *msg_add(struct msg *m, uint16_t type, size_t size)
{
	struct sadb_ext *ext = (void *)((char *)m->words + msg_len(m));

	size = ALIGN8(size);
	memset(ext, 0, size);
	ext->sadb_ext_len = size / 8;
	ext->sadb_ext_type = type;
	m->hdr.sadb_msg_len += size / 8;
	return ext;
}

static inline const void *msg_ext(const struct msg *m, uint16_t type)
{
	size_t off = sizeof(m->hdr);

	while (off + sizeof(struct sadb_ext) <= msg_len(m)) {
		const struct sadb_ext *ext = (const void *)((char *)m->words + off);

		if (!ext->sadb_ext_len)
			return NULL;
		if (ext->sadb_ext_type == type)
			return ext;
		off += ext->sadb_ext_len * 8;
	}
	return NULL;
}

static inline int msg_max_ext_type(const struct msg *m)
{
	size_t off = sizeof(m->hdr);
	int max = 0;

	while (off + sizeof(struct sadb_ext) <= msg_len(m)) {
		const struct sadb_ext *ext = (const void *)((char *)m->words + off);

		if (!ext->sadb_ext_len)
			break;
		if (ext->sadb_ext_type > max)
			max = ext->sadb_ext_type;
		off += ext->sadb_ext_len * 8;
	}
	return max;
}

static inline void msg_add_addr(struct msg *m, uint16_t type, int family,
				const char *ip)
{
	size_t salen = family == AF_INET ? sizeof(struct sockaddr_in) :
					   sizeof(struct sockaddr_in6);
	struct sadb_address *a = msg_add(m, type, sizeof(*a) + salen);

	a->sadb_address_prefixlen = family == AF_INET ? 32 : 128;
	if (family == AF_INET) {
		struct sockaddr_in *sin = (void *)(a + 1);

		sin->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &sin->sin_addr);
	} else {
		struct sockaddr_in6 *sin6 = (void *)(a + 1);

		sin6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &sin6->sin6_addr);
	}
}

static inline struct sadb_sa *msg_add_sa_id(struct msg *m, uint32_t spi,
					    int family,
					    const char *src, const char *dst)
{
	struct sadb_sa *sa = msg_add(m, SADB_EXT_SA, sizeof(*sa));

	sa->sadb_sa_spi = htonl(spi);
	msg_add_addr(m, SADB_EXT_ADDRESS_SRC, family, src);
	msg_add_addr(m, SADB_EXT_ADDRESS_DST, family, dst);
	return sa;
}

static inline struct sadb_x_replay_thresh *msg_add_thresh(struct msg *m,
							  uint32_t packets,
							  uint32_t msecs)
{
	struct sadb_x_replay_thresh *t;

	t = msg_add(m, SADB_X_EXT_REPLAY_THRESH, sizeof(*t));
	t->sadb_x_replay_thresh_packets = packets;
	t->sadb_x_replay_thresh_msecs = msecs;
	return t;
}

static inline struct sadb_x_replay_state *msg_add_state(struct msg *m, bool esn,
							uint64_t oseq, uint64_t seq,
							uint32_t window)
{
	struct sadb_x_replay_state *s;

	s = msg_add(m, SADB_X_EXT_REPLAY_STATE,
		    sizeof(*s) + (window + 63) / 64 * 8);
	s->sadb_x_replay_state_flags = esn ? SADB_X_REPLAY_F_ESN : 0;
	s->sadb_x_replay_state_oseq = oseq;
	s->sadb_x_replay_state_seq = seq;
	s->sadb_x_replay_state_window = window;
	return s;
}

static inline int open_in_netns(const char *ns, int domain, int type, int proto)
{
	char path[64];
	int self, target, fd, err;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	self = open("/proc/self/ns/net", O_RDONLY);
	target = open(path, O_RDONLY);
	if (self < 0 || target < 0 || setns(target, CLONE_NEWNET))
		return -1;
	fd = socket(domain, type, proto);
	err = errno;
	if (setns(self, CLONE_NEWNET))
		abort();
	close(self);
	close(target);
	errno = err;
	return fd;
}

/*
 * The namespaces pfkey_replay.sh made for this run, by the names it
 * exported: unique, so that a test never flushes or deletes a namespace
 * of the machine's. ns_name(1) and ns_name(2) are joined by a veth pair;
 * ns_name(3) is empty.
 */
static inline const char *ns_name(int i)
{
	static const char *const var[] = {
		"PFKEY_REPLAY_NS1", "PFKEY_REPLAY_NS2", "PFKEY_REPLAY_NS3"
	};
	const char *name = getenv(var[i - 1]);

	return name ? name : "";
}

#define NS1 ns_name(1)
#define NS2 ns_name(2)
#define NS3 ns_name(3)

static inline int pfkey_open(const char *ns)
{
	return open_in_netns(ns, PF_KEY, SOCK_RAW, PF_KEY_V2);
}

/* 1: got one, 0: nothing within timeout_ms, <0: -errno. */
static inline int pfkey_recv(int fd, struct msg *m, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int r;

	r = poll(&pfd, 1, timeout_ms);
	if (r <= 0)
		return r < 0 ? -errno : 0;
	n = recv(fd, m->words, sizeof(m->words), 0);
	if (n < 0)
		return -errno;
	if (n < (ssize_t)sizeof(m->hdr) || (size_t)n != msg_len(m))
		return -EBADMSG;
	return 1;
}

static inline long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * Send @req; return the errno of its reply (0 on success) or -1 on none
 * within 3 s. Other messages (notifications) do not extend the wait: af_key
 * drops a reply to a full receive buffer without a word, and a stream of
 * notifications would otherwise keep the caller forever.
 */
static inline int pfkey_request(int fd, struct msg *req, struct msg *reply)
{
	static uint32_t seq;
	struct msg scratch;
	long long deadline;
	int r;

	if (!reply)
		reply = &scratch;
	req->hdr.sadb_msg_seq = ++seq;
	if (send(fd, req->words, msg_len(req), 0) < 0)
		return errno;
	deadline = monotonic_ms() + 3000;
	for (;;) {
		long long left = deadline - monotonic_ms();

		if (left <= 0)
			return -1;
		r = pfkey_recv(fd, reply, left);
		if (r <= 0)
			return -1;
		if (reply->hdr.sadb_msg_seq == seq &&
		    reply->hdr.sadb_msg_pid == (uint32_t)getpid() &&
		    reply->hdr.sadb_msg_type == req->hdr.sadb_msg_type)
			return reply->hdr.sadb_msg_errno;
	}
}

static inline int pfkey_register_replay(int fd)
{
	struct msg m;

	msg_init(&m, SADB_X_REPLAY_REGISTER, SADB_SATYPE_UNSPEC);
	return pfkey_request(fd, &m, NULL);
}

/* Next replay notification about @spi, skipping others; NULL on timeout. */
static inline const struct sadb_x_replay_state *
next_notify(int fd, struct msg *m, uint32_t spi, int timeout_ms)
{
	const struct sadb_sa *sa;

	while (pfkey_recv(fd, m, timeout_ms) == 1) {
		if (m->hdr.sadb_msg_type != SADB_X_REPLAY_NOTIFY)
			continue;
		sa = msg_ext(m, SADB_EXT_SA);
		if (sa && ntohl(sa->sadb_sa_spi) == spi)
			return msg_ext(m, SADB_X_EXT_REPLAY_STATE);
	}
	return NULL;
}

static inline void drain(int fd)
{
	struct msg m;

	while (pfkey_recv(fd, &m, 100) == 1)
		;
}

/* A shell command, printf-style; its exit status. */
static inline int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static const char *const gcm_key = "0x00112233445566778899aabbccddeeff01020304";

/*
 * Skip (KSFT_SKIP) rather than fail where the extension cannot be tested:
 * not root, no PF_KEY, or an af_key without it (stock af_key refuses the
 * registration as an unknown message type). Each test program calls it
 * from a constructor.
 */
#ifndef KSFT_SKIP
#define KSFT_SKIP 4
#endif

static inline void skip_because(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	exit(KSFT_SKIP);
}

static inline void skip_without_extension(void)
{
	struct msg m;
	int fd, err;

	if (geteuid())
		skip_because("pfkey_replay needs root");
	if (!*NS1 || !*NS2 || !*NS3)
		skip_because("no namespaces: run pfkey_replay.sh");
	fd = pfkey_open(NS3);
	if (fd < 0)
		skip_because("no PF_KEY socket in the third namespace");
	msg_init(&m, SADB_X_REPLAY_REGISTER, SADB_SATYPE_UNSPEC);
	err = pfkey_request(fd, &m, NULL);
	close(fd);
	if (err == EINVAL)
		skip_because("this af_key has no replay-state extension");
}

#endif /* PFKEY_REPLAY_LIB_H */
