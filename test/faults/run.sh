#!/usr/bin/env bash
# test/faults/run.sh -- fault injection with real network faults (TAP).
#
# Two rbufd peers, each in its own network namespace behind a veth pair; a
# PostgreSQL cluster (2MB shared_buffers, a 64MB remote tier, io_timeout
# 200ms, lease_ttl 2s) running TPC-B-like pgbench while one fault happens:
#
#   a  link-down   the peer's end of the link goes down, then up again
#   b  stall       the peer is SIGSTOPped (stalled, not dead), then resumed
#   c  kill        the peer is SIGKILLed and restarted empty
#   d  expiry      the lease manager is SIGSTOPped until every lease expired
#   e  corrupt     a peer flips a bit in 5% of the pages it sends
#
# After each: pgbench exit 0 with zero failed transactions and no error
# message (--verbose-errors), the TPC-B invariant (balances = history,
# one history row per committed transaction), table checksums with the tier
# equal to a storage reference taken after a restart with the tier off,
# amcheck clean, a clean server log, and the fault-specific assertions.
# See docs/faults.md.  Root only (namespaces); skips if netns is unavailable.
#
#   test/faults/run.sh [SCENARIO...]     e.g. test/faults/run.sh stall corrupt
#
# Logs of the last run: build/faults/run/.
set -uo pipefail

cd "$(dirname "$0")/../.."
. test/lib/rbufd.sh
. test/faults/lib.sh

if ! fl_netns_available; then
	echo "1..0 # SKIP network namespaces unavailable (needs root and ip netns)"
	exit 0
fi

SCENARIOS=${*:-"link-down stall kill expiry corrupt"}
SEED=${FL_SEED:-4242}
T_START=$SECONDS

# build rbufd and install the extension from this tree
make --no-print-directory -s build/bin/rbufd >/dev/null || { echo "1..0 # SKIP build failed"; exit 1; }
make --no-print-directory -s -f mk/extension.mk install >/dev/null || exit 1

fl_init run || { echo "not ok 1 - network setup"; echo "1..1"; exit 1; }
fl_log "namespaces ${FL_NS[*]}, peers $(fl_peers_conf)"

ok_all=0
for i in $(seq 1 "$FL_NPEERS"); do
	fl_peer_start "$i" || ok_all=1
done
tap_ok $ok_all "two rbufd peers started in their own network namespaces"
fl_pg_init && fl_pg_start
tap_ok $? "cluster started (shared_buffers 2MB, tier 64MB on 2 peers)"
fl_q "CREATE EXTENSION remote_buffer" >/dev/null
fl_wait_leases 60
tap_ok $? "all $FL_SEGMENTS leases active"
fl_as timeout 300 pgbench -i -s "$FL_SCALE" -q postgres >"$FL_W/pgbench-init.out" 2>&1
tap_ok $? "pgbench -i -s $FL_SCALE"

# ---------------------------------------------------------------- helpers

SC=				# current scenario
LOGPOS=0

sc_begin() {
	SC=$1
	fl_log "---- scenario $SC"
	fl_wait_leases 60 >/dev/null
	fl_checksums on >/dev/null		# fill the tier
	fl_q "SELECT remote_buffer_reset_stats()" >/dev/null
	LOGPOS=$(fl_log_size)
}

# a figure from remote_buffer_stats
st() { fl_stat "$1"; }

stats_line() {
	fl_q "SELECT 'hits=' || hits || ' misses=' || misses || ' admissions=' || admissions ||
		' verify_failures=' || verify_failures || ' timeouts=' || timeouts ||
		' fallbacks=' || fallbacks || ' remote_read_p99_us=' || remote_read_p99_us
		FROM remote_buffer_stats"
}

# the hits and hit ratio of one full read of every table with the tier on
read_pass() {
	local h0 m0 h1 m1
	h0=$(st hits)
	m0=$(st misses)
	PASS_SUMS=$(fl_checksums on)
	h1=$(st hits)
	m1=$(st misses)
	PASS_HITS=$((h1 - h0))
	PASS_READS=$((h1 - h0 + m1 - m0))
}

