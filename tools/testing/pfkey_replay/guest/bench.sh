#!/bin/bash
# Inside the VM, in the namespaces ns-pair.sh made: ESP flood rates with
# nobody subscribed, a PF_KEY subscriber and a netlink aevent listener, then
# notification delivery at N=1 over PF_KEY and netlink. Numbers, never gates.
set -u
ip=/usr/sbin/ip
dir=$(dirname "$0")
. "$dir/lib.sh"
secs=${BENCH_SECONDS:-2}
rounds=${BENCH_ROUNDS:-5}
tmp=$(mktemp -d)
. "$dir/bench-lib.sh"

flood() { $bench flood ns1 10.0.0.2 "$secs" | awk '{ print $2 }'; }
# "median spread%": spread is (max - min) / median, the noise of the phase.
stats() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
	m = v[int((NR + 1) / 2)]; printf "%d %.1f\n", m, 100 * (v[NR] - v[1]) / m }'; }

thresh 1000 1000
none=() pfkey=() netlink=()
for _ in $(seq "$rounds"); do
	none+=("$(flood)")
	bench_listen pfkey ns1 $((secs + 1)) "$tmp/listen1"
	bench_listen pfkey ns2 $((secs + 1)) "$tmp/listen2"
	pfkey+=("$(flood)")
	wait
	before1=$(aevent_listeners ns1) before2=$(aevent_listeners ns2)
	$ip -n ns1 xfrm monitor aevent >/dev/null &
	m1=$!
	$ip -n ns2 xfrm monitor aevent >/dev/null &
	m2=$!
	wait_until 30 listeners_above ns1 "$before1" &&
		wait_until 30 listeners_above ns2 "$before2" ||
		echo "# ip xfrm monitor aevent: not listening after 30 s"
	netlink+=("$(flood)")
	kill $m1 $m2
	wait 2>/dev/null
done
read -r n ns <<<"$(stats "${none[@]}")"
read -r p ps <<<"$(stats "${pfkey[@]}")"
read -r l ls <<<"$(stats "${netlink[@]}")"
echo "ESP flood ns1 -> ns2 (AES-GCM, UDP 1 byte), $rounds x $secs s interleaved, median"
awk -v n="$n" -v p="$p" -v l="$l" -v ns="$ns" -v ps="$ps" -v ls="$ls" 'BEGIN {
	f = "  %-36s %7d pps  ratio %.3f  spread %4.1f%%\n"
	printf f, "nobody subscribed", n, 1, ns
	printf f, "PF_KEY subscriber, N=1000 T=1000ms", p, p / n, ps
	printf f, "ip xfrm monitor aevent, same N/T", l, l / n, ls
}'

thresh 1 0
delivery() {
	local kind=$1

	bench_listen "$kind" ns1 $((secs + 1)) "$tmp/listen"
	rate=$(flood)
	wait
	set -- $(tail -n 1 "$tmp/listen")
	events=$2 bytes=$4 lost=$6
	awk -v k="$kind" -v e="$events" -v b="$bytes" -v l="$lost" -v s="$secs" -v r="$rate" 'BEGIN {
		printf "  %-8s %9.0f events/s %6.0f bytes/event  %5.1f%% of packets  ENOBUFS %d\n",
			k, e / s, e ? b / e : 0, 100 * e / (r * s), l
	}'
	echo "$events" >"$tmp/events-$kind"
}
echo "notification delivery at N=1 during a $secs s flood (outbound SA, ns1)"
delivery pfkey
delivery netlink
awk -v p="$(cat "$tmp/events-pfkey")" -v n="$(cat "$tmp/events-netlink")" \
	'BEGIN { printf "  PF_KEY / netlink events: %.3f\n", n ? p / n : 0 }'
# Monitors at N=1: what each printed against what the SA sent. sareplay
# must print every notification or say it lost some, on either backend.
# Usage: monitor_row LABEL EVENT_PATTERN LOST_PATTERN COMMAND...
monitor_ready() {
	grep -q '^sareplay: subscribed' "$tmp/monitor.err" || listeners_above ns1 "$1"
}
monitor_row() {
	local label=$1 event=$2 lost=$3 mon rate printed losses before
	shift 3
	before=$(aevent_listeners ns1)
	"$@" >"$tmp/monitor" 2>"$tmp/monitor.err" &
	mon=$!
	wait_until 30 monitor_ready "$before" || echo "# $label: not listening after 30 s"
	rate=$(flood)
	sleep 0.5
	# TERM: background jobs of a script ignore SIGINT, and ip does not
	# take it back (sareplay flushes on either).
	kill -TERM $mon
	wait $mon 2>/dev/null
	printed=$(grep -ci "$event" "$tmp/monitor")
	losses=$(grep -c "$lost" "$tmp/monitor")
	awk -v label="$label" -v p="$printed" -v l="$losses" -v r="$rate" \
		-v s="$secs" 'BEGIN {
		printf "  %-30s %8d of %8d  %5.1f%%  losses reported %d\n",
			label, p, r * s, 100 * p / (r * s), l }'
}
if [ -n "${SAREPLAY:-}" ]; then
	echo "monitors at N=1 during a $secs s flood: events printed / packets sent"
	for backend in pfkey netlink; do
		monitor_row "sareplay monitor ($backend)" '"oseq"' '"lost"' \
			$ip netns exec ns1 "$SAREPLAY" --backend $backend --json monitor
	done
	# iproute2 says nothing when it loses events: "reported" stays 0.
	monitor_row "ip xfrm monitor aevent" 'async event' '^$nothing' \
		$ip -n ns1 xfrm monitor aevent
fi
rm -rf "$tmp"
