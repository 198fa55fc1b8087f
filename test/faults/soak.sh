#!/usr/bin/env bash
# test/faults/soak.sh -- pgbench for a long time with faults injected at
# random (seeded) intervals; `make soak`.  Not part of `make test`.
#
#   SOAK_SECONDS=1800   how long pgbench runs in total
#   SOAK_SEED=<n>       the fault schedule's seed (default: random, printed)
#   SOAK_ROUND=120      pgbench runs in rounds of this many seconds; the
#                       checks below run between rounds
#
# Topology and faults: test/faults/lib.sh (two rbufd peers in their own
# network namespaces).  One fault at a time, chosen at random from
#
#   link-down   the peer's end of the link down for 1-6 s
#   flap        the link down and up 3-8 times, 0.1-0.4 s each
#   stall       the peer SIGSTOPped for 1-6 s
#   stutter     the peer stopped and resumed for 3-8 s (stops of 50-350 ms):
#               a slow peer whose replies straddle io_timeout
#   kill        the peer SIGKILLed, restarted empty 0-3 s later
#   both        both peers killed, restarted empty 1-3 s later
#   expiry      the lease manager SIGSTOPped for lease_ttl + 1-4 s
#   corrupt     one peer restarted with --test-corrupt-reads (10-100 per
#               mille) and the other restarted so that every segment moves
#               to it; 5-20 s later it is restarted clean
#
# with 2-10 s between faults.  After every round: pgbench exit 0 with zero
# failed transactions (--verbose-errors), the TPC-B invariant, and table
# checksums with the tier on equal to the same with it off.  At the end:
# amcheck and checksums against a storage reference after a restart.
#
# Report (last lines): failed queries, stale reads detected (invariant,
# checksum and amcheck mismatches), verify failures against the damaged
# pages the peers sent, remote hits; exit status 0 only if all is clean.
set -uo pipefail

cd "$(dirname "$0")/../.."
. test/faults/lib.sh

SOAK_SECONDS=${SOAK_SECONDS:-1800}
SOAK_ROUND=${SOAK_ROUND:-120}
SOAK_SEED=${SOAK_SEED:-$((RANDOM * 32768 + RANDOM))}
HANG_MS=${SOAK_HANG_MS:-30000}	# a transaction slower than this is a hang

if ! fl_netns_available; then
	echo "soak: needs root and network namespaces (ip netns)" >&2
	exit 2
fi

make --no-print-directory -s build/bin/rbufd >/dev/null || exit 1
make --no-print-directory -s -f mk/extension.mk install >/dev/null || exit 1

say() { echo "soak: $*"; }

fl_init soak || exit 1
for i in 1 2; do fl_peer_start "$i" || exit 1; done
fl_pg_init && fl_pg_start || exit 1
fl_q "CREATE EXTENSION remote_buffer" >/dev/null || exit 1
fl_wait_leases 60 || exit 1
fl_as timeout 300 pgbench -i -s "$FL_SCALE" -q postgres >"$FL_W/pgbench-init.out" 2>&1 || {
	say "pgbench -i failed"
	exit 1
}
say "seed $SOAK_SEED, $SOAK_SECONDS s in rounds of $SOAK_ROUND s; peers $(fl_peers_conf)"
RANDOM=$SOAK_SEED

rnd() { echo $(($1 + RANDOM % ($2 - $1 + 1))); }		# integer in [a, b]
nap_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }

FAILED_TX=0
FAILED_ROUNDS=0
INV_BAD=0
SUM_BAD=0
AMCHECK_BAD=0
HANGS=0
MAXLAT=0
ROUNDS=0
LOG_PROBLEMS=0
declare -A NFAULT

pgbench_alive() { [ -n "$FL_PGB_PID" ] && kill -0 "$FL_PGB_PID" 2>/dev/null; }

# sleep up to $1 ms, but return early once pgbench has finished
nap_while_running() {
	local left=$1
	while [ "$left" -gt 0 ] && pgbench_alive; do
		nap_ms $((left < 250 ? left : 250))
		left=$((left - 250))
	done
}