# the checks every scenario ends with
sc_end() {
	local on1 on2 ref probs
	fl_pgbench_wait "$SC"
	tap_ok $? "$SC: pgbench exit 0, failed transactions 0, no error (tx=$PGB_TX, max latency ${PGB_MAXLAT_MS} ms)"
	fl_log "$SC: stats after pgbench: $(stats_line)"
	fl_invariant
	tap_ok $? "$SC: TPC-B invariant holds ($FL_INV)"
	fl_amcheck
	tap_ok $? "$SC: amcheck clean ($FL_AMCHECK)"
	read_pass
	on1=$PASS_SUMS
	read_pass
	on2=$PASS_SUMS
	tap_ok $(( PASS_READS > 0 && PASS_HITS * 2 > PASS_READS ? 0 : 1 )) \
		"$SC: hits resume after the fault ($PASS_HITS of $PASS_READS reads of a full pass served by the tier)"
	FINAL_STATS=$(stats_line)
	probs=$(fl_log_problems "$LOGPOS")
	[ -z "$probs" ]
	tap_ok $? "$SC: no error, crash or PANIC in the server log"
	[ -n "$probs" ] && echo "$probs" | sed 's/^/#   /'
	fl_pg_restart && fl_wait_leases 60 >/dev/null
	ref=$(fl_checksums off)
	[ -n "$ref" ] && [ "$on1" = "$ref" ] && [ "$on2" = "$ref" ]
	tap_ok $? "$SC: table checksums with the tier equal the storage reference after a restart"
	[ "$on1" = "$ref" ] || fl_log "on:  $on1" "ref: $ref"
	[ "$on2" = "$ref" ] || fl_log "on2: $on2" "ref: $ref"
	fl_log "$SC: final stats: $FINAL_STATS"
}

peer_col() {
	fl_q "SELECT $2 FROM remote_buffer_peers WHERE peer = '${FL_PEER_ADDR[$1]}:$FL_PORT'"
}

# ---------------------------------------------------------------- a: link down

sc_link_down() {
	local d0 d1
	sc_begin link-down
	d0=$(peer_col 1 disconnects)
	fl_pgbench_start "$SC" 16 $((SEED + 1))
	sleep 4
	fl_link_down 1
	sleep 5
	fl_q "SELECT state FROM remote_buffer_peers WHERE peer = '${FL_PEER_ADDR[1]}:$FL_PORT'" |
		grep -qv connected
	tap_ok $? "link-down: peer 1 no longer connected while its link is down"
	fl_wait_sql 10 "SELECT count(*) FROM remote_buffer_leases WHERE state = 'active' AND peer = '${FL_PEER_ADDR[2]}:$FL_PORT'" "$FL_SEGMENTS"
	tap_ok $? "link-down: all segments moved to peer 2"
	fl_link_up 1
	fl_wait_sql 30 "SELECT state FROM remote_buffer_peers WHERE peer = '${FL_PEER_ADDR[1]}:$FL_PORT'" connected
	tap_ok $? "link-down: peer 1 connected again after the link came back"
	d1=$(peer_col 1 disconnects)
	tap_ok $(( d1 > d0 ? 0 : 1 )) "link-down: the loss was noticed (peer 1 disconnects $d0 -> $d1; $(stats_line))"
	sc_end
}

# ---------------------------------------------------------------- b: stall

