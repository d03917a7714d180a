// SPDX-License-Identifier: GPL-2.0
// sareplay: read, follow and set the anti-replay state of IPsec SAs through
// the PF_KEY replay extension, or XFRM netlink where the kernel lacks it.
// See sareplay.8.
#include <algorithm>
#include <arpa/inet.h>
#include <charconv>
#include <chrono>
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

#include "replay/backend.hpp"

namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// Exit codes, as sareplay.8 documents them.
constexpr int kExitFailed = 1;	// the kernel refused, or no such SA
constexpr int kExitUsage = 2;	// bad arguments: nothing was sent
constexpr int kExitTimeout = 3;	// monitor --timeout expired

volatile std::sig_atomic_t stop_requested = 0;

struct Options {
	bool json = false;
	std::string backend = "auto";
	std::string proto = "esp";
	std::uint32_t spi = 0;
	std::string src, dst;
	std::string mark;	// VALUE[/MASK], empty: none
	std::optional<std::uint64_t> oseq, seq;
	std::vector<std::string> bitmap;
	std::uint32_t packets = 0, msecs = 0;
	std::optional<unsigned> count;
	std::optional<double> timeout_seconds;
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

std::string spi_text(std::uint32_t spi)
{
	char buf[16];

	std::snprintf(buf, sizeof(buf), "0x%08x", spi);
	return buf;
}

const char *proto_name(std::uint8_t proto)
{
	return proto == IPPROTO_AH ? "ah" : "esp";
}

json to_json(const replay::SaReplay &sa, replay::Kind backend)
{
	const auto &r = sa.state;
	json bitmap = json::array();
	json j;

	j["spi"] = sa.id.spi;
	j["src"] = pfkey::to_string(sa.id.src);
	j["dst"] = pfkey::to_string(sa.id.dst);
	j["proto"] = proto_name(sa.id.proto);
	j["reqid"] = sa.reqid;
	if (sa.id.mark.any())
		j["mark"] = {{"value", sa.id.mark.v}, {"mask", sa.id.mark.m}};
	if (sa.thresh)
		j["thresh"] = {{"packets", sa.thresh->packets},
			       {"msecs", sa.thresh->msecs}};
	for (auto w : r.bitmap)
		bitmap.push_back(hex_word(w));
	j["replay"] = {{"oseq", r.oseq},     {"seq", r.seq},
		       {"window", r.window}, {"esn", r.esn},
		       {"cause", cause_name(r.cause)},
		       {"bitmap", bitmap}};
	j["backend"] = replay::name(backend);
	return j;
}

// iproute2's layout: the SA's identity, then indented details.
std::string to_text(const replay::SaReplay &sa, replay::Kind backend)
{
	const auto &r = sa.state;
	std::ostringstream out;

	out << "src " << pfkey::to_string(sa.id.src) << " dst "
	    << pfkey::to_string(sa.id.dst) << "\n\tproto " << proto_name(sa.id.proto)
	    << " spi " << spi_text(sa.id.spi) << " reqid " << sa.reqid << "\n";
	if (sa.id.mark.any())
		out << "\tmark 0x" << std::hex << sa.id.mark.v << "/0x" << sa.id.mark.m
		    << std::dec << "\n";
	if (sa.thresh)
		out << "\treplay-thresh packets " << sa.thresh->packets
		    << " msecs " << sa.thresh->msecs << "\n";
	out << "\tanti-replay oseq " << r.oseq << " seq " << r.seq << " window "
	    << r.window << (r.esn ? " esn" : "");
	if (r.cause)
		out << " cause " << cause_name(r.cause);
	out << "\n\tbitmap";
	for (auto w : r.bitmap)
		out << " " << hex_word(w);
	out << "\n\tbackend " << replay::name(backend) << "\n";
	return out.str();
}

// Buffered: monitor flushes when the kernel goes quiet, and at exit.
void print(const Options &o, const replay::SaReplay &sa, replay::Kind backend)
{
	if (o.json)
		std::cout << to_json(sa, backend).dump() << '\n';
	else
		std::cout << to_text(sa, backend);
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

// iproute2's "mark VALUE [mask MASK]" as VALUE[/MASK], each a 32-bit
// number read as ip reads it (strtoul's base 0: 0x hex, 0 octal, else
// decimal); the mask defaults to all ones, as ip's does.
std::optional<replay::Mark> parse_mark(const std::string &text)
{
	const auto number = [](const std::string &part) -> std::optional<std::uint32_t> {
		std::uint32_t n = 0;
		const bool hex = part.starts_with("0x") || part.starts_with("0X");
		const bool octal = !hex && part.size() > 1 && part[0] == '0';
		const int base = hex ? 16 : octal ? 8 : 10;
		const char *first = part.data() + (hex ? 2 : octal ? 1 : 0);
		const char *last = part.data() + part.size();
		const auto r = std::from_chars(first, last, n, base);
		if (first == last || r.ec != std::errc{} || r.ptr != last)
			return std::nullopt;
		return n;
	};
	const auto slash = text.find('/');
	const auto v = number(text.substr(0, slash));
	const auto m = slash == std::string::npos ? std::optional<std::uint32_t>{0xffffffff}
						  : number(text.substr(slash + 1));
	// The kernel matches (mark & MASK) == VALUE: bits of VALUE outside
	// MASK would match no SA.
	if (!v || !m || (*v & ~*m))
		return std::nullopt;
	return replay::Mark{*v, *m};
}

replay::SaId sa_id(const Options &o)
{
	return replay::SaId{o.spi,
			    static_cast<std::uint8_t>(o.proto == "ah" ? IPPROTO_AH : IPPROTO_ESP),
			    *pfkey::parse_address(o.src), *pfkey::parse_address(o.dst),
			    o.mark.empty() ? replay::Mark{} : *parse_mark(o.mark)};
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

// The backend asked for; "auto" probes for the PF_KEY extension and falls
// back to XFRM netlink.
pfkey::Result<std::unique_ptr<replay::Backend>> open_backend(const Options &o)
{
	const auto choice = o.backend == "pfkey"     ? replay::Choice::pfkey
			    : o.backend == "netlink" ? replay::Choice::netlink
						     : replay::Choice::automatic;
	auto backend = replay::open(choice);
	if (!backend && choice == replay::Choice::pfkey &&
	    backend.error().code == EINVAL)
		return pfkey::Error{EINVAL, "this kernel's PF_KEY has no replay extension "
					    "(load the pfkey-replay af_key module, or use "
					    "--backend netlink)"};
	return backend;
}

int cmd_probe(const Options &o)
{
	auto b = open_backend(o);
	if (!b)
		return fail(b.error());
	const auto kind = (*b)->kind();
	if (o.json)
		std::cout << json{{"backend", replay::name(kind)}}.dump() << '\n';
	else
		std::cout << replay::name(kind)
			  << (kind == replay::Kind::pfkey
				      ? ": PF_KEY replay extension\n"
				      : ": XFRM netlink (no PF_KEY replay extension)\n");
	return 0;
}

int cmd_get(const Options &o, replay::Backend &b)
{
	auto sa = b.get(sa_id(o));
	if (!sa)
		return fail(sa.error());
	print(o, *sa, b.kind());
	return 0;
}

int cmd_dump(const Options &o, replay::Backend &b)
{
	auto sas = b.dump(o.proto == "ah" ? IPPROTO_AH : IPPROTO_ESP);
	if (!sas)
		return fail(sas.error());
	for (const auto &sa : *sas)
		print(o, sa, b.kind());
	return 0;
}

int cmd_thresh(const Options &o, replay::Backend &b)
{
	auto sa = b.set_thresh(sa_id(o), replay::ReplayThresh{o.packets, o.msecs});
	if (!sa)
		return fail(sa.error());
	print(o, *sa, b.kind());
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

// Checks what the kernel (or the netlink backend) would refuse, to say why
// in words before anything is sent.
int cmd_set(const Options &o, replay::Backend &b)
{
	auto now = b.get(sa_id(o));
	if (!now)
		return fail(now.error());
	replay::ReplayState next = now->state;
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
		} else {
			// "Accepted" up to the new top, which is marked; what
			// the SA accepted before is merged in.
			std::fill(next.bitmap.begin(), next.bitmap.end(), 0);
			if (next.window)
				next.bitmap[0] = 1;
		}
	}
	if (!next.esn && (next.oseq >> 32 || next.seq >> 32))
		return usage("this SA has 32-bit sequence numbers (no ESN)");

	auto sa = b.set_state(sa_id(o), next);
	if (!sa)
		return fail(sa.error());
	print(o, *sa, b.kind());
	return 0;
}

std::string notifications_text(unsigned seen, std::optional<unsigned> count)
{
	std::string text = std::to_string(seen);

	if (count)
		text += " of " + std::to_string(*count);
	return text + (seen == 1 && !count ? " notification" : " notifications");
}

int cmd_monitor(const Options &o, replay::Backend &b)
{
	using clock = std::chrono::steady_clock;
	// Wakes up at least this often to flush output and see a signal.
	constexpr auto kSlice = 200ms;

	if (auto sub = b.subscribe(); !sub)
		return fail(sub.error());
	std::signal(SIGINT, [](int) { stop_requested = 1; });
	std::signal(SIGTERM, [](int) { stop_requested = 1; });
	// From here on no notification is missed: a script waits for this
	// line before it makes the traffic it wants to see.
	std::cerr << "sareplay: subscribed (" << replay::name(b.kind()) << ")"
		  << std::endl;

	std::optional<clock::time_point> deadline;
	if (o.timeout_seconds)
		deadline = clock::now() +
			   std::chrono::duration_cast<clock::duration>(
				   std::chrono::duration<double>(*o.timeout_seconds));
	unsigned seen = 0;
	while (!stop_requested && (!o.count || seen < *o.count)) {
		auto wait = std::chrono::milliseconds(kSlice);
		if (deadline) {
			const auto left = std::chrono::ceil<std::chrono::milliseconds>(
				*deadline - clock::now());
			if (left <= 0ms) {
				std::cout.flush();
				std::cerr << "sareplay: monitor: timed out after "
					  << *o.timeout_seconds << " s with "
					  << notifications_text(seen, o.count) << "\n";
				return kExitTimeout;
			}
			wait = std::min(wait, left);
		}
		auto event = b.next_event(wait);
		if (!event) {
			if (event.error().code == ETIMEDOUT ||
			    event.error().code == EINTR) {
				std::cout.flush();
				continue;
			}
			return fail(event.error());
		}
		if (std::holds_alternative<replay::Overrun>(*event)) {
			// Never silent: the state shown may be stale now. The
			// kernel reports each episode once, until we catch up.
			if (o.json)
				std::cout << json{{"lost", true}}.dump() << '\n';
			else
				std::cout << "lost notifications (ENOBUFS)\n";
			continue;
		}
		print(o, std::get<replay::SaReplay>(*event), b.kind());
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
	cmd->add_option("--mark", o.mark,
			"the SA's XFRM mark, VALUE[/MASK] (netlink backend only)")
		->type_name("VALUE[/MASK]")
		->check(CLI::Validator(
			[](std::string &text) -> std::string {
				if (parse_mark(text))
					return {};
				return "not a mark (VALUE[/MASK], 32-bit numbers, no bit of "
				       "VALUE outside MASK): " + text;
			},
			""));
}

} // namespace

int main(int argc, char **argv)
{
	CLI::App app{"Read, follow and set the anti-replay state of IPsec SAs "
		     "(PF_KEY replay extension or XFRM netlink)"};
	Options o;

	app.add_flag("--json", o.json, "one JSON object per SA or event");
	app.add_option("--proto", o.proto, "esp or ah")
		->check(CLI::IsMember({"esp", "ah"}));
	app.add_option("--backend", o.backend,
		       "auto (PF_KEY extension if the kernel has it), pfkey or netlink")
		->check(CLI::IsMember({"auto", "pfkey", "netlink"}));
	app.require_subcommand(1);

	auto *probe = app.add_subcommand("probe", "say which backend this kernel offers");
	auto *monitor = app.add_subcommand("monitor",
					   "print replay notifications as they arrive");
	monitor->add_option("--count", o.count, "stop after this many");
	monitor->add_option("--timeout", o.timeout_seconds,
			    "give up after this many seconds (exit status 3)")
		->type_name("SECONDS")
		->check(CLI::Validator(
			[](std::string &text) -> std::string {
				try {
					if (std::stod(text) > 0)
						return {};
				} catch (const std::exception &) {
				}
				return "not a number of seconds above 0: " + text;
			},
			""));
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
	if (get->parsed() || thresh->parsed() || set->parsed()) {
		if (auto why = check_addresses(o))
			return usage(*why);
	}
	if (set->parsed() && !o.oseq && !o.seq)
		return usage("set needs --oseq and/or --seq");
	if (set->parsed() && !o.bitmap.empty() && !o.seq)
		return usage("--bitmap goes with --seq");
	if (probe->parsed())
		return cmd_probe(o);

	auto backend = open_backend(o);
	if (!backend)
		return fail(backend.error());
	replay::Backend &b = **backend;
	if (monitor->parsed())
		return cmd_monitor(o, b);
	if (get->parsed())
		return cmd_get(o, b);
	if (thresh->parsed())
		return cmd_thresh(o, b);
	if (set->parsed())
		return cmd_set(o, b);
	return cmd_dump(o, b);
}
