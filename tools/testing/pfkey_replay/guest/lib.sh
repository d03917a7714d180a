# SPDX-License-Identifier: GPL-2.0
# Sourced by the scripts that run inside the test VM: bounded steps, bounded
# waits, and the record of what went wrong outside a check, which the host
# (run) names in the tier's line when checks are missing.
#   /run/results/tap.txt    the checks, one "ok"/"not ok" line each
#   /run/results/failures   one line per step that timed out or failed
#
# PFKEY_TEST_FAULT, for the harness self-test only (run test harness): a
# comma-separated list of faults that prove a broken run cannot pass.
#   hang:STEP   STEP hangs (until its time limit)
#   exit:STEP   STEP exits at once, successfully, having reported nothing
#   hang:guest  the whole guest script hangs (until the VM's time limit)

results=/run/results
tap=$results/tap.txt

# Whether FAULT (e.g. "hang:kselftest") was asked for.
fault_requested() {
	case ",${PFKEY_TEST_FAULT:-}," in
	*",$1,"*) return 0 ;;
	esac
	return 1
}

# Called once at the top of a guest script.
guest_start() {
	if fault_requested hang:guest; then
		echo "# PFKEY_TEST_FAULT: the guest hangs"
		exec sleep infinity
	fi
}

# A line for the host's tier report: what went wrong, in words.
record_failure() { echo "$*" >>$results/failures; }

# GoogleTest's "[       OK ] S.T (N ms)" and "[  FAILED  ] S.T (N ms)" as
# TAP lines "ok LABEL.S.T" and "not ok LABEL.S.T".
gtest_to_tap() {
	sed -un "s/^\[       OK \] \([^ ]*\) (.*/ok $1.\1/p
		s/^\[  FAILED  \] \([^ ]*\) (.*/not ok $1.\1/p"
}

# Runs one step of a tier within SECONDS (the whole process group is
# killed then), its checks appended to the TAP file and shown live; the raw
# output goes to /run/results/NAME.log. A step that times out or exits
# non-zero is recorded by name; a step that reports fewer checks than it
# should is caught by the host's plan, not here.
# Usage: step NAME SECONDS FORMAT COMMAND...
#   FORMAT: tap (COMMAND prints TAP) or gtest:LABEL (GoogleTest output)
step() {
	local name=$1 limit=$2 format=$3 start=$SECONDS rc
	shift 3
	if fault_requested "hang:$name"; then
		set -- sleep infinity
	elif fault_requested "exit:$name"; then
		set -- true
	fi
	case $format in
	tap)
		timeout -k 5 "$limit" "$@" 2>&1 | tee "$results/$name.log" |
			tee -a "$tap"
		;;
	gtest:*)
		timeout -k 5 "$limit" "$@" 2>&1 | tee "$results/$name.log" |
			gtest_to_tap "${format#gtest:}" | tee -a "$tap"
		;;
	esac
	rc=${PIPESTATUS[0]}
	echo "# step $name: $((SECONDS - start)) s (limit $limit s)" | tee -a "$tap"
	case $rc in
	0) ;;
	124 | 137) record_failure "$name timed out after $limit s" ;;
	*) record_failure "$name exited $rc" ;;
	esac
}

