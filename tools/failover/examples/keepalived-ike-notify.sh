#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# keepalived's notify FIFO script for a gateway whose SAs strongSwan's HA
# plugin installs (safailover with sa_owner = "ike"; see
# ../strongswan-ha.md), in the order that lets no ESP leave before its
# numbers are set: on MASTER, safailover sets every SA's numbers, then
# charon's HA segment is taken, then the LAN address the protected hosts
# route through comes up (announced by gratuitous ARP); on BACKUP, FAULT or
# STOP the reverse: safailover first, whose ESP fence then drops what the
# node still sends. The end-to-end test (tools/testing/pfkey_replay/guest/
# ike-test.sh) runs this very file.
#   vrrp_notify_fifo /run/keepalived-vrrp.fifo
#   vrrp_notify_fifo_script "/usr/local/sbin/keepalived-ike-notify.sh /run 10.7.0.10/24 lan /usr/sbin/safailover /run/safailover.sock"
# Usage: keepalived-ike-notify.sh RUN_DIR LAN_ADDRESS LAN_DEVICE SAFAILOVER|- CONTROL_SOCKET FIFO
#   RUN_DIR holds charon.ha (charon's /run); "-" for SAFAILOVER: strongSwan
#   HA alone (the test's baseline); keepalived appends FIFO.
run=$1 lan=$2 dev=$3 safailover=$4 control=$5 fifo=$6
log=$run/keepalived-notify.log
while read -r what name state _; do
	[ "$what" = INSTANCE ] || continue
	echo "$(date +%s.%N) $name $state" >>"$log"
	case $state in
	MASTER)
		# An SA whose numbers could not be set was deleted by the
		# takeover (fail closed): the rest may carry traffic. A daemon
		# that did not become active (it refuses when it never synced or
		# cannot read the SAD) set nothing: the segment and the LAN
		# address stay away. (Inbound ESP to the outside address, which
		# keepalived moved, is still accepted: see strongswan-ha.md.)
		if [ "$safailover" != - ] &&
		   ! timeout 30 "$safailover" --control "$control" takeover >>"$log" 2>&1 &&
		   [ "$(timeout 10 "$safailover" --control "$control" status | jq -r .role)" != active ]; then
			echo "safailover did not take over: not taking the segment" >>"$log"
			continue
		fi
		echo +1 >"$run/charon.ha"
		/usr/sbin/ip addr add "$lan" dev "$dev" 2>>"$log"
		# The protected hosts' neighbour caches still name the old
		# active: tell them (keepalived does it for the addresses it
		# moves itself).
		arping -q -U -c 2 -w 1 -I "$dev" "${lan%/*}" 2>>"$log"
		;;
	BACKUP | FAULT | STOP)
		[ "$safailover" = - ] ||
			timeout 30 "$safailover" --control "$control" standby >>"$log" 2>&1
		/usr/sbin/ip addr del "$lan" dev "$dev" 2>/dev/null
		echo -1 >"$run/charon.ha"
		;;
	esac
done <"$fifo"
