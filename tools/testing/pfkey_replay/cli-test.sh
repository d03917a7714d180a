#!/bin/bash
# Inside the VM, in namespace ns1 of pfkey_replay.sh: sareplay against a
# real SA, every value cross-checked with iproute2. One TAP line per check.
# Usage: cli-test.sh SAREPLAY
set -u
sareplay=$1
ip=/usr/sbin/ip
sa="--spi 0x1001 --src 10.0.0.1 --dst 10.0.0.2"

check() {
	local name=$1
	shift
	if "$@" >/dev/null 2>&1; then echo "ok cli.$name"; else echo "not ok cli.$name"; fi
}
ip_oseq() {
	$ip xfrm state get dst 10.0.0.2 proto esp spi 0x1001 |
		sed -n 's/.*anti-replay context: .*oseq \(0x[0-9a-f]*\).*/\1/p'
}
send_udp() { for _ in $(seq "$1"); do echo x >/dev/udp/10.0.0.2/9000; done; }
json_get() { "$sareplay" --json get $sa | jq -r "$1"; }

$ip xfrm state flush
$ip xfrm policy flush
$ip xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1001 \
	mode transport aead 'rfc4106(gcm(aes))' \
	0x00112233445566778899aabbccddeeff01020304 128 replay-window 32
$ip xfrm policy add src 10.0.0.1 dst 10.0.0.2 proto udp dir out \
	tmpl proto esp mode transport

send_udp 3
check get_matches_iproute2 test "$(json_get .replay.oseq)" = $((16#$(ip_oseq | cut -c3-)))
check get_text "$sareplay" get $sa
check thresh "$sareplay" thresh $sa --packets 5 --msecs 0
check thresh_read_back test "$(json_get .thresh.packets)" = 5

"$sareplay" --json monitor --count 2 >/tmp/monitor.json &
monitor=$!
sleep 0.5
send_udp 10
wait $monitor
check monitor_count_events test "$(jq -r .replay.oseq /tmp/monitor.json | tr '\n' ' ')" = "5 10 "

check set_oseq "$sareplay" set $sa --oseq 1000
check set_oseq_iproute2 test "$(ip_oseq)" = 0x3e8
"$sareplay" set $sa --oseq 10 2>/tmp/err
check rewind_refused_exit_2 test $? = 2
check rewind_says_why grep -q refusing /tmp/err
check rewind_changed_nothing test "$(ip_oseq)" = 0x3e8
"$sareplay" set $sa --seq 5 --bitmap 1 2 2>/dev/null
check wrong_bitmap_exit_2 test $? = 2
"$sareplay" get --spi 0xdead --src 10.0.0.1 --dst 10.0.0.2 2>/tmp/err
check unknown_sa_exit_1 test $? = 1
check unknown_sa_errno_text grep -q "No such process" /tmp/err
"$sareplay" get --spi x --src 10.0.0.1 --dst 10.0.0.2 2>/dev/null
check bad_spi_exit_2 test $? = 2
check dump_lists_the_sa test "$("$sareplay" --json dump | jq -s length)" = 1

$ip xfrm state flush
$ip xfrm policy flush