sc_stall() {
	local t0 t1 ms ref_ms bound to fb
	sc_begin stall
	fl_pgbench_start "$SC" 16 $((SEED + 2))
	sleep 2
	# the probe query under the same load with every peer healthy
	t0=$(date +%s%N)
	fl_q "SELECT sum(abalance) FROM pgbench_accounts" >/dev/null
	ref_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	sleep 1
	fl_peer_stop 1
	sleep 0.5
	# the same full scan while the peer is stalled: half its pages sit on
	# peer 1
	t0=$(date +%s%N)
	fl_q "SELECT sum(abalance) FROM pgbench_accounts" >/dev/null
	t1=$?
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	fl_log "stall: probe scan $ref_ms ms healthy, $ms ms stalled; $(stats_line)"
	sleep 4
	fl_peer_cont 1
	# Bound: the healthy time x 2 + 10 io_timeouts
	bound=$(( ref_ms * 2 + 10 * FL_IO_TIMEOUT_MS ))
	tap_ok $(( t1 == 0 && ms <= bound ? 0 : 1 )) \
		"stall: a full scan during the stall took $ms ms (healthy $ref_ms ms, bound $bound ms)"
	fl_wait_sql 30 "SELECT state FROM remote_buffer_peers WHERE peer = '${FL_PEER_ADDR[1]}:$FL_PORT'" connected
	tap_ok $? "stall: peer 1 connected again after SIGCONT"
	to=$(st timeouts)
	fb=$(st fallbacks)
	tap_ok $(( to > 0 && fb > 0 ? 0 : 1 )) "stall: the stall was felt as timeouts ($to) and fallbacks ($fb)"
	sc_end
	bound=$(( 10 * FL_IO_TIMEOUT_MS + 1000 ))
	tap_ok $(( PGB_MAXLAT_MS <= bound ? 0 : 1 )) \
		"stall: no transaction took longer than $bound ms (max $PGB_MAXLAT_MS ms)"
}

# ---------------------------------------------------------------- c: kill

sc_kill() {
	local d0 d1 ids0 ids1
	sc_begin kill
	d0=$(peer_col 1 disconnects)
	fl_pgbench_start "$SC" 14 $((SEED + 3))
	sleep 4
	fl_peer_kill 1
	sleep 2
	fl_peer_start 1
	tap_ok $? "kill: peer 1 killed with SIGKILL and restarted empty"
	fl_wait_sql 30 "SELECT state FROM remote_buffer_peers WHERE peer = '${FL_PEER_ADDR[1]}:$FL_PORT'" connected
	tap_ok $? "kill: peer 1 connected again"
	d1=$(peer_col 1 disconnects)
	tap_ok $(( d1 > d0 ? 0 : 1 )) "kill: the loss was noticed (peer 1 disconnects $d0 -> $d1)"
	sc_end
}

# ---------------------------------------------------------------- d: expiry

sc_expiry() {
	local ids0 ids1 h0 h1 f0 f1 e1 lost id n
	sc_begin expiry
	fl_pgbench_start "$SC" 16 $((SEED + 4))
	sleep 3
	fl_worker_stop
	tap_ok $? "expiry: lease manager stopped (pid $FL_WORKER_STOPPED): no renewals"
	# the leases holding our pages now; nothing changes them until SIGCONT
	ids0=$(fl_q "SELECT string_agg(lease_id, ' ' ORDER BY lease_id) FROM remote_buffer_leases WHERE state = 'active'")
	fl_log "expiry: leases at the stop: $ids0"
	# every lease is past its TTL once TTL plus the renewal slack passed
	sleep $(( (FL_LEASE_TTL_MS + 1500) / 1000 ))
	# the peers' logs: which of the leases that held our pages expired
	e1=0
	for id in $ids0; do
		cat "$FL_W/log/peer1.log" "$FL_W/log/peer2.log" | grep -q "lease $id of owner .* expired; " &&
			e1=$((e1 + 1))
	done
	h0=$(st hits)
	f0=$(st fallbacks)
	n=$(fl_q "SELECT count(*) FROM remote_buffer_leases WHERE state = 'active' AND expires_at < now()")
	tap_ok $(( n == FL_SEGMENTS ? 0 : 1 )) "expiry: the leases view shows all $FL_SEGMENTS leases past their expires_at ($n)"
	sleep 4
	h1=$(st hits)
	f1=$(st fallbacks)
	# all leases of ours expired on the peers while pages were cached:
	# nothing may be served from them, every access must fall back
	tap_ok $(( e1 == FL_SEGMENTS ? 0 : 1 )) "expiry: the peers expired all $FL_SEGMENTS leases that held our pages ($e1 expired)"
	tap_ok $(( h1 == h0 && f1 > f0 ? 0 : 1 )) \
		"expiry: no page served from expired leases (hits $h0 -> $h1, fallbacks $f0 -> $f1)"
	fl_worker_cont
	fl_wait_leases 30
	tap_ok $? "expiry: all $FL_SEGMENTS segments have leases again after the lease manager resumed"
	ids1=$(fl_q "SELECT string_agg(lease_id, ' ' ORDER BY lease_id) FROM remote_buffer_leases WHERE state = 'active'")
	lost=0
	for id in $ids1; do
		case " $ids0 " in *" $id "*) lost=1 ;; esac
	done
	tap_ok $lost "expiry: every lease is a fresh one (no old lease id kept)" 
	fl_server_log | tail -c +"$((LOGPOS + 1))" | grep -q 'expired before it could be renewed'
	tap_ok $? "expiry: the lease manager logged the expiry"
	sc_end
	local vf
	vf=$(echo "$FINAL_STATS" | sed -n 's/.*verify_failures=\([0-9]*\).*/\1/p')
	tap_ok $(( vf == 0 ? 0 : 1 )) "expiry: no verify failure (no page of another lease or zeroed memory came back)"
}

