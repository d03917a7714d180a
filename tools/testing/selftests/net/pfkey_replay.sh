#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Make the namespaces pfkey_replay expects, run it, and clean up.
set -u
ksft_skip=4
ip=ip
dir=$(dirname "$0")

[ "$(id -u)" = 0 ] || { echo "SKIP: pfkey_replay needs root"; exit $ksft_skip; }
command -v $ip >/dev/null || { echo "SKIP: no ip (iproute2)"; exit $ksft_skip; }
modprobe -q af_key 2>/dev/null
modprobe -q xfrm_user 2>/dev/null

# Unique names: a machine's own namespaces are never touched.
ns1=$(mktemp -u pfkey_replay1-XXXXXX)
ns2=$(mktemp -u pfkey_replay2-XXXXXX)
ns3=$(mktemp -u pfkey_replay3-XXXXXX)
export PFKEY_REPLAY_NS1=$ns1 PFKEY_REPLAY_NS2=$ns2 PFKEY_REPLAY_NS3=$ns3

cleanup() { for n in $ns1 $ns2 $ns3; do $ip netns del "$n" 2>/dev/null; done; }
trap cleanup EXIT
for n in $ns1 $ns2 $ns3; do $ip netns add "$n" && $ip -n "$n" link set lo up || exit 1; done
$ip -n $ns1 link add veth1 type veth peer name veth2 netns $ns2 || exit 1
$ip -n $ns1 link set veth1 address 02:00:00:00:00:01
$ip -n $ns2 link set veth2 address 02:00:00:00:00:02
$ip -n $ns1 addr add 10.0.0.1/24 dev veth1
$ip -n $ns2 addr add 10.0.0.2/24 dev veth2
$ip -n $ns1 addr add fd00::1/64 dev veth1 nodad
$ip -n $ns2 addr add fd00::2/64 dev veth2 nodad
$ip -n $ns1 link set veth1 up
$ip -n $ns2 link set veth2 up
$ip -n $ns1 neigh add fd00::2 lladdr 02:00:00:00:00:02 dev veth1 nud permanent
$ip -n $ns2 neigh add fd00::1 lladdr 02:00:00:00:00:01 dev veth2 nud permanent
$ip -n $ns1 neigh add 10.0.0.2 lladdr 02:00:00:00:00:02 dev veth1 nud permanent
$ip -n $ns2 neigh add 10.0.0.1 lladdr 02:00:00:00:00:01 dev veth2 nud permanent
rc=0
"$dir/pfkey_replay" || rc=$?
"$dir/pfkey_replay_stress" || rc=$?
exit $rc
