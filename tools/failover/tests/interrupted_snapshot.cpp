// SPDX-License-Identifier: GPL-2.0
// Test helper: an active that dies halfway through a snapshot. Speaks to a
// standby as the node of CONFIG (its certificate, its name), says Hello as
// the active of EPOCH, begins a snapshot of this namespace's SAD and SPD
// with one SA more, sends only that SA (a copy of the first one under
// SPI), waits until the standby acknowledges all three frames, and closes.
// The failover test then checks what the standby kept.
//   interrupted_snapshot CONFIG STANDBY_ADDRESS:PORT EPOCH SPI
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <optional>
#include <poll.h>
#include <string>

#include "config.hpp"
#include "kernel_tables.hpp"
#include "sync_link.hpp"
#include "tls.hpp"

using namespace failover;
using Clock = std::chrono::steady_clock;

static int fail(const std::string &what, const Error &e)
{
	std::fprintf(stderr, "interrupted_snapshot: %s: %s\n", what.c_str(), e.message().c_str());
	return 1;
}

static std::optional<std::uint64_t> number(const char *text)
{
	char *end;
	errno = 0;
	const unsigned long long v = std::strtoull(text, &end, 0);
	if (errno || *end || !*text)
		return std::nullopt;
	return v;
}

// Moves the connection on until @done() says so or @deadline passes.
template <class Done>
static Result<std::monostate> run_until(Link &link, Clock::time_point deadline, const char *what,
					Done done)
{
	while (!done()) {
		const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
			deadline - Clock::now());
		if (left.count() <= 0)
			return Error{ETIMEDOUT, std::string(what) + " from " + link.conn.peer};
		pollfd p{link.conn.fd(), link.conn.poll_events(), 0};
		if (poll(&p, 1, static_cast<int>(left.count())) < 0) {
			if (errno == EINTR)
				continue;
			return Error{errno, "poll"};
		}
		if (auto r = link.conn.progress(p.revents); !r)
			return r;
	}
	return std::monostate{};
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		std::fprintf(stderr, "usage: interrupted_snapshot CONFIG STANDBY_ADDRESS:PORT EPOCH SPI\n");
		return 2;
	}
	auto cfg = load_config(argv[1]);
	if (!cfg)
		return fail("configuration", cfg.error());
	const auto to = parse_endpoint(argv[2]);
	const auto epoch = number(argv[3]), spi = number(argv[4]);
	if (!to || !epoch || !spi || *spi > UINT32_MAX) {
		std::fprintf(stderr, "interrupted_snapshot: bad address, epoch or SPI\n");
		return 2;
	}
	auto tables = KernelTables::open();
	if (!tables)
		return fail("XFRM netlink", tables.error());
	auto sas = tables->dump_sas();
	auto policies = tables->dump_policies();
	if (!sas || !policies)
		return fail("dump", !sas ? sas.error() : policies.error());
	if (sas->empty() || sas->front().size() < NLMSG_SPACE(sizeof(xfrm_usersa_info))) {
		std::fprintf(stderr, "interrupted_snapshot: no SA here to copy\n");
		return 1;
	}
	Bytes copy = sas->front();
	auto *info = static_cast<xfrm_usersa_info *>(NLMSG_DATA(reinterpret_cast<nlmsghdr *>(copy.data())));
	info->id.spi = htonl(static_cast<std::uint32_t>(*spi));

	auto ctx = TlsContext::create(*cfg, false);
	if (!ctx)
		return fail("TLS", ctx.error());
	auto conn = Connection::connect(*ctx, *to);
	if (!conn)
		return fail("connect", conn.error());
	Link link(std::move(*conn));
	const auto deadline = Clock::now() + std::chrono::seconds(20);
	if (auto r = run_until(link, deadline, "no TLS handshake",
			       [&] { return link.conn.established(); }); !r)
		return fail("handshake", r.error());
	link.send(Hello{Role::active, *epoch, cfg->node, cfg->sa_owner}, false);
	link.send(SnapshotBegin{static_cast<std::uint32_t>(sas->size() + 1),
				static_cast<std::uint32_t>(policies->size())}, false);
	link.send(SaRecord{std::move(copy)}, false);
	link.flush();
	// Gone only once the standby applied all three (it acks what it
	// applied): closing earlier could reset the connection before it
	// read them.
	std::optional<Error> refused;
	auto acked = run_until(link, deadline, "no ack of the snapshot's start", [&] {
		for (;;) {
			auto body = link.receive();
			if (!body) {
				refused = body.error();
				return true;
			}
			if (!*body)
				return false;
			if (const auto *ack = std::get_if<Ack>(&**body); ack && ack->seq >= 3)
				return true;
		}
	});
	if (!acked)
		return fail("standby", acked.error());
	if (refused)
		return fail("standby", *refused);
	link.conn.finish(std::chrono::milliseconds(2000));
	std::printf("interrupted_snapshot: Hello, SnapshotBegin and SA 0x%08llx sent to %s, then closed\n",
		    static_cast<unsigned long long>(*spi), argv[2]);
	return 0;
}