inject_one() {
	local kinds=(link-down flap stall stutter kill both expiry corrupt)
	local f=${kinds[$((RANDOM % ${#kinds[@]}))]}
	local i=$(rnd 1 2) j n ms end
	j=$((3 - i))
	NFAULT[$f]=$(( ${NFAULT[$f]:-0} + 1 ))
	case $f in
		link-down)
			ms=$(rnd 1000 6000)
			fl_log "fault: link-down peer $i for $ms ms"
			fl_link_down "$i"
			nap_ms "$ms"
			fl_link_up "$i"
			;;
		flap)
			n=$(rnd 3 8)
			fl_log "fault: link of peer $i flaps $n times"
			while [ "$n" -gt 0 ]; do
				fl_link_down "$i"
				nap_ms "$(rnd 100 400)"
				fl_link_up "$i"
				nap_ms "$(rnd 100 400)"
				n=$((n - 1))
			done
			;;
		stall)
			ms=$(rnd 1000 6000)
			fl_log "fault: peer $i stopped for $ms ms"
			fl_peer_stop "$i"
			nap_ms "$ms"
			fl_peer_cont "$i"
			;;
		stutter)
			end=$((SECONDS + $(rnd 3 8)))
			fl_log "fault: peer $i stutters until +$((end - SECONDS)) s"
			while [ $SECONDS -lt $end ]; do
				fl_peer_stop "$i"
				nap_ms "$(rnd 50 350)"
				fl_peer_cont "$i"
				nap_ms "$(rnd 20 200)"
			done
			;;
		kill)
			ms=$(rnd 0 3000)
			fl_log "fault: peer $i killed, restarted empty after $ms ms"
			fl_peer_kill "$i"
			nap_ms "$ms"
			fl_peer_start "$i" >/dev/null
			;;
		both)
			ms=$(rnd 1000 3000)
			fl_log "fault: both peers killed, restarted empty after $ms ms"
			fl_peer_kill 1
			fl_peer_kill 2
			nap_ms "$ms"
			fl_peer_start 1 >/dev/null
			fl_peer_start 2 >/dev/null
			;;
		expiry)
			ms=$((FL_LEASE_TTL_MS + $(rnd 1000 4000)))
			fl_log "fault: lease manager stopped for $ms ms (leases expire)"
			fl_worker_stop
			nap_ms "$ms"
			fl_worker_cont
			;;
		corrupt)
			n=$(rnd 10 100)
			ms=$(rnd 5000 20000)
			fl_log "fault: peer $i damages $n per mille of its pages for $ms ms"
			fl_peer_term "$i"
			fl_peer_start "$i" --test-corrupt-reads="$n" >/dev/null
			nap_ms 1500
			fl_peer_term "$j"
			fl_peer_start "$j" >/dev/null
			nap_ms "$ms"
			fl_peer_term "$i"
			fl_peer_start "$i" >/dev/null
			;;
	esac
}

