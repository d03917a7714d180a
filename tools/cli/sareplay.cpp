// SPDX-License-Identifier: GPL-2.0
// sareplay: read, follow and set the anti-replay state of IPsec SAs through
// the PF_KEY replay extension. See sareplay.8.
#include <arpa/inet.h>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <linux/pfkey_replay.h>
#include <linux/pfkeyv2.h>
#include <netinet/in.h>
#include <sstream>
#include <string>
#include <sys/socket.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "pfkey/socket.hpp"

namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// Exit codes, as sareplay.8 documents them.
constexpr int kExitFailed = 1;	// the kernel refused, or no such SA
constexpr int kExitUsage = 2;	// bad arguments: nothing was sent

volatile std::sig_atomic_t stop_requested = 0;

struct Options {
	bool json = false;
	std::string proto = "esp";
	std::uint32_t spi = 0;
	std::string src, dst;
	std::optional<std::uint64_t> oseq, seq;
	std::vector<std::string> bitmap;
	std::uint32_t packets = 0, msecs = 0;
	std::optional<unsigned> count;
};

const char *cause_name(std::uint8_t cause)
{
	switch (cause) {
	case SADB_X_REPLAY_CAUSE_COUNT:
		return "count";
	case SADB_X_REPLAY_CAUSE_TIMER:
		return "timer";
	case SADB_X_REPLAY_CAUSE_UPDATE:
		return "update";
	}
	return "none";
}

std::string hex_word(std::uint32_t w)
{
	char buf[16];

	std::snprintf(buf, sizeof(buf), "%08x", w);
	return buf;
}

json to_json(const pfkey::Message &m)
{
	json j;

	if (m.sa)
		j["spi"] = m.sa->spi;
	if (m.src)
		j["src"] = pfkey::to_string(*m.src);
	if (m.dst)
		j["dst"] = pfkey::to_string(*m.dst);
	j["proto"] = m.satype == SADB_SATYPE_AH ? "ah" : "esp";
	if (m.replay_thresh)
		j["thresh"] = {{"packets", m.replay_thresh->packets},
			       {"msecs", m.replay_thresh->msecs}};
	if (m.replay_state) {
		const auto &r = *m.replay_state;
		json bitmap = json::array();
		for (auto w : r.bitmap)
			bitmap.push_back(hex_word(w));
		j["replay"] = {{"oseq", r.oseq},     {"seq", r.seq},
			       {"window", r.window}, {"esn", r.esn},
			       {"cause", cause_name(r.cause)},
			       {"bitmap", bitmap}};
	}
	return j;
}

// iproute2's layout: the SA's identity, then indented details.
std::string to_text(const pfkey::Message &m)
{
	std::ostringstream out;
	char spi[16];

	std::snprintf(spi, sizeof(spi), "0x%08x", m.sa ? m.sa->spi : 0);
	out << "src " << (m.src ? pfkey::to_string(*m.src) : "?") << " dst "
	    << (m.dst ? pfkey::to_string(*m.dst) : "?") << "\n\tproto "
	    << (m.satype == SADB_SATYPE_AH ? "ah" : "esp") << " spi " << spi
	    << "\n";
	if (m.replay_thresh)
		out << "\treplay-thresh packets " << m.replay_thresh->packets
		    << " msecs " << m.replay_thresh->msecs << "\n";
	if (m.replay_state) {
		const auto &r = *m.replay_state;
		out << "\tanti-replay oseq " << r.oseq << " seq " << r.seq
		    << " window " << r.window << (r.esn ? " esn" : "");
		if (r.cause)
			out << " cause " << cause_name(r.cause);
		out << "\n\tbitmap";
		for (auto w : r.bitmap)
			out << " " << hex_word(w);
		out << "\n";
	}
	return out.str();
}

// Buffered: monitor flushes when the kernel goes quiet, and at exit.
void print(const Options &o, const pfkey::Message &m)
{
	if (o.json)
		std::cout << to_json(m).dump() << '\n';
	else
		std::cout << to_text(m);
}

int fail(const pfkey::Error &e)
{
	std::cerr << "sareplay: " << e.message() << "\n";
	return kExitFailed;
}

int usage(const std::string &why)
{
	std::cerr << "sareplay: " << why << "\n";
	return kExitUsage;
}

std::uint8_t satype(const Options &o)
{
	return o.proto == "ah" ? SADB_SATYPE_AH : SADB_SATYPE_ESP;
}

