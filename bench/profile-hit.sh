#!/bin/bash
# bench/profile-hit.sh -- where the time of a remote hit goes.
#
# One cluster with a tiny shared_buffers (1 MB) over a pgbench table that
# lives entirely in the remote tier (1 local rbufd).  A single backend
# repeats a sequential scan of pgbench_accounts: PostgreSQL 15 reads every
# block synchronously through smgrread, so each block is one remote hit.
#   1. wall time per block with the tier (every read a remote hit) versus
#      the same scan with remote_buffer.enabled = off, the table in the OS
#      page cache (memory copy only): the difference is the remote hit's
#      cost inside the read wrapper;
#   2. the transport round trip alone: rbuf_bench, 1 client, 8 KiB reads,
#      against the same rbufd;
#   3. perf record (cpu-clock, call graphs) of the backend during the
#      remote-hit scans, summarised by symbol.
# Prints everything; writes bench/results/profile-hit-<UTC>.txt.  Run as
# root.  PROF_SCALE (5), PROF_SCANS (5) scans per measurement.

set -euo pipefail
cd "$(dirname "$0")/.."
BB_NAME=profile
. bench/lib/common.sh

SCALE=${PROF_SCALE:-5}
SCANS=${PROF_SCANS:-5}
RBUF_BENCH=${RBUF_BENCH:-build/bin/rbuf_bench}

bb_setup
trap bb_cleanup EXIT
trap 'exit 130' INT TERM HUP
bb_install_extension
BB_PEERS=()
bb_rbufd_start 512M
bb_initdb
bb_write_conf "shared_buffers = 1MB" "max_wal_size = 1GB" \
	"shared_preload_libraries = 'remote_buffer'" \
	"remote_buffer.peers = '${BB_PEERS[0]}'" "remote_buffer.size = 256MB" \
	"remote_buffer.max_size = 256MB" "remote_buffer.lease_size = 64MB" \
	"remote_buffer.secret_file = '$BB_WORK/pg-secret'" \
	"max_parallel_workers_per_gather = 0" "synchronize_seqscans = off" \
	"enable_indexscan = off" "enable_indexonlyscan = off" "enable_bitmapscan = off"
bb_pg_start
bb_psql -c 'CREATE EXTENSION remote_buffer'
bb_wait_leases
"$BB_BINDIR/pgbench" -h "$BB_WORK" -p "$BB_PORT" -U postgres -i -s "$SCALE" -q postgres >/dev/null 2>&1
bb_psql -c 'VACUUM ANALYZE pgbench_accounts' -c CHECKPOINT
bb_prewarm
blocks=$(bb_psql -c "SELECT pg_relation_size('pgbench_accounts') / 8192")
out=bench/results/profile-hit-$(date -u +%Y%m%dT%H%M%SZ).txt
mkdir -p bench/results

# scan_us ENABLED: microseconds per block for SCANS scans in one session
scan_us() {
	local pid f
	f=$BB_WORK/scan.sql
	{
		echo "SET remote_buffer.enabled = $1;"
		echo "SELECT count(*) FROM pgbench_accounts;"	# warm this session
		echo "SELECT remote_buffer_reset_stats();"
		echo "SELECT clock_timestamp() AS t0 \\gset"
		for _ in $(seq 1 "$SCANS"); do
			echo "SELECT count(*) FROM pgbench_accounts;"
		done
		echo "SELECT round(extract(epoch FROM clock_timestamp() - :'t0') * 1e6 / ($SCANS * $blocks), 2) AS us_per_block, (SELECT hits FROM remote_buffer_stats) AS hits;"
	} >"$f"
	bb_psql -f "$f" | tail -1
}

{
	echo "# remote hit profile $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)"
	echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "table: $blocks blocks; shared_buffers 1MB; $SCANS scans per measurement"
	for i in 1 2 3; do
		echo "round $i: remote hits: us/block|hits = $(scan_us on)"
		echo "round $i: tier off (OS page cache): us/block|hits = $(scan_us off)"
	done
	echo
	echo "transport alone (rbuf_bench, 1 client, 8 KiB READ, 5 s):"
	"$RBUF_BENCH" --host 127.0.0.1 --port "${BB_PEERS[0]##*:}" \
		--secret-file "$BB_WORK/secret" --threads 1 --seconds 5 --mode read \
		--page-size 8192 --lease-mb 32
	echo
	echo "extension view after a remote-hit scan:"
	bb_psql -c "SELECT remote_buffer_reset_stats()" -c "SELECT count(*) FROM pgbench_accounts" \
		-c "SELECT hits, misses, remote_read_p50_us, remote_read_p99_us FROM remote_buffer_stats" | tail -1
	echo "peers: $(bb_psql -c 'SELECT peer, rtt_us FROM remote_buffer_peers')"
} | tee "$out"

set +o pipefail		# head closes the pipes below early
if command -v perf >/dev/null; then
	f=$BB_WORK/loop.sql
	{
		echo "SELECT pg_backend_pid();"
		for _ in $(seq 1 30); do echo "SELECT count(*) FROM pgbench_accounts;"; done
	} >"$f"
	bb_psql -f "$f" >"$BB_WORK/loop.out" &
	lpid=$!
	for _ in $(seq 1 100); do
		[ -s "$BB_WORK/loop.out" ] && break
		sleep 0.1
	done
	pid=$(head -1 "$BB_WORK/loop.out")
	perf record -q -e cpu-clock -F 4000 -g -p "$pid" -o "$BB_WORK/perf.data" -- sleep 8 >/dev/null 2>&1 || true
	wait "$lpid" 2>/dev/null || true
	{
		echo
		echo "perf (cpu-clock samples of the scanning backend; self time by symbol):"
		perf report -i "$BB_WORK/perf.data" --stdio --no-children --sort dso,sym 2>/dev/null |
			grep -v '^#' | grep '%' | head -45
		echo
		echo "perf (with children: time under each function):"
		perf report -i "$BB_WORK/perf.data" --stdio --children --sort sym -g none 2>/dev/null |
			grep -v '^#' | grep -E 'rb_|mdread|smgrread|ppoll|sendmsg|recvmsg|crc|pgstat|clock_gettime|ReadBuffer|schedule|ExecScan|heapgetpage' | head -40
	} | tee -a "$out"
fi
echo "written: $out"
