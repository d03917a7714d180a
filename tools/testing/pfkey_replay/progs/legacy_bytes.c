// SPDX-License-Identifier: GPL-2.0
/*
 * Writes to stdout every byte a PF_KEY socket that never registers for the
 * replay extension receives for SADB_REGISTER, SADB_GET, SADB_DUMP and
 * SADB_X_SPDDUMP in the current namespace. Run once under Debian's af_key
 * and once under ours: the outputs must be identical.
 * Usage: legacy_bytes SPI SRC DST   (an IPv4 ESP SA that exists)
 */
#define _GNU_SOURCE
#include "../../selftests/net/pfkey_replay_lib.h"

static void emit(const struct msg *m)
{
	fwrite(m->words, 1, msg_len(m), stdout);
}

/* A request with a fixed pid, so that two runs can compare equal. */
static int ask(int fd, struct msg *req, uint8_t reply_type)
{
	struct msg reply;
	int n = 0;

	req->hdr.sadb_msg_pid = 4242;
	req->hdr.sadb_msg_seq = 1;
	if (send(fd, req->words, msg_len(req), 0) < 0)
		return -1;
	while (pfkey_recv(fd, &reply, 500) == 1) {
		if (reply.hdr.sadb_msg_type != reply_type)
			continue;
		emit(&reply);
		n++;
		if (reply_type != SADB_DUMP && reply_type != SADB_X_SPDDUMP)
			break;
		if (!reply.hdr.sadb_msg_seq)
			break;
	}
	return n;
}

int main(int argc, char **argv)
{
	struct msg m;
	int fd;

	if (argc != 4)
		return 2;
	fd = socket(PF_KEY, SOCK_RAW, PF_KEY_V2);
	if (fd < 0)
		return perror("PF_KEY"), 1;

	msg_init(&m, SADB_REGISTER, SADB_SATYPE_ESP);
	if (ask(fd, &m, SADB_REGISTER) != 1)
		return 1;
	msg_init(&m, SADB_GET, SADB_SATYPE_ESP);
	msg_add_sa_id(&m, strtoul(argv[1], NULL, 0), AF_INET, argv[2], argv[3]);
	if (ask(fd, &m, SADB_GET) != 1)
		return 1;
	msg_init(&m, SADB_DUMP, SADB_SATYPE_ESP);
	if (ask(fd, &m, SADB_DUMP) < 1)
		return 1;
	msg_init(&m, SADB_X_SPDDUMP, SADB_SATYPE_UNSPEC);
	if (ask(fd, &m, SADB_X_SPDDUMP) < 1)
		return 1;
	return 0;
}