# ---------------------------------------------------------------- e: corrupt

sc_corrupt() {
	local c0 c1 v0 v1 t0 t1 vf
	# peer 1 comes back damaging 5% of the pages it sends; then peer 2
	# restarts, so that every segment moves to peer 1 (there is no
	# rebalancing: without this peer 1 would hold nothing)
	fl_peer_term 1
	fl_peer_start 1 --test-corrupt-reads=50
	tap_ok $? "corrupt: peer 1 restarted with --test-corrupt-reads=50"
	fl_wait_sql 30 "SELECT state FROM remote_buffer_peers WHERE peer = '${FL_PEER_ADDR[1]}:$FL_PORT'" connected >/dev/null
	fl_peer_term 2
	fl_wait_sql 30 "SELECT count(*) FROM remote_buffer_leases WHERE state = 'active' AND peer = '${FL_PEER_ADDR[1]}:$FL_PORT'" "$FL_SEGMENTS"
	tap_ok $? "corrupt: all segments on the damaging peer"
	fl_peer_start 2
	sc_begin corrupt
	# Read-only phase: nothing invalidates a page while it is read, so every
	# damaged page that reaches a backend must be a verify failure; only a
	# reply abandoned by a timeout escapes the count.
	fl_q "VACUUM" >/dev/null
	fl_q "CHECKPOINT" >/dev/null
	# (counters first, then the log: a damaged page read by the psql that
	# reads the counters is then in both or in neither)
	v0=$(st verify_failures)
	t0=$(st timeouts)
	c0=$(fl_corrupted 1)
	fl_pgbench_start corrupt-ro 8 $((SEED + 5)) -S
	fl_pgbench_wait corrupt-ro ro
	tap_ok $? "corrupt: read-only pgbench clean (tx=$PGB_TX)"
	v1=$(st verify_failures)
	t1=$(st timeouts)
	c1=$(fl_corrupted 1)
	tap_ok $(( c1 - c0 > 0 && v1 - v0 <= c1 - c0 && v1 - v0 >= c1 - c0 - (t1 - t0) ? 0 : 1 )) \
		"corrupt: every damaged page caught: $((v1 - v0)) verify failures for $((c1 - c0)) damaged pages sent ($((t1 - t0)) timeouts)"
	# the read-write workload with the damage going on
	c0=$(fl_corrupted 1)
	fl_pgbench_start "$SC" 12 $((SEED + 6))
	sc_end
	c1=$(fl_corrupted 1)
	vf=$(echo "$FINAL_STATS" | sed -n 's/.*verify_failures=\([0-9]*\).*/\1/p')
	tap_ok $(( vf - v1 > 0 && vf - v1 <= c1 - c0 ? 0 : 1 )) \
		"corrupt: verify failures under TPC-B and the checks after it: $((vf - v1)), at most the $((c1 - c0)) damaged pages sent"
	fl_peer_term 1
	fl_peer_start 1
}

for s in $SCENARIOS; do
	case $s in
		link-down) sc_link_down ;;
		stall) sc_stall ;;
		kill) sc_kill ;;
		expiry) sc_expiry ;;
		corrupt) sc_corrupt ;;
		*) tap_ok 1 "unknown scenario $s" ;;
	esac
done

fl_log "total $((SECONDS - T_START)) s; logs in build/faults/run/"
tap_done
