#!/bin/bash
# bench/overhead.sh -- `make bench-overhead`: what remote_buffer costs when
# it cannot help.  The data fits in shared_buffers, so every read is a
# shared_buffers hit.  Two identical clusters run side by side:
#   off: shared_preload_libraries empty (plain PostgreSQL)
#   on:  remote_buffer preloaded, enabled, with a real local rbufd peer and a
#        leased remote tier (the prewarm reads fill it; bgwriter and
#        checkpoint writes go through the write-through path)
# and short pgbench runs alternate between them (off,on / on,off / ...), same
# seed, many pairs, so that the load of a shared machine hits both alike.
# Each cluster runs in its own cpuacct cgroup; besides TPS the script
# records the server CPU time per transaction, which other jobs on the
# machine disturb far less than throughput.
#
# Writes bench/results/overhead-<UTC>.json and .md.  Run as root.
# Environment: OVH_PAIRS (20), OVH_SECONDS (3) per run, OVH_CLIENTS (2),
# OVH_SCALE (10, ~160 MB), OVH_SHARED_BUFFERS (512MB), OVH_WORKLOADS
# ("select tpcb"), OVH_SEED (4242).

set -euo pipefail
cd "$(dirname "$0")/.."
BB_NAME=overhead
. bench/lib/common.sh

PAIRS=${OVH_PAIRS:-20}
SECS=${OVH_SECONDS:-3}
CLIENTS=${OVH_CLIENTS:-2}
SCALE=${OVH_SCALE:-10}
SB=${OVH_SHARED_BUFFERS:-512MB}
WORKLOADS=${OVH_WORKLOADS:-select tpcb}
SEED=${OVH_SEED:-4242}
TIER=256MB
CPUACCT=/sys/fs/cgroup/cpuacct

bb_setup
up=()
cleanup_all() {
	set +e
	for cfg in "${up[@]}"; do
		run_pg "$BB_BINDIR/pg_ctl" -D "$BB_WORK/data-$cfg" -m fast -w -t 120 stop >/dev/null 2>&1
	done
	bb_cleanup
	rmdir "$CPUACCT/rbb-ovh-off" "$CPUACCT/rbb-ovh-on" 2>/dev/null
}
trap cleanup_all EXIT
trap 'exit 130' INT TERM HUP

bb_install_extension
BB_PEERS=()
bb_rbufd_start 512M

use() {				# use off|on: point the bb_* helpers at that cluster
	BB_DATA=$BB_WORK/data-$1
	case $1 in off) BB_PORT=5432 ;; on) BB_PORT=5433 ;; esac
}
pgb() {
	"$BB_BINDIR/pgbench" -h "$BB_WORK" -p "$BB_PORT" -U postgres "$@"
}

common_conf=(
	"shared_buffers = $SB"
	"max_wal_size = 2GB"
	"checkpoint_timeout = 5min"
)
for cfg in off on; do
	use "$cfg"
	bb_initdb
	if [ "$cfg" = on ]; then
		bb_write_conf "${common_conf[@]}" \
			"shared_preload_libraries = 'remote_buffer'" \
			"remote_buffer.peers = '${BB_PEERS[0]}'" \
			"remote_buffer.size = '$TIER'" \
			"remote_buffer.max_size = '$TIER'" \
			"remote_buffer.lease_size = 64MB" \
			"remote_buffer.secret_file = '$BB_WORK/pg-secret'"
	else
		bb_write_conf "${common_conf[@]}"
	fi
	mkdir -p "$CPUACCT/rbb-ovh-$cfg"
	bb_pg_start bash -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CPUACCT/rbb-ovh-$cfg"
	bb_pg_up=
	up+=("$cfg")
	if [ "$cfg" = on ]; then
		bb_psql -c 'CREATE EXTENSION remote_buffer'
		bb_wait_leases
	fi
	bb_log "$cfg: pgbench -i -s $SCALE, prewarm"
	pgb -i -s "$SCALE" -q postgres >/dev/null 2>&1
	bb_psql -c 'VACUUM ANALYZE' -c 'CHECKPOINT'
	bb_prewarm
	pgb -S -c "$CLIENTS" -T 3 postgres >/dev/null 2>&1
done
data_mb=$(bb_psql -c "SELECT pg_database_size('postgres') / 1048576")
machine=$(bb_machine_json)
runs=$BB_WORK/runs.jsonl
: >"$runs"

measure() {			# measure PAIR CONFIG WORKLOAD
	local pair=$1 cfg=$2 w=$3 args res stats u0 u1
	use "$cfg"
	case $w in
		select) args=(-S) ;;
		tpcb) args=() ;;
		*) echo "overhead.sh: unknown workload $w" >&2; exit 2 ;;
	esac
	u0=$(cat "$CPUACCT/rbb-ovh-$cfg/cpuacct.usage")
	res=$(python3 bench/lib/pgbrun.py -- "$BB_BINDIR/pgbench" -h "$BB_WORK" -p "$BB_PORT" \
		-U postgres "${args[@]}" -c "$CLIENTS" -j "$CLIENTS" -T "$SECS" --random-seed "$SEED" postgres)
	u1=$(cat "$CPUACCT/rbb-ovh-$cfg/cpuacct.usage")
	stats=null
	if [ "$cfg" = on ]; then
		stats=$(bb_psql -c 'SELECT row_to_json(s) FROM remote_buffer_stats s')
	fi
	printf '{"pair":%s,"config":"%s","workload":"%s","loadavg":"%s","server_cpu_us":%s,"result":%s,"remote_buffer_stats":%s}\n' \
		"$pair" "$cfg" "$w" "$(cut -d' ' -f1-3 /proc/loadavg)" "$(((u1 - u0) / 1000))" \
		"$res" "$stats" >>"$runs"
}

for w in $WORKLOADS; do
	bb_log "$w: $PAIRS pairs of ${SECS}s runs, $CLIENTS clients"
	for p in $(seq 1 "$PAIRS"); do
		if [ $((p % 2)) = 1 ]; then
			measure "$p" off "$w"
			measure "$p" on "$w"
		else
			measure "$p" on "$w"
			measure "$p" off "$w"
		fi
	done
done

ts=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p bench/results
settings=$(printf '{"pairs":%s,"seconds":%s,"clients":%s,"threads":%s,"scale":%s,"data_mb":%s,"shared_buffers":"%s","workloads":"%s","seed":%s,"remote_tier":"%s, 1 local rbufd peer (--memory 512M, TCP loopback, auth on)","order":"two clusters side by side, runs alternating off,on / on,off","cpu":"server CPU time per transaction from each cluster'"'"'s cpuacct cgroup (postmaster and all its children; rbufd and pgbench not included)"}' \
	"$PAIRS" "$SECS" "$CLIENTS" "$CLIENTS" "$SCALE" "$data_mb" "$SB" "$WORKLOADS" "$SEED" "$TIER")
python3 bench/lib/overhead_report.py "$ts" "$machine" "$settings" "$runs" \
	"bench/results/overhead-$ts.json" "bench/results/overhead-$ts.md"
cat "bench/results/overhead-$ts.md"
