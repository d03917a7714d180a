#!/bin/bash
# Inside the VM, in namespace ns1 of ns-pair.sh: sareplay against real
# SAs, every value cross-checked with iproute2. One TAP line per check.
# Usage: cli-test.sh SAREPLAY BACKEND   (BACKEND: pfkey, netlink or auto)
# PFKEY_PROBE_EXPECTS names the backend "auto" must pick on this kernel.
set -u
bin=$1 backend=$2
. "$(dirname "$0")/lib.sh"
ip=/usr/sbin/ip
sa="--spi 0x1001 --src 10.0.0.1 --dst 10.0.0.2"
esn="--spi 0x1002 --src 10.0.0.1 --dst 10.0.0.2"

sareplay() { "$bin" --backend "$backend" "$@"; }
check() { tap_check "cli.$backend" "$@"; }
# "oseq 0x..." of a legacy SA, or "FIELD 0x..." of the ESN SA's context.
ip_oseq() {
	$ip xfrm state get dst 10.0.0.2 proto esp spi 0x1001 |
		sed -n 's/.*anti-replay context: .*oseq \(0x[0-9a-f]*\).*/\1/p'
}
ip_esn() {
	$ip xfrm state get dst 10.0.0.2 proto esp spi 0x1002 | tr ',' '\n' |
		sed -n "s/^[[:space:]]*$1 \(0x[0-9a-f]*\).*/\1/p"
}
# iproute2 prints the ring from its last word down.
ip_esn_ring() {
	$ip xfrm state get dst 10.0.0.2 proto esp spi 0x1002 |
		sed -n 's/^[[:space:]]*\([0-9a-f]\{8\}\( [0-9a-f]\{8\}\)*\) *$/\1/p'
}
send_udp() { for _ in $(seq "$1"); do echo x >/dev/udp/10.0.0.2/9000; done; }
json_get() { sareplay --json get $sa | jq -r "$1"; }

$ip xfrm state flush
$ip xfrm policy flush
$ip xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1001 \
	mode transport aead 'rfc4106(gcm(aes))' \
	0x00112233445566778899aabbccddeeff01020304 128 replay-window 32
$ip xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1002 \
	mode transport aead 'rfc4106(gcm(aes))' \
	0x00112233445566778899aabbccddeeff01020305 128 replay-window 128 flag esn
$ip xfrm policy add src 10.0.0.1 dst 10.0.0.2 proto udp dir out \
	tmpl proto esp spi 0x1001 mode transport

expected=$backend
[ "$backend" != auto ] || expected=${PFKEY_PROBE_EXPECTS:-?}
check probe_names_the_backend test "$(sareplay --json probe | jq -r .backend)" = "$expected"
check output_names_the_backend test "$(json_get .backend)" = "$expected"