T0=$SECONDS
while [ $((SECONDS - T0)) -lt "$SOAK_SECONDS" ]; do
	ROUNDS=$((ROUNDS + 1))
	secs=$((SOAK_SECONDS - (SECONDS - T0)))
	[ "$secs" -gt "$SOAK_ROUND" ] && secs=$SOAK_ROUND
	[ "$secs" -lt 5 ] && secs=5
	logpos=$(fl_log_size)
	fl_pgbench_start "round$ROUNDS" "$secs" $((SOAK_SEED + ROUNDS))
	while pgbench_alive; do
		nap_while_running "$(rnd 2000 10000)"
		# no new fault in the last 8 s of a round: it must be over (and
		# undone) before pgbench ends
		pgbench_alive && [ $((SECONDS - T0)) -lt $((SOAK_SECONDS - 8)) ] &&
			inject_one
	done
	if ! fl_pgbench_wait "round$ROUNDS"; then
		FAILED_ROUNDS=$((FAILED_ROUNDS + 1))
		[ "$PGB_FAILED" -gt 0 ] && FAILED_TX=$((FAILED_TX + PGB_FAILED))
		[ "$PGB_FAILED" -le 0 ] && FAILED_TX=$((FAILED_TX + 1))
	fi
	[ "$PGB_MAXLAT_MS" -gt "$MAXLAT" ] && MAXLAT=$PGB_MAXLAT_MS
	[ "$PGB_MAXLAT_MS" -gt "$HANG_MS" ] && HANGS=$((HANGS + 1))
	fl_invariant || INV_BAD=$((INV_BAD + 1))
	on=$(fl_checksums on)
	off=$(fl_checksums off)
	if [ -z "$on" ] || [ "$on" != "$off" ]; then
		SUM_BAD=$((SUM_BAD + 1))
		fl_log "round $ROUNDS: checksums differ: on [$on] off [$off]"
	fi
	probs=$(fl_log_problems "$logpos")
	if [ -n "$probs" ]; then
		LOG_PROBLEMS=$((LOG_PROBLEMS + $(echo "$probs" | wc -l)))
		echo "$probs" | sed 's/^/#   /'
	fi
	say "round $ROUNDS: tx=$PGB_TX failed=$PGB_FAILED max_latency=${PGB_MAXLAT_MS}ms $FL_INV; $(fl_q "SELECT 'hits=' || hits || ' verify_failures=' || verify_failures || ' timeouts=' || timeouts || ' fallbacks=' || fallbacks FROM remote_buffer_stats")"
done

# the end: wait for a healthy tier, amcheck, storage reference
fl_wait_leases 60 >/dev/null
fl_amcheck || AMCHECK_BAD=1
on=$(fl_checksums on)
read -r HITS MISSES VERIFY TIMEOUTS FALLBACKS <<<"$(fl_q "SELECT hits || ' ' || misses || ' ' || verify_failures || ' ' || timeouts || ' ' || fallbacks FROM remote_buffer_stats")"
CORRUPTED=$(( $(fl_corrupted 1) + $(fl_corrupted 2) ))
fl_pg_restart && fl_wait_leases 60 >/dev/null
ref=$(fl_checksums off)
if [ -z "$ref" ] || [ "$on" != "$ref" ]; then
	SUM_BAD=$((SUM_BAD + 1))
	fl_log "final checksums differ from the storage reference: on [$on] ref [$ref]"
fi
UNEXPLAINED=$((VERIFY > CORRUPTED ? VERIFY - CORRUPTED : 0))
STALE=$((INV_BAD + SUM_BAD + AMCHECK_BAD))

faults=
for k in "${!NFAULT[@]}"; do faults="$faults $k=${NFAULT[$k]}"; done
say "---- report (seed $SOAK_SEED)"
say "duration: $((SECONDS - T0)) s, $ROUNDS rounds, $FL_TX_TOTAL transactions committed"
say "faults injected:${faults:- none}"
say "failed queries: $FAILED_TX (rounds with a pgbench failure: $FAILED_ROUNDS)"
say "stale reads detected: $STALE (invariant mismatches $INV_BAD, checksum mismatches $SUM_BAD, amcheck ${FL_AMCHECK})"
say "verify failures: $VERIFY (damaged pages sent by the peers: $CORRUPTED; unexplained: $UNEXPLAINED)"
say "remote hits: $HITS, misses: $MISSES, timeouts: $TIMEOUTS, fallbacks: $FALLBACKS"
say "max transaction latency: $MAXLAT ms (hangs over $HANG_MS ms: $HANGS); server log problems: $LOG_PROBLEMS"
if [ $((FAILED_TX + STALE + UNEXPLAINED + HANGS + LOG_PROBLEMS)) -eq 0 ] && [ "$HITS" -gt 0 ]; then
	say "PASS"
	exit 0
fi
say "FAIL (logs: build/faults/soak/)"
exit 1