// A request naming one SA; the addresses were checked already.
pfkey::Message sa_request(const Options &o, std::uint8_t type)
{
	pfkey::Message m;

	m.type = type;
	m.satype = satype(o);
	m.sa = pfkey::Sa{o.spi, 0, 0, 0, 0, 0};
	m.src = pfkey::parse_address(o.src);
	m.dst = pfkey::parse_address(o.dst);
	return m;
}

std::optional<std::string> check_addresses(const Options &o)
{
	const auto src = pfkey::parse_address(o.src), dst = pfkey::parse_address(o.dst);

	if (!src)
		return "not an IPv4 or IPv6 address: " + o.src;
	if (!dst)
		return "not an IPv4 or IPv6 address: " + o.dst;
	if (src->family != dst->family)
		return "source and destination are not of one family";
	return std::nullopt;
}

// Opens a socket and registers, saying so when the kernel lacks the
// extension (neither the patched kernel nor the module).
pfkey::Result<pfkey::Socket> open_registered()
{
	auto sock = pfkey::Socket::open();
	if (!sock)
		return sock.error();
	auto reg = sock->register_replay();
	if (!reg) {
		auto e = reg.error();
		if (e.code == EINVAL)
			e.context = "this kernel's PF_KEY has no replay extension "
				    "(load the pfkey-replay af_key module)";
		return e;
	}
	return std::move(*sock);
}

int cmd_get(const Options &o)
{
	auto sock = open_registered();
	if (!sock)
		return fail(sock.error());
	auto reply = sock->request(sa_request(o, SADB_GET));
	if (!reply)
		return fail(reply.error());
	print(o, *reply);
	return 0;
}

int cmd_dump(const Options &o)
{
	auto sock = open_registered();
	if (!sock)
		return fail(sock.error());
	auto sas = sock->dump(satype(o));
	if (!sas)
		return fail(sas.error());
	for (const auto &m : *sas)
		print(o, m);
	return 0;
}

int cmd_thresh(const Options &o)
{
	auto sock = open_registered();
	if (!sock)
		return fail(sock.error());
	auto req = sa_request(o, SADB_X_SET_REPLAY);
	req.replay_thresh = pfkey::ReplayThresh{o.packets, o.msecs};
	auto reply = sock->request(req);
	if (!reply)
		return fail(reply.error());
	print(o, *reply);
	return 0;
}

std::optional<std::vector<std::uint32_t>> parse_bitmap(const Options &o,
						       std::uint32_t window)
{
	std::vector<std::uint32_t> words((window + 31) / 32, 0);

	if (o.bitmap.size() != words.size())
		return std::nullopt;
	for (std::size_t i = 0; i < words.size(); i++) {
		std::size_t used = 0;
		try {
			words[i] = std::stoul(o.bitmap[i], &used, 16);
		} catch (const std::exception &) {
			return std::nullopt;
		}
		if (used != o.bitmap[i].size())
			return std::nullopt;
	}
	return words;
}

int cmd_set(const Options &o)
{
	if (!o.oseq && !o.seq)
		return usage("set needs --oseq and/or --seq");
	if (!o.bitmap.empty() && !o.seq)
		return usage("--bitmap goes with --seq");

	auto sock = open_registered();
	if (!sock)
		return fail(sock.error());
	auto now = sock->request(sa_request(o, SADB_GET));
	if (!now)
		return fail(now.error());
	if (!now->replay_state)
		return fail({EPROTO, "SADB_GET reply without replay state"});
	pfkey::ReplayState next = *now->replay_state;
	next.cause = 0;

	if (o.oseq) {
		if (*o.oseq < next.oseq)
			return usage("refusing to move the outbound sequence number "
				     "back from " + std::to_string(next.oseq) +
				     " to " + std::to_string(*o.oseq) +
				     ": the peer would see replays, and AES-GCM "
				     "would reuse nonces");
		next.oseq = *o.oseq;
	}
	if (o.seq) {
		if (*o.seq < next.seq)
			return usage("refusing to move the inbound sequence number "
				     "back from " + std::to_string(next.seq) +
				     ": replays would be accepted again");
		next.seq = *o.seq;
		if (!o.bitmap.empty()) {
			auto words = parse_bitmap(o, next.window);
			if (!words)
				return usage("--bitmap takes " +
					     std::to_string((next.window + 31) / 32) +
					     " hexadecimal 32-bit words for window " +
					     std::to_string(next.window));
			next.bitmap = *words;
		}
	}
	if (!next.esn && (next.oseq >> 32 || next.seq >> 32))
		return usage("this SA has 32-bit sequence numbers (no ESN)");

	auto req = sa_request(o, SADB_X_SET_REPLAY);
	req.replay_state = next;
	auto reply = sock->request(req);
	if (!reply)
		return fail(reply.error());
	print(o, *reply);
	return 0;
}