send_udp 3
check get_matches_iproute2 test "$(json_get .replay.oseq)" = $((16#$(ip_oseq | cut -c3-)))
check get_text sareplay get $sa
check thresh sareplay thresh $sa --packets 5 --msecs 1500
check thresh_read_back test "$(json_get '.thresh | "\(.packets) \(.msecs)"')" = "5 1500"
check thresh_off sareplay thresh $sa --packets 0 --msecs 0
check thresh_off_read_back test "$(json_get '.thresh | "\(.packets) \(.msecs)"')" = "0 0"

# T stays on: over netlink, T = 0 after the SA's timer fired unheard keeps
# XFRM_TIME_DEFER set for good and every packet notifies (the PF_KEY
# extension clears it). The first notification may still come early with
# cause timer over netlink, so what is checked is the distance.
sareplay thresh $sa --packets 5 --msecs 60000 >/dev/null
sleep 1.2
# Traffic only once the monitor says it is subscribed: started in the
# background, its first start in the guest can take seconds. Its --timeout
# bounds the wait for it.
sareplay --json monitor --count 2 --timeout 60 >/tmp/monitor.json 2>/tmp/monitor.err &
monitor=$!
check monitor_says_subscribed wait_until 60 grep -q '^sareplay: subscribed' /tmp/monitor.err
send_udp 10
wait $monitor
sed 's/^/# monitor: /' /tmp/monitor.err
check monitor_count_events test "$(jq -s '.[1].replay.oseq - .[0].replay.oseq == 5 and
	.[1].replay.cause == "count" and .[1].replay.oseq >= 9' /tmp/monitor.json)" = true
jq -c '.replay | {oseq, cause}' /tmp/monitor.json | sed 's/^/# monitor: /'

check set_oseq sareplay set $sa --oseq 1000
check set_oseq_iproute2 test "$(ip_oseq)" = 0x3e8
sareplay set $sa --oseq 10 2>/tmp/err
check rewind_refused_exit_2 test $? = 2
check rewind_says_why grep -q refusing /tmp/err
check rewind_changed_nothing test "$(ip_oseq)" = 0x3e8
sareplay set $sa --seq 5 --bitmap 1 2 2>/dev/null
check wrong_bitmap_exit_2 test $? = 2

# ESN and a 128-packet ring: 64-bit numbers and the bitmap, both ways.
check esn_set sareplay set $esn --oseq $(((1 << 32) + 10)) --seq $(((1 << 32) + 100)) \
	--bitmap 80000001 0 0 80000000
check esn_oseq_iproute2 test "$(ip_esn oseq-hi) $(ip_esn oseq)" = "0x1 0xa"
check esn_seq_iproute2 test "$(ip_esn seq-hi) $(ip_esn seq)" = "0x1 0x64"
# Ages 0, 31 and 127 below 2^32 + 100 sit in slots 99, 68 and 100.
check esn_ring_iproute2 test "$(ip_esn_ring)" = "00000018 00000010 00000000 00000000"
check esn_bitmap_read_back test \
	"$(sareplay --json get $esn | jq -r '.replay.bitmap | join(" ")')" = \
	"80000001 00000000 00000000 80000000"
check esn_seq_only_marks_the_top sareplay set $esn --seq $(((1 << 32) + 102))
check esn_merge_kept_the_old_top test \
	"$(sareplay --json get $esn | jq -r '.replay.bitmap[0]')" = 00000005

sareplay get --spi 0xdead --src 10.0.0.1 --dst 10.0.0.2 2>/tmp/err
check unknown_sa_exit_1 test $? = 1
check unknown_sa_errno_text grep -q "No such process" /tmp/err
sareplay get --spi x --src 10.0.0.1 --dst 10.0.0.2 2>/dev/null
check bad_spi_exit_2 test $? = 2
"$bin" --backend carrier-pigeon dump 2>/dev/null
check bad_backend_exit_2 test $? = 2
check dump_lists_the_sas test "$(sareplay --json dump | jq -s length)" = 2

# A route-based tunnel's SA: the kernel finds it only with its mark, which
# netlink carries and PF_KEY has no room for.
$ip xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1003 mark 0x2a mask 0xff \
	mode tunnel aead 'rfc4106(gcm(aes))' \
	0x00112233445566778899aabbccddeeff01020306 128 replay-window 32
marked="--spi 0x1003 --src 10.0.0.1 --dst 10.0.0.2 --mark 0x2a/0xff"
sareplay get --spi 0x1003 --src 10.0.0.1 --dst 10.0.0.2 2>/dev/null
check marked_sa_needs_its_mark test $? = 1
if [ "$expected" = pfkey ]; then
	sareplay get $marked 2>/tmp/err
	check marked_sa_refused_exit_1 test $? = 1
	check marked_sa_refused_says_why grep -q "XFRM mark" /tmp/err
else
	check marked_sa_set sareplay set $marked --oseq 77
	check marked_sa_read_back test \
		"$(sareplay --json get $marked | jq -r '"\(.replay.oseq) \(.mark.value) \(.mark.mask)"')" = "77 42 255"
fi

$ip xfrm state flush
$ip xfrm policy flush
