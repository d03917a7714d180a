#!/bin/bash
# Inside a one-vCPU VM run with the insn_count plugin (bench.sh), in the
# namespaces ns-pair.sh made: guest instructions per ESP packet of a
# flood from ns1 to ns2 with nobody subscribed, with an XFRM netlink AEVENTS
# member and a PF_KEY registered socket in both namespaces, at N=1000 and
# at N=1; at N=1 also per delivered event. Each condition twice: the
# spread shows how well the count repeats. Numbers, never gates.
set -u
ip=/usr/sbin/ip
dir=$(dirname "$0")
. "$dir/lib.sh"
counter=${INSN_COUNTER:-/run/results/insns}
packets=${BENCH_PACKETS:-10000}
tmp=$(mktemp -d)
. "$dir/bench-lib.sh"

[ -s "$counter" ] || { echo "# no instruction counter at $counter"; exit 1; }

# Usage: count PACKETS; prints "INSNS SENT".
count() { $bench flood-count ns1 10.0.0.2 "$1" "$counter" | awk '{ print $2, $4 }'; }
# What a flood-count costs without packets: two counter reads and the
# 200 ms it gives listeners to drain.
base=$(for _ in 1 2 3; do count 0; done | sort -n | awk 'NR == 2 { print $1 }')

# Usage: measure none|pfkey|netlink; prints "INSNS_PER_PACKET EVENTS BYTES LOST".
measure() {
	local kind=$1 insns sent events=0 bytes=0 lost=0 pids=() ns
	if [ "$kind" != none ]; then
		for ns in ns1 ns2; do
			bench_listen "$kind" $ns 600 "$tmp/listen-$ns"
			pids+=($!)
		done
	fi
	read -r insns sent <<<"$(count "$packets")"
	if [ ${#pids[@]} -gt 0 ]; then
		kill -TERM "${pids[@]}"
		wait "${pids[@]}" 2>/dev/null
		for ns in ns1 ns2; do
			set -- $(tail -n 1 "$tmp/listen-$ns")
			events=$((events + ${2:-0})) bytes=$((bytes + ${4:-0})) lost=$((lost + ${6:-0}))
		done
	fi
	awk -v i="$insns" -v b="$base" -v s="$sent" -v e="$events" -v by="$bytes" -v l="$lost" \
		'BEGIN { printf "%.0f %d %d %d\n", s ? (i - b) / s : 0, e, by, l }'
}

# Usage: row LABEL KIND PACKETS MSECS [BASELINE_LABEL]; both runs, then
# the figures, against the row BASELINE_LABEL (default: none).
declare -A per_packet
row() {
	local label=$1 kind=$2 baseline=${5:-none} a b e1 e2 by1 by2 l1 l2
	thresh "$3" "$4"
	read -r a e1 by1 l1 <<<"$(measure "$kind")"
	read -r b e2 by2 l2 <<<"$(measure "$kind")"
	per_packet[$label]=$(( (a + b) / 2 ))
	awk -v label="$label" -v a="$a" -v b="$b" -v none="${per_packet[$baseline]:-0}" \
		-v e="$((e1 + e2))" -v by="$((by1 + by2))" -v l="$((l1 + l2))" -v p="$packets" 'BEGIN {
		m = (a + b) / 2
		ratio = none ? none / m : 1
		extra = none && e ? 2 * p * (m - none) / e : 0
		printf "  %-36s %8d %8d %5.2f%% %6.3f", label, a, b, 100 * (a > b ? a - b : b - a) / m, ratio
		# Per event only where events are many: at N=1000 the few there
		# are drown in the noise.
		if (e)
			printf " %10s %6.0f %6.1f%% %6d", e >= p ? sprintf("%.0f", extra) : "-",
				by / e, 100 * e / (4 * p), l
		printf "\n"
	}'
}

echo "guest instructions per ESP packet, $packets-packet floods ns1 -> ns2 (AES-GCM, UDP 1 byte), one vCPU"
echo "  (QEMU insn_count plugin; ratio: as a rate, against nobody subscribed with the same window;"
echo "   per event: the instructions above that per event delivered; delivered: of 2 SAs x packets)"
printf '  %-36s %8s %8s %6s %6s %10s %6s %7s %6s\n' condition run1 run2 spread ratio \
	"insns/evt" bytes/e delivered ENOBUFS
row none none 1000 1000
row "netlink member, N=1000" netlink 1000 1000
row "PF_KEY registered, N=1000" pfkey 1000 1000
row "netlink member, N=1" netlink 1 0
row "PF_KEY registered, N=1" pfkey 1 0
# A 4096-packet window (ESN): what an event costs when the bitmap is 128
# times longer.
for ns in ns1 ns2; do
	$ip -n $ns xfrm state delete src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1001
	$ip -n $ns xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1001 \
		mode transport aead 'rfc4106(gcm(aes))' $key 128 replay-window 4096 flag esn
done
row "none, window 4096" none 1000 1000
row "netlink member, N=1, window 4096" netlink 1 0 "none, window 4096"
row "PF_KEY registered, N=1, window 4096" pfkey 1 0 "none, window 4096"
echo "  (each flood-count without packets: $base instructions, subtracted)"
rm -rf "$tmp"