int cmd_monitor(const Options &o)
{
	auto sock = open_registered();
	if (!sock)
		return fail(sock.error());
	std::signal(SIGINT, [](int) { stop_requested = 1; });
	std::signal(SIGTERM, [](int) { stop_requested = 1; });
	// Room for bursts; SO_RCVBUFFORCE passes rmem_max with CAP_NET_ADMIN.
	const int rcvbuf = 8 << 20;
	if (setsockopt(sock->fd(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		       sizeof(rcvbuf)))
		setsockopt(sock->fd(), SOL_SOCKET, SO_RCVBUF, &rcvbuf,
			   sizeof(rcvbuf));

	unsigned seen = 0;
	while (!stop_requested && (!o.count || seen < *o.count)) {
		auto event = sock->next_event(200ms);
		if (!event) {
			if (event.error().code == ETIMEDOUT ||
			    event.error().code == EINTR) {
				std::cout.flush();
				continue;
			}
			return fail(event.error());
		}
		if (std::holds_alternative<pfkey::Overrun>(*event)) {
			// Never silent: the state shown may be stale now. The
			// kernel reports each episode once, until we catch up.
			if (o.json)
				std::cout << json{{"lost", true}}.dump() << '\n';
			else
				std::cout << "lost notifications (ENOBUFS)\n";
			continue;
		}
		const auto &m = std::get<pfkey::Message>(*event);
		if (m.type != SADB_X_REPLAY_NOTIFY)
			continue;
		print(o, m);
		seen++;
	}
	std::cout.flush();
	return 0;
}

void add_sa_options(CLI::App *cmd, Options &o)
{
	cmd->add_option("--spi", o.spi, "SPI (decimal or 0x hex)")->required();
	cmd->add_option("--src", o.src, "source address of the SA")->required();
	cmd->add_option("--dst", o.dst, "destination address of the SA")
		->required();
}

} // namespace

int main(int argc, char **argv)
{
	CLI::App app{"Read, follow and set the anti-replay state of IPsec SAs "
		     "(PF_KEY replay extension)"};
	Options o;

	app.add_flag("--json", o.json, "one JSON object per SA or event");
	app.add_option("--proto", o.proto, "esp or ah")
		->check(CLI::IsMember({"esp", "ah"}));
	app.require_subcommand(1);

	auto *monitor = app.add_subcommand("monitor",
					   "print replay notifications as they arrive");
	monitor->add_option("--count", o.count, "stop after this many");
	auto *get = app.add_subcommand("get", "show one SA's thresholds and replay state");
	add_sa_options(get, o);
	app.add_subcommand("dump", "show every SA's thresholds and replay state");
	auto *thresh = app.add_subcommand("thresh", "set N and T of an SA");
	add_sa_options(thresh, o);
	thresh->add_option("--packets", o.packets, "N: notify every N packets (0: off)")
		->required();
	thresh->add_option("--msecs", o.msecs, "T: notify after T ms with a change (0: off)")
		->required();
	auto *set = app.add_subcommand("set", "set an SA's replay state (forward only)");
	add_sa_options(set, o);
	set->add_option("--oseq", o.oseq, "next outbound sequence number - 1");
	set->add_option("--seq", o.seq, "highest inbound sequence number accepted");
	set->add_option("--bitmap", o.bitmap,
			"inbound window, 32-bit hex words, bit i = seq - i");

	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &e) {
		const int rc = app.exit(e);
		return rc ? kExitUsage : 0;
	}
	if (!get->parsed() && !thresh->parsed() && !set->parsed()) {
		// monitor and dump name no SA
	} else if (auto why = check_addresses(o)) {
		return usage(*why);
	}

	if (monitor->parsed())
		return cmd_monitor(o);
	if (get->parsed())
		return cmd_get(o);
	if (thresh->parsed())
		return cmd_thresh(o);
	if (set->parsed())
		return cmd_set(o);
	return cmd_dump(o);
}
