# SPDX-License-Identifier: GPL-2.0
# Sourced by the in-guest benches (guest/bench.sh, guest/bench-insns.sh),
# in the namespaces ns-pair.sh made, after lib.sh: one AES-GCM
# SA from ns1 to ns2 with its policies, and the listeners' helpers.
bench=$dir/bench
demo=$dir/demo
key=0x00112233445566778899aabbccddeeff01020304

for ns in ns1 ns2; do
	$ip -n $ns xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1001 \
		mode transport aead 'rfc4106(gcm(aes))' $key 128 replay-window 32
done
$ip -n ns1 xfrm policy add src 10.0.0.1 dst 10.0.0.2 proto udp dir out \
	tmpl proto esp mode transport
$ip -n ns2 xfrm policy add src 10.0.0.1 dst 10.0.0.2 proto udp dir in \
	tmpl proto esp mode transport
# Usage: thresh PACKETS MSECS, on both ends of the SA.
thresh() {
	$demo thresh ns1 0x1001 10.0.0.1 10.0.0.2 "$1" "$2" >/dev/null
	$demo thresh ns2 0x1001 10.0.0.1 10.0.0.2 "$1" "$2" >/dev/null
}

# Listeners start in the background and the flood waits until they listen:
# bench says "ready", sareplay says "subscribed", and iproute2, which says
# nothing, shows up in the namespace's netlink table.
# Netlink sockets of namespace @1 in XFRM's AEVENTS group (XFRMNLGRP_AEVENTS
# is group 5: bit 4 of /proc/net/netlink's first 32 groups).
aevent_listeners() {
	$ip netns exec "$1" cat /proc/net/netlink |
		while read -r _ protocol _ groups _; do
			[ "$protocol" = 6 ] && (( 16#$groups & 16 )) && echo
		done | wc -l
}
listeners_above() { [ "$(aevent_listeners "$1")" -gt "$2" ]; }
said_ready() { grep -q '^ready' "$1"; }
# A bench listener for @3 seconds from when it is ready (or until SIGTERM),
# in the background.
# Usage: bench_listen KIND NS SECONDS OUTPUT
bench_listen() {
	timeout $(($3 + 60)) $bench listen "$1" "$2" "$3" >"$4" &
	wait_until 30 said_ready "$4" || echo "# bench listen $1 $2: not ready after 30 s"
}
