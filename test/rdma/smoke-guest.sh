#!/bin/bash
# smoke-guest.sh -- the guest half of test/rdma/smoke.sh (run by guest-run.sh
# inside the RDMA test guest; not meant to be run on the host).
#
# Proves that the guest is what docs/rdma-guest.md promises: two ACTIVE rxe
# devices on the two ends of a veth pair, and RDMA between them that really
# crosses the veth -- verbs (ibv_rc_pingpong: SEND/RECV), the RDMA CM (rping:
# RDMA READ and WRITE) and an 8 KiB one-sided RDMA READ (ib_read_lat) -- plus
# the same as a non-root user.  Prints unnumbered TAP lines ("ok - ...",
# "not ok - ...") and "# " evidence; smoke.sh numbers them.  Exit status: the
# number of failed checks.
set -u

fails=0
ok() {
	echo "ok - $*"
}
nok() {
	echo "not ok - $*"
	fails=$((fails + 1))
}
check() {
	# check <description> <command...>: ok when the command succeeds
	local d=$1
	shift
	if "$@"; then ok "$d"; else nok "$d"; fi
}
note() {
	sed 's/^/# /'
}

if [ "${RB_GUEST:-}" != 1 ]; then
	echo "smoke-guest.sh: runs inside the RDMA test guest (test/rdma/guest-run.sh)" >&2
	exit 1
fi

A=$RB_RDMA_ADDR_A
B=$RB_RDMA_ADDR_B
DA=$RB_RDMA_DEV_A
DB=$RB_RDMA_DEV_B
GA=$RB_RDMA_GID_INDEX_A
GB=$RB_RDMA_GID_INDEX_B
T=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$T"' EXIT

hw() { cat "/sys/class/infiniband/$1/ports/1/hw_counters/$2"; }
st() { cat "/sys/class/net/$1/statistics/$2"; }