# Polls COMMAND every 100 ms until it succeeds; fails after SECONDS. Not
# faster: some conditions start a sanitizer build of a C++ tool, and the
# guest's CPU time is keepalived's too.
# Usage: wait_until SECONDS COMMAND...
wait_until() {
	local limit=$1 deadline
	shift
	deadline=$((${EPOCHREALTIME/./} + limit * 1000000))
	until "$@"; do
		[ "${EPOCHREALTIME/./}" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# Runs COMMAND, its output discarded, as the check "PREFIX.NAME".
# Usage: tap_check PREFIX NAME COMMAND...
tap_check() {
	local name=$1.$2
	shift 2
	if "$@" >/dev/null 2>&1; then
		echo "ok $name"
	else
		echo "not ok $name"
	fi
}

# A CA (P-256, for two days) and a certificate of it for each NAME whose
# subject is CN=NAME: DIR/CA.{crt,key} and DIR/NAME.{crt,key}.
# Usage: make_pki DIR CA NAME...
make_pki() {
	local dir=$1 ca=$2 name
	shift 2
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$dir/$ca.key" -out "$dir/$ca.crt" -days 2 -subj "/CN=$ca" 2>/dev/null ||
		return 1
	for name; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$dir/$name.key" -out "$dir/$name.csr" -subj "/CN=$name" 2>/dev/null &&
		openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.crt" -CAkey "$dir/$ca.key" \
			-CAcreateserial -out "$dir/$name.crt" -days 2 2>/dev/null || return 1
	done
}

# DIR/NAME.toml: safailover's config for node NAME of ROLE, on the sync
# channel at ADDR:7500 with its one peer at PEER_ADDR:7500, whose
# certificate names PEER_NAME (a comma-separated list: any of them; "-":
# not checked), with CERT's certificate
# (default NAME) of DIR's PKI (make_pki). SA_OWNER, when given, is its
# sa_owner. Lines on stdin follow the [sync] table's keys: further ones of
# its own, then [replay] and the rest.
# Usage: safailover_toml DIR NAME ROLE ADDR PEER_ADDR PEER_NAME [CERT [SA_OWNER]] <REST
safailover_toml() {
	local dir=$1 name=$2 role=$3 addr=$4 peer_addr=$5 peer_name=$6 cert=${7:-$2}
	local owner=${8:-}
	{
		echo "node = \"$name\""
		echo "role = \"$role\""
		[ -z "$owner" ] || echo "sa_owner = \"$owner\""
		cat <<CONF
[sync]
listen = "$addr:7500"
peers = ["$peer_addr:7500"]
certificate = "$dir/$cert.crt"
key = "$dir/$cert.key"
ca = "$dir/ca.crt"
CONF
		[ "$peer_name" = - ] || echo "peer_names = [\"${peer_name//,/\", \"}\"]"
		cat
	} >"$dir/$name.toml"
}

# The AES-GCM transport SAs between ns-pair.sh's ns1 (10.0.0.1) and ns2
# (10.0.0.2), in both: SPI 0x1001 from ns1 to ns2, 0x2001 back; window 32.
esp_pair_sas() {
	local ns key=0x00112233445566778899aabbccddeeff01020304
	for ns in ns1 ns2; do
		/usr/sbin/ip -n $ns xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp \
			spi 0x1001 mode transport aead 'rfc4106(gcm(aes))' $key 128 \
			replay-window 32 &&
		/usr/sbin/ip -n $ns xfrm state add src 10.0.0.2 dst 10.0.0.1 proto esp \
			spi 0x2001 mode transport aead 'rfc4106(gcm(aes))' $key 128 \
			replay-window 32 || return 1
	done
}

# NS gets DEV, a veth whose other end (NS-DEV) is a port of BRIDGE, with
# ADDRESS, both ends up.
# Usage: veth_to_bridge NS DEV BRIDGE ADDRESS
veth_to_bridge() {
	local ns=$1 dev=$2 br=$3 addr=$4
	/usr/sbin/ip link add $ns-$dev type veth peer name $dev netns $ns &&
	/usr/sbin/ip link set $ns-$dev master $br up &&
	/usr/sbin/ip -n $ns addr add $addr dev $dev &&
	/usr/sbin/ip -n $ns link set $dev up
}

# keepalived in network namespace NAME with DIR/NAME-vrrp.conf, its pid
# files and log in DIR, in the background (as the VM has no init for it:
# -n -l -D); the parent's pid in DIR/NAME.keepalived.pid (it respawns a
# killed VRRP child: kill the parent).
# Usage: start_keepalived DIR NAME
start_keepalived() {
	local dir=$1 name=$2
	/usr/sbin/ip netns exec $name keepalived -n -l -D -f $dir/$name-vrrp.conf \
		-p $dir/$name.ka.pid -r $dir/$name.vrrp.pid -c $dir/$name.chk.pid --vrrp \
		>>$dir/$name-keepalived.log 2>&1 &
	echo $! >$dir/$name.keepalived.pid
	disown
}
