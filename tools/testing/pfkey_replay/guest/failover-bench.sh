#!/bin/bash
# Inside the VM: safailover with 10,000 SAs, over the PF_KEY extension and
# over netlink, side by side: snapshot time, takeover time (every set-replay
# applied) and sync-channel bytes. Numbers only, never a gate.
# Usage: failover-bench.sh BUILD_DIR [SAS]
set -u
build=$1 count=${2:-10000}
. "$(dirname "$0")/lib.sh"
ip=/usr/sbin/ip
safailover=$build/failover/safailover
work=/tmp/failover-bench
key=0x00112233445566778899aabbccddeeff01020304

setup() {
	rm -rf $work
	mkdir -p $work
	for ns in gw1 gw2; do
		$ip netns add $ns
		$ip -n $ns link set lo up
	done
	$ip link add sync1 netns gw1 type veth peer name sync2 netns gw2
	$ip -n gw1 addr add 10.2.0.1/24 dev sync1
	$ip -n gw2 addr add 10.2.0.2/24 dev sync2
	$ip -n gw1 link set sync1 up
	$ip -n gw2 link set sync2 up
	make_pki $work ca gw1 gw2
}

config() {
	local name=$1 role=$2 me=$3 other=$4 backend=$5
	safailover_toml $work $name $role $me $other - <<CONF
[replay]
backend = "$backend"
packets = 1000
msecs = 1000
[control]
socket = "$work/$name.sock"
[metrics]
listen = "127.0.0.1:9477"
CONF
}

# $count AES-GCM SAs on gw1 in one iproute2 batch, and one policy each way.
add_sas() {
	local i
	for ((i = 0; i < count; i++)); do
		printf 'xfrm state add src 10.3.%d.%d dst 10.4.0.1 proto esp spi %d mode transport aead rfc4106(gcm(aes)) %s 128 replay-window 32\n' \
			$((i / 250)) $((i % 250 + 1)) $((0x10000 + i)) $key
	done >$work/batch
	$ip -n gw1 -batch $work/batch
	$ip -n gw1 xfrm policy add src 10.4.0.1 dst 10.3.0.0/16 dir out tmpl proto esp mode transport
}

ms_between() {	# log FILE, first EVENT, second EVENT
	awk -v a="event=$2" -v b="event=$3" '
		function t(s) { split(substr(s, 15, 12), p, ":"); return p[1] * 3600 + p[2] * 60 + p[3] }
		index($0, a) && !ta { ta = t($1) }
		index($0, b) && ta && !tb { tb = t($1) }
		END { printf "%d", (tb - ta) * 1000 }' "$1"
}
metric() { $ip netns exec "$1" /usr/bin/curl -s --max-time 10 http://127.0.0.1:9477/metrics | awk -v m="$2" '$1 == m { printf "%d", $2 }'; }

not_running() { ! pgrep -f "$1" >/dev/null; }
teardown() {
	pkill -f "$work/gw"
	wait_until 30 not_running "$work/gw"
	$ip netns del gw1
	$ip netns del gw2
}

run_one() {
	local backend=$1 start
	setup
	add_sas
	config gw1 active 10.2.0.1 10.2.0.2 $backend
	config gw2 standby 10.2.0.2 10.2.0.1 $backend
	start=$(date +%s%N)
	$ip netns exec gw1 $safailover run --config $work/gw1.toml 2>$work/gw1.log &
	if ! wait_until 300 grep -q 'event=active' $work/gw1.log; then
		echo "# $backend: gw1 not active after 300 s"
		teardown
		return 1
	fi
	ready=$(( ($(date +%s%N) - start) / 1000000 ))
	$ip netns exec gw2 $safailover run --config $work/gw2.toml 2>$work/gw2.log &
	if ! wait_until 300 grep -q 'event=synced' $work/gw2.log; then
		echo "# $backend: gw2 not synced after 300 s"
		teardown
		return 1
	fi
	snapshot=$(ms_between $work/gw2.log peer_hello synced)
	bytes=$(metric gw1 safailover_sync_bytes_sent_total)
	sleep 10
	idle=$(( $(metric gw1 safailover_sync_bytes_sent_total) - bytes ))
	timeout 300 $safailover --control $work/gw2.sock takeover >/dev/null
	takeover=$(grep 'event=takeover ' $work/gw2.log | sed -n 's/.*duration_ms=\([0-9]*\).*/\1/p')
	echo "$backend $(grep -c 'event=takeover_sa' $work/gw2.log) $ready $snapshot $bytes $idle $takeover" >>$work.results
	teardown
}

rm -f $work.results
run_one pfkey
run_one netlink
awk -v n=$count '
	{ k[$1] = $0; sas[$1] = $2; ready[$1] = $3; snap[$1] = $4; bytes[$1] = $5; idle[$1] = $6; take[$1] = $7 }
	END {
		printf "safailover, %d AES-GCM SAs, N=1000 T=1000 ms       pfkey   netlink  pfkey/netlink\n", n
		printf "  active ready (thresholds set), ms           %8d %9d %8.2f\n", ready["pfkey"], ready["netlink"], ready["pfkey"] / ready["netlink"]
		printf "  snapshot to a standby, ms                   %8d %9d %8.2f\n", snap["pfkey"], snap["netlink"], snap["pfkey"] / (snap["netlink"] ? snap["netlink"] : 1)
		printf "  snapshot bytes per SA                       %8.0f %9.0f\n", bytes["pfkey"] / n, bytes["netlink"] / n
		printf "  takeover (all set-replays), ms              %8d %9d %8.2f\n", take["pfkey"], take["netlink"], take["pfkey"] / (take["netlink"] ? take["netlink"] : 1)
		printf "  SAs set at takeover                         %8d %9d\n", sas["pfkey"], sas["netlink"]
		printf "  idle sync bytes per SA per second           %8.3f %9.3f\n", idle["pfkey"] / n / 10, idle["netlink"] / n / 10
	}' $work.results
# Not measured here: a busy SA costs one replay frame (101 bytes for a
# 32-packet window, plus TLS record overhead) per N packets, or per T when
# it moved less than N: at 10,000 packets/s and N = 1000, 10 frames/s.
echo "  busy SA: one 101-byte replay frame per N packets (or per T with a change)"
