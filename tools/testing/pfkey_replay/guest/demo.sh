#!/bin/bash
# Inside the VM, in the namespaces ns-pair.sh made: ESP between ns1 and
# ns2, replay notifications as they arrive, then a set-replay and its effect.
set -u
ip=/usr/sbin/ip
demo=$(dirname "$0")/demo
. "$(dirname "$0")/lib.sh"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
seq_of() { $ip -n "$1" xfrm state get dst 10.0.0.2 proto esp spi 0x1001 |
	sed -n 's/.*anti-replay context: seq \(0x[0-9a-f]*\), oseq \(0x[0-9a-f]*\).*/seq \1 oseq \2/p'; }

esp_pair_sas
$ip -n ns1 xfrm policy add src 10.0.0.1 dst 10.0.0.2 dir out tmpl proto esp mode transport
$ip -n ns1 xfrm policy add src 10.0.0.2 dst 10.0.0.1 dir in tmpl proto esp mode transport
$ip -n ns2 xfrm policy add src 10.0.0.2 dst 10.0.0.1 dir out tmpl proto esp mode transport
$ip -n ns2 xfrm policy add src 10.0.0.1 dst 10.0.0.2 dir in tmpl proto esp mode transport

say "af_key: $(/usr/sbin/modinfo -n af_key 2>/dev/null || echo built in) on $(uname -r)"
say "ns1 -> ns2 ESP (AES-GCM), outbound SA 0x1001: N=10 packets, T=500 ms"
$demo thresh ns1 0x1001 10.0.0.1 10.0.0.2 10 500
# Traffic once the monitor says it listens; shown live, and kept to see that.
timeout 60 $demo monitor ns1 6 | tee /tmp/monitor &
monitor=$!
wait_until 30 grep -q '^listening' /tmp/monitor
$ip netns exec ns1 ping -q -c 25 -i 0.1 10.0.0.2 | tail -n 2
wait $monitor
say "what netlink (ip xfrm state) says: ns1 $(seq_of ns1); ns2 $(seq_of ns2)"

say "takeover: set ns1's outbound counter to 100000 (SADB_X_SET_REPLAY)"
$demo set-oseq ns1 0x1001 10.0.0.1 10.0.0.2 100000
$ip netns exec ns1 ping -q -c 3 -i 0.2 10.0.0.2 | tail -n 2
say "the peer (ns2) accepted them: $(seq_of ns2) (100003 = 0x186a3)"
$ip -n ns2 -s xfrm state get dst 10.0.0.2 proto esp spi 0x1001 | sed -n '/stats:/,$p'

say "moving the counter backwards would reuse GCM nonces: refused"
$demo set-oseq ns1 0x1001 10.0.0.1 10.0.0.2 5
exit 0
