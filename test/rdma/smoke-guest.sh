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
# note [prefix]: stdin as "# " comment lines
note() {
	local l
	while IFS= read -r l; do
		printf '# %s%s\n' "${1:-}" "$l"
	done
}
# has_line <file> <regex>: some line of the file matches
has_line() {
	local l
	while IFS= read -r l; do
		[[ $l =~ $2 ]] && return 0
	done <"$1"
	return 1
}
count_lines() {
	local l n=0
	while IFS= read -r l; do
		[[ $l =~ $2 ]] && n=$((n + 1))
	done <"$1"
	echo $n
}
uptime_note() {
	local up rest
	read -r up rest </proc/uptime
	echo "# guest uptime $up s"
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

# Under emulation every exec of a host binary costs 0.5-2 s, so the helpers
# below use bash builtins only.
rd() {
	local v
	read -r v <"$1"
	echo "$v"
}
hw() { rd "/sys/class/infiniband/$1/ports/1/hw_counters/$2"; }
st() { rd "/sys/class/net/$1/statistics/$2"; }

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
# value <snapshot-file> <name>
value() {
	local k v
	while read -r k v; do
		[ "$k" = "$2" ] && { echo "$v"; return; }
	done <"$1"
	echo 0
}
# delta <before-file> <after-file> <name>
delta() {
	echo $(($(value "$2" "$3") - $(value "$1" "$3")))
}
# Print every counter as before -> after (+delta).
show_counters() {
	local k v a
	while read -r k v; do
		a=$(value "$2" "$k")
		printf '# counter %-22s %8d -> %8d (+%d)\n' "$k" "$v" "$a" $((a - v))
	done <"$1"
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
	local n=$(($1 * 5))
	shift
	while [ $n -gt 0 ]; do
		"$@" && return 0
		read -r -t 0.2 <> <(:) || true
		n=$((n - 1))
	done
	return 1
}
# A TCP listener on port $1, from /proc/net/tcp (state 0A = LISTEN).
tcp_listening() {
	local want sl local rem state rest
	printf -v want ':%04X' "$1"
	while read -r sl local rem state rest; do
		[ "${local#*:}" = "${want#:}" ] && [ "$state" = 0A ] && return 0
	done </proc/net/tcp
	return 1
}
cm_listening() {
	rdma resource show cm_id >"$T/cm" 2>/dev/null && has_line "$T/cm" "state LISTEN"
}

# --- 1. devices and wiring ---------------------------------------------------
rdma link show >"$T/links"
note <"$T/links"
check "rdma link: $DA ACTIVE on veth-a" \
	has_line "$T/links" "^link $DA/1 state ACTIVE physical_state LINK_UP netdev veth-a"
check "rdma link: $DB ACTIVE on veth-b" \
	has_line "$T/links" "^link $DB/1 state ACTIVE physical_state LINK_UP netdev veth-b"
ibv_devices >"$T/devs" 2>&1
note <"$T/devs"
check "ibv_devices lists $DA and $DB" \
	eval 'has_line "$T/devs" "^ +$DA[[:space:]]" && has_line "$T/devs" "^ +$DB[[:space:]]"'
echo "# GID index A=$GA: $(rd /sys/class/infiniband/$DA/ports/1/gids/$GA), B=$GB: $(rd /sys/class/infiniband/$DB/ports/1/gids/$GB)"
ra=$(ip route get "$B" from "$A")
rb=$(ip route get "$A" from "$B")
echo "# ${ra%%$'\n'*}"
echo "# ${rb%%$'\n'*}"
check "route $A -> $B leaves by veth-a" eval '[[ $ra =~ " dev veth-a " ]]'
check "route $B -> $A leaves by veth-b" eval '[[ $rb =~ " dev veth-b " ]]'

uptime_note
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
note "server: " <"$T/pp_srv"
note "client: " <"$T/pp_cli"
if [ $crc -eq 0 ] && [ $src -eq 0 ] && has_line "$T/pp_cli" "^$ITERS iters" &&
	has_line "$T/pp_cli" "remote address: .*GID ::ffff:$A\$" &&
	has_line "$T/pp_srv" "remote address: .*GID ::ffff:$B\$"; then
	ok "ibv_rc_pingpong: $ITERS x 4 KiB RC SEND/RECV between $DB ($B) and $DA ($A)"
else
	nok "ibv_rc_pingpong: $ITERS x 4 KiB RC SEND/RECV between $DB ($B) and $DA ($A) (client $crc, server $src)"
fi
show_counters "$T/c0" "$T/c1"
crossed "ibv_rc_pingpong" "$T/c0" "$T/c1" $ITERS

uptime_note
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
n=0
while IFS= read -r l && [ $n -lt 3 ]; do
	echo "# client: ${l:0:72}"
	n=$((n + 1))
done <"$T/rp_cli"
n_cli=$(count_lines "$T/rp_cli" "^ping data: rdma-ping-")
n_srv=$(count_lines "$T/rp_srv" "^server ping data: rdma-ping-")
echo "# client ping lines: $n_cli, server ping lines: $n_srv"
if [ $crc -eq 0 ] && [ $src -eq 0 ] && [ "$n_cli" -eq $COUNT ] && [ "$n_srv" -eq $COUNT ]; then
	ok "rping over the RDMA CM: $COUNT verified round trips (RDMA READ + WRITE), client on $B, server on $A"
else
	nok "rping over the RDMA CM: $n_cli/$COUNT round trips (client $crc, server $src)"
	note <"$T/rp_cli"
	note <"$T/rp_srv"
fi
show_counters "$T/c2" "$T/c3"
crossed "rping" "$T/c2" "$T/c3" $COUNT

uptime_note
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
while IFS= read -r l; do
	[[ $l =~ QPN|^\ *#bytes|^\ *8192\  ]] && echo "# ${l#"${l%%[! ]*}"}"
done <"$T/rl_cli"
resp=$(delta "$T/c4" "$T/c5" "$DA.sent_pkts")
# 8 KiB at the rxe MTU of 1024 is 8 response packets per READ.
if [ $crc -eq 0 ] && [ $src -eq 0 ] && has_line "$T/rl_cli" "^ *8192 +$READS " &&
	[ "$resp" -ge $((READS * 8)) ]; then
	ok "ib_read_lat: $READS one-sided 8 KiB RDMA READs by $DB from $DA; responder $DA sent +$resp packets (>= $((READS * 8)))"
else
	nok "ib_read_lat: $READS one-sided 8 KiB RDMA READs (client $crc, server $src, responder sent +$resp)"
	note <"$T/rl_cli"
	note <"$T/rl_srv"
fi
show_counters "$T/c4" "$T/c5"
crossed "ib_read_lat" "$T/c4" "$T/c5" $READS

uptime_note
# --- 5. the same as a non-root user (postgres runs as rbtest) ----------------
U=rbtest
if getent passwd $U >/dev/null; then
	as_user() {
		setpriv --reuid=$U --regid=$U --init-groups "$@"
	}
	as_user bash -c 'echo "# $(id), memlock $(ulimit -l)"'
	timeout 60 ibv_rc_pingpong -d "$DA" -g "$GA" -p 18517 -n 10 -s 4096 >"$T/u_srv" 2>&1 &
	srv=$!
	pids+=("$srv")
	wait_for 20 tcp_listening 18517
	timeout 60 setpriv --reuid=$U --regid=$U --init-groups \
		ibv_rc_pingpong -d "$DB" -g "$GB" -p 18517 -n 10 -s 4096 "$A" >"$T/u_cli" 2>&1
	crc=$?
	wait "$srv"
	src=$?
	while IFS= read -r l; do
		[[ $l =~ iters ]] && echo "# $U client: $l"
	done <"$T/u_cli"
	if [ $crc -eq 0 ] && [ $src -eq 0 ] && has_line "$T/u_cli" "^10 iters"; then
		ok "as $U: registers memory and runs RC traffic on $DB"
	else
		nok "as $U: ibv_rc_pingpong client (client $crc, server $src)"
		note <"$T/u_cli"
	fi
else
	echo "ok # SKIP no user $U in /etc/passwd"
fi

uptime_note
exit $fails