# All counters that tell where packets went, as "name value" lines.
snapshot() {
	local d c n
	for d in "$DA" "$DB"; do
		for c in sent_pkts rcvd_pkts rdma_sends rdma_recvs; do
			echo "$d.$c $(hw "$d" "$c")"
		done
	done
	for n in veth-a veth-b lo; do
		for c in tx_packets rx_packets; do
			echo "$n.$c $(st "$n" "$c")"
		done
	done
}
# delta <before-file> <after-file> <name>
delta() {
	local a b
	a=$(awk -v k="$3" '$1 == k { print $2 }' "$1")
	b=$(awk -v k="$3" '$1 == k { print $2 }' "$2")
	echo $((b - a))
}
# Print every counter as before -> after (+delta).
show_counters() {
	join "$1" "$2" | awk '{ printf "counter %-22s %8d -> %8d (+%d)\n", $1, $2, $3, $3 - $2 }' | note
}
# Assert that a transfer crossed the wire: the sender rxe sent and the
# receiver rxe received at least <min> packets, the sending veth carried at
# least as many packets as its rxe sent, and lo carried none of it.
# crossed <label> <before> <after> <min>
crossed() {
	local label=$1 b=$2 a=$3 min=$4
	local s_b r_a tx_vb rx_va tx_va rx_vb s_a r_b lo
	s_b=$(delta "$b" "$a" "$DB.sent_pkts")
	r_a=$(delta "$b" "$a" "$DA.rcvd_pkts")
	s_a=$(delta "$b" "$a" "$DA.sent_pkts")
	r_b=$(delta "$b" "$a" "$DB.rcvd_pkts")
	tx_vb=$(delta "$b" "$a" veth-b.tx_packets)
	rx_va=$(delta "$b" "$a" veth-a.rx_packets)
	tx_va=$(delta "$b" "$a" veth-a.tx_packets)
	rx_vb=$(delta "$b" "$a" veth-b.rx_packets)
	lo=$(delta "$b" "$a" lo.rx_packets)
	if [ "$s_b" -ge "$min" ] && [ "$r_a" -ge "$min" ] &&
		[ "$s_a" -ge "$min" ] && [ "$r_b" -ge "$min" ]; then
		ok "$label: rxe packets both ways (>= $min): $DB sent +$s_b, $DA rcvd +$r_a, $DA sent +$s_a, $DB rcvd +$r_b"
	else
		nok "$label: rxe packets both ways (>= $min): $DB sent +$s_b, $DA rcvd +$r_a, $DA sent +$s_a, $DB rcvd +$r_b"
	fi
	if [ "$tx_vb" -ge "$s_b" ] && [ "$rx_va" -ge "$r_a" ] &&
		[ "$tx_va" -ge "$s_a" ] && [ "$rx_vb" -ge "$r_b" ] && [ "$lo" -eq 0 ]; then
		ok "$label: carried by the veth pair, not lo: veth-b tx +$tx_vb, veth-a rx +$rx_va, veth-a tx +$tx_va, veth-b rx +$rx_vb, lo rx +$lo"
	else
		nok "$label: carried by the veth pair, not lo: veth-b tx +$tx_vb, veth-a rx +$rx_va, veth-a tx +$tx_va, veth-b rx +$rx_vb, lo rx +$lo"
	fi
}
# wait_for <seconds> <command...>: poll until the command succeeds
wait_for() {
	local n=$(($1 * 10))
	shift
	while [ $n -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}
tcp_listening() {
	ss -Hltn "sport = :$1" | grep -q .
}
cm_listening() {
	rdma resource show cm_id 2>/dev/null | grep -q "state LISTEN"
}

# --- 1. devices and wiring ---------------------------------------------------
rdma link show | note
check "rdma link: $DA ACTIVE on veth-a" \
	grep -q "^link $DA/1 state ACTIVE physical_state LINK_UP netdev veth-a" <(rdma link show)
check "rdma link: $DB ACTIVE on veth-b" \
	grep -q "^link $DB/1 state ACTIVE physical_state LINK_UP netdev veth-b" <(rdma link show)
ibv_devices >"$T/devs" 2>&1
note <"$T/devs"
check "ibv_devices lists $DA and $DB" \
	bash -c "grep -qw '$DA' '$T/devs' && grep -qw '$DB' '$T/devs'"
echo "# GID index A=$GA: $(cat /sys/class/infiniband/$DA/ports/1/gids/$GA), B=$GB: $(cat /sys/class/infiniband/$DB/ports/1/gids/$GB)"
ra=$(ip route get "$B" from "$A")
rb=$(ip route get "$A" from "$B")
echo "$ra" | head -1 | note
echo "$rb" | head -1 | note
check "route $A -> $B leaves by veth-a" grep -q "dev veth-a" <<<"$ra"
check "route $B -> $A leaves by veth-b" grep -q "dev veth-b" <<<"$rb"

echo "# guest uptime $(cut -d' ' -f1 /proc/uptime) s"
# --- 2. verbs: ibv_rc_pingpong, server on A (rxe0), client on B (rxe1) ------
ITERS=50
snapshot >"$T/c0"
timeout 60 ibv_rc_pingpong -d "$DA" -g "$GA" -p 18515 -n $ITERS -s 4096 >"$T/pp_srv" 2>&1 &
srv=$!
pids+=("$srv")
wait_for 20 tcp_listening 18515
timeout 60 ibv_rc_pingpong -d "$DB" -g "$GB" -p 18515 -n $ITERS -s 4096 "$A" >"$T/pp_cli" 2>&1
crc=$?
wait "$srv"
src=$?
snapshot >"$T/c1"
sed 's/^/server: /' "$T/pp_srv" | note
sed 's/^/client: /' "$T/pp_cli" | note
if [ $crc -eq 0 ] && [ $src -eq 0 ] && grep -q "^$ITERS iters" "$T/pp_cli" &&
	grep -q "GID ::ffff:$A" "$T/pp_cli" && grep -q "GID ::ffff:$B" "$T/pp_srv"; then
	ok "ibv_rc_pingpong: $ITERS x 4 KiB RC SEND/RECV between $DB ($B) and $DA ($A)"
else
	nok "ibv_rc_pingpong: $ITERS x 4 KiB RC SEND/RECV between $DB ($B) and $DA ($A) (client $crc, server $src)"
fi
show_counters "$T/c0" "$T/c1"
crossed "ibv_rc_pingpong" "$T/c0" "$T/c1" $ITERS

echo "# guest uptime $(cut -d' ' -f1 /proc/uptime) s"
# --- 3. RDMA CM: rping (RDMA READ + WRITE), server on A, client from B ------
COUNT=10
snapshot >"$T/c2"
timeout 60 stdbuf -oL -eL rping -s -a "$A" -C $COUNT -S 4096 -v >"$T/rp_srv" 2>&1 &
srv=$!
pids+=("$srv")
wait_for 20 cm_listening
rdma resource show cm_id 2>/dev/null | note
timeout 60 rping -c -a "$A" -C $COUNT -S 4096 -v -V >"$T/rp_cli" 2>&1
crc=$?
wait "$srv"
src=$?
snapshot >"$T/c3"
head -3 "$T/rp_cli" | cut -c1-72 | sed 's/^/client: /' | note
tail -2 "$T/rp_srv" | cut -c1-72 | sed 's/^/server: /' | note
n_cli=$(grep -c "^ping data: rdma-ping-" "$T/rp_cli")
if [ $crc -eq 0 ] && [ $src -eq 0 ] && [ "$n_cli" -eq $COUNT ]; then
	ok "rping over the RDMA CM: $COUNT verified round trips (RDMA READ + WRITE), client on $B, server on $A"
else
	nok "rping over the RDMA CM: $n_cli/$COUNT round trips (client $crc, server $src)"
	note <"$T/rp_cli"
	note <"$T/rp_srv"
fi
show_counters "$T/c2" "$T/c3"
crossed "rping" "$T/c2" "$T/c3" $COUNT

echo "# guest uptime $(cut -d' ' -f1 /proc/uptime) s"
# --- 4. one-sided RDMA READ of 8 KiB: B reads A's memory ---------------------
READS=20
snapshot >"$T/c4"
timeout 60 ib_read_lat -d "$DA" -x "$GA" -p 18516 -s 8192 -n $READS >"$T/rl_srv" 2>&1 &
srv=$!
pids+=("$srv")
wait_for 20 tcp_listening 18516
timeout 60 ib_read_lat -d "$DB" -x "$GB" -p 18516 -s 8192 -n $READS "$A" >"$T/rl_cli" 2>&1
crc=$?
wait "$srv"
src=$?
snapshot >"$T/c5"
grep -E "QPN|^ *#bytes|^ *8192 " "$T/rl_cli" | sed 's/^ *//' | note
resp=$(delta "$T/c4" "$T/c5" "$DA.sent_pkts")
# 8 KiB at the rxe MTU of 1024 is 8 response packets per READ.
if [ $crc -eq 0 ] && [ $src -eq 0 ] && grep -qE "^ *8192 +$READS " "$T/rl_cli" &&
	[ "$resp" -ge $((READS * 8)) ]; then
	ok "ib_read_lat: $READS one-sided 8 KiB RDMA READs by $DB from $DA; responder $DA sent +$resp packets (>= $((READS * 8)))"
else
	nok "ib_read_lat: $READS one-sided 8 KiB RDMA READs (client $crc, server $src, responder sent +$resp)"
	note <"$T/rl_cli"
	note <"$T/rl_srv"
fi
show_counters "$T/c4" "$T/c5"
crossed "ib_read_lat" "$T/c4" "$T/c5" $READS

echo "# guest uptime $(cut -d' ' -f1 /proc/uptime) s"
# --- 5. the same as a non-root user (postgres runs as rbtest) ----------------
U=rbtest
if getent passwd $U >/dev/null; then
	as_user() {
		setpriv --reuid=$U --regid=$U --init-groups "$@"
	}
	echo "# $U: $(as_user id), memlock $(as_user bash -c 'ulimit -l')"
	timeout 60 ibv_rc_pingpong -d "$DA" -g "$GA" -p 18517 -n 10 -s 4096 >"$T/u_srv" 2>&1 &
	srv=$!
	pids+=("$srv")
	wait_for 20 tcp_listening 18517
	timeout 60 setpriv --reuid=$U --regid=$U --init-groups \
		ibv_rc_pingpong -d "$DB" -g "$GB" -p 18517 -n 10 -s 4096 "$A" >"$T/u_cli" 2>&1
	crc=$?
	wait "$srv"
	src=$?
	grep iters "$T/u_cli" | sed "s/^/$U client: /" | note
	if [ $crc -eq 0 ] && [ $src -eq 0 ] && grep -q "^10 iters" "$T/u_cli"; then
		ok "as $U: registers memory and runs RC traffic on $DB"
	else
		nok "as $U: ibv_rc_pingpong client (client $crc, server $src)"
		note <"$T/u_cli"
	fi
else
	echo "ok # SKIP no user $U in /etc/passwd"
fi

echo "# guest uptime $(cut -d' ' -f1 /proc/uptime) s"
exit $fails
