#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Inside the VM: the namespaces of the kselftest (pfkey_replay.sh) for the
# harness's own programs: ns1 (10.0.0.1, fd00::1) and ns2 (10.0.0.2,
# fd00::2) on a veth pair with fixed MACs and permanent neighbours, ns3
# empty. Runs COMMAND in the root namespace, removes them after it, and
# exits with COMMAND's status. The VM is the harness's own: fixed names,
# exported as the kselftest's programs read them.
# Usage: ns-pair.sh COMMAND...
set -u
ip=/usr/sbin/ip

cleanup() { for n in ns1 ns2 ns3; do $ip netns del $n 2>/dev/null; done; }
trap cleanup EXIT
cleanup
for n in ns1 ns2 ns3; do $ip netns add $n && $ip -n $n link set lo up || exit 1; done
$ip -n ns1 link add veth1 address 02:00:00:00:00:01 type veth \
	peer name veth2 address 02:00:00:00:00:02 netns ns2 || exit 1
for side in "ns1 veth1 1 2" "ns2 veth2 2 1"; do
	read -r ns dev me other <<<"$side"
	$ip -n $ns addr add 10.0.0.$me/24 dev $dev
	$ip -n $ns addr add fd00::$me/64 dev $dev nodad
	$ip -n $ns link set $dev up
	$ip -n $ns neigh add 10.0.0.$other lladdr 02:00:00:00:00:0$other dev $dev nud permanent
	$ip -n $ns neigh add fd00::$other lladdr 02:00:00:00:00:0$other dev $dev nud permanent
done
export PFKEY_REPLAY_NS1=ns1 PFKEY_REPLAY_NS2=ns2 PFKEY_REPLAY_NS3=ns3
"$@"
