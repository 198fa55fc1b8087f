#!/bin/bash
# bench/lab.sh -- `make bench`: the Postgres-level benchmark lab.
#
# Model (printed in every report, see bench/README.md):
#   * local memory budget: the Postgres server runs in a cgroup v1 memory
#     group limited to LAB_MEM_LIMIT (shared_buffers + process memory + a
#     small page cache); the pgbench data set is >= 4x that budget, so it
#     cannot hide in the OS page cache;
#   * storage: the same group's blkio IOPS throttle on the data disk, per
#     storage model: gp3 (LAB_GP3_IOPS read and write IOPS, default 3000, the
#     AWS gp3 baseline) and nvme (no throttle: the virtual disk as it is);
#   * peers: rbufd processes outside the group, as other hosts would be,
#     over TCP loopback.
# Configurations, per storage model, all with the same pgbench seed:
#   a  storage only: remote_buffer.enabled = off in the pgbench sessions
#   b1 remote tier on, 1 peer;  b2 remote tier on, 2 peers
#   c  upper bound: shared_buffers holds everything, no memory limit
# a and b alternate cell by cell (a,b / b,a / ...) in the same running
# server; c needs its own server.  Workloads: select (-S), tpcb (default
# script), zipf1001 and zipf12 (random_zipfian reads, skew 1.001 and 1.2);
# client counts LAB_CLIENTS.
#
# Writes bench/results/lab-<UTC>.json, .md and .png.  Run as root.
# Environment (defaults finish in about 13 minutes here):
#   LAB_SECONDS (5) per measurement, LAB_ROUNDS (1) repetitions of every
#   a/b pair, LAB_CLIENTS ("1 4 16"), LAB_WORKLOADS
#   ("select tpcb zipf1001 zipf12"), LAB_MODELS ("gp3 nvme"),
#   LAB_GP3_IOPS (3000), LAB_SCALE (45), LAB_SHARED_BUFFERS (32MB),
#   LAB_MEM_LIMIT (160M), LAB_BIG_SHARED_BUFFERS (1536MB), LAB_TIER (1GB),
#   LAB_SEED (4242), LAB_NVME_WORKLOADS (workloads for the nvme model,
#   default "select zipf1001").

set -euo pipefail
cd "$(dirname "$0")/.."
BB_NAME=lab
. bench/lib/common.sh
. bench/lib/cgroup.sh

SECS=${LAB_SECONDS:-5}
ROUNDS=${LAB_ROUNDS:-1}
CLIENTS=${LAB_CLIENTS:-1 4 16}
WORKLOADS=${LAB_WORKLOADS:-select tpcb zipf1001 zipf12}
NVME_WORKLOADS=${LAB_NVME_WORKLOADS:-select zipf1001}
MODELS=${LAB_MODELS:-gp3 nvme}
GP3_IOPS=${LAB_GP3_IOPS:-3000}
SCALE=${LAB_SCALE:-45}
SB=${LAB_SHARED_BUFFERS:-32MB}
MEM_LIMIT=${LAB_MEM_LIMIT:-160M}
BIG_SB=${LAB_BIG_SHARED_BUFFERS:-1536MB}
TIER=${LAB_TIER:-1GB}
SEED=${LAB_SEED:-4242}

bb_setup
cleanup_all() {
	bb_cleanup
	cg_cleanup
}
trap cleanup_all EXIT
trap 'exit 130' INT TERM HUP
cg_setup "$BB_WORK"
bb_log "data disk $CG_DISK_NAME ($CG_DEV), work directory $BB_WORK"

bb_install_extension
BB_PEERS=()
bb_rbufd_start 1200M
bb_rbufd_start 1200M
bb_initdb
machine=$(bb_machine_json)

common_conf=(
	"max_wal_size = 4GB"
	"checkpoint_timeout = 30min"
	"shared_preload_libraries = 'remote_buffer'"
	"remote_buffer.max_size = '$TIER'"
	"remote_buffer.lease_size = 64MB"
	"remote_buffer.secret_file = '$BB_WORK/pg-secret'"
)
conf_small() {			# conf_small PEERS SIZE
	bb_write_conf "${common_conf[@]}" "shared_buffers = $SB" \
		"remote_buffer.peers = '$1'" "remote_buffer.size = '$2'"
}
conf_big() {
	bb_write_conf "${common_conf[@]}" "shared_buffers = $BIG_SB" \
		"remote_buffer.peers = ''" "remote_buffer.size = 0"
}

# Initialise inside the group with no limits (the server's writes are
# charged to it), then drop every cache.
cg_set_mem -1
cg_set_iops 0
conf_small "" 0
bb_pg_start cg_exec
bb_log "initialising pgbench scale $SCALE"
bb_psql -c 'CREATE EXTENSION remote_buffer'
"$BB_BINDIR/pgbench" -h "$BB_WORK" -p "$BB_PORT" -U postgres -i -s "$SCALE" -q postgres >/dev/null 2>&1
bb_psql -c 'VACUUM ANALYZE' -c 'CHECKPOINT'
data_mb=$(bb_psql -c "SELECT pg_database_size('postgres') / 1048576")
bb_pg_stop
bb_log "data set: $data_mb MB"

cat >"$BB_WORK/zipf1001.sql" <<'EOF'
\set aid random_zipfian(1, :naccounts, 1.001)
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
EOF
sed 's/1\.001)/1.2)/' "$BB_WORK/zipf1001.sql" >"$BB_WORK/zipf12.sql"
chmod 644 "$BB_WORK"/*.sql

runs=$BB_WORK/runs.jsonl
phases=$BB_WORK/phases.jsonl
: >"$runs"
: >"$phases"

# measure MODEL CONFIG WORKLOAD CLIENTS ROUND
measure() {
	local model=$1 cfg=$2 w=$3 c=$4 round=$5 args res stats opts=
	case $w in
		select) args=(-S) ;;
		tpcb) args=() ;;
		zipf*) args=(-f "$BB_WORK/$w.sql" -D "naccounts=$((SCALE * 100000))") ;;
		*) echo "lab.sh: unknown workload $w" >&2; exit 2 ;;
	esac
	[ "$cfg" = a ] && opts='-c remote_buffer.enabled=off'
	if [ "$cfg" != c ]; then
		bb_psql -c 'SELECT remote_buffer_reset_stats()' >/dev/null
	fi
	bb_log "$model $cfg $w c=$c: ${SECS}s"
	res=$(PGOPTIONS=$opts python3 bench/lib/pgbrun.py --log -- "$BB_BINDIR/pgbench" \
		-h "$BB_WORK" -p "$BB_PORT" -U postgres "${args[@]}" -c "$c" \
		-j "$((c < 2 ? c : 2))" -T "$SECS" --random-seed "$SEED" postgres)
	stats=null
	if [ "$cfg" != c ]; then
		stats=$(bb_psql -c 'SELECT row_to_json(s) FROM remote_buffer_stats s')
	fi
	printf '{"model":"%s","config":"%s","workload":"%s","clients":%s,"round":%s,"loadavg":"%s","result":%s,"remote_buffer_stats":%s}\n' \
		"$model" "$cfg" "$w" "$c" "$round" "$(cut -d' ' -f1-3 /proc/loadavg)" \
		"$res" "$stats" >>"$runs"
}

# phase_record MODEL PHASE: memory use and peers of the phase, for the JSON
phase_record() {
	local peers=null
	if [ "$2" != c ]; then
		peers=$(bb_psql -c "SELECT json_agg(json_build_object('peer', peer, 'state', state, 'rtt_us', rtt_us, 'leases', leases, 'used_mb', used_bytes / 1048576, 'disconnects', disconnects, 'last_error', last_error)) FROM remote_buffer_peers")
	fi
	printf '{"model":"%s","phase":"%s","memory":%s,"peers":%s}\n' "$1" "$2" "$(cg_mem_json)" "$peers" >>"$phases"
}

# ab_cells MODEL CONFIG_B WORKLOADS: every cell, a and CONFIG_B alternating
ab_cells() {
	local model=$1 b=$2 i=0 w c r
	for r in $(seq 1 "$ROUNDS"); do
		for w in $3; do
			for c in $CLIENTS; do
				if [ $(((i + r) % 2)) = 0 ]; then
					measure "$model" a "$w" "$c" "$r"
					measure "$model" "$b" "$w" "$c" "$r"
				else
					measure "$model" "$b" "$w" "$c" "$r"
					measure "$model" a "$w" "$c" "$r"
				fi
				i=$((i + 1))
			done
		done
	done
}

wait_no_leases() {
	for _ in $(seq 1 300); do
		[ "$(bb_psql -c 'SELECT count(*) FROM remote_buffer_leases')" = 0 ] && return 0
		sleep 0.1
	done
	echo "lab.sh: leases not released after a size change" >&2
	return 1
}

# wait_peers_free: rbufd zeroes released memory before it can be leased
# again; growing the tier before that finishes would find the first peer
# "full", put it aside and place nearly every lease on the second one.
wait_peers_free() {
	local p ok
	for _ in $(seq 1 600); do
		ok=1
		for p in "${BB_PEERS[@]}"; do
			build/bin/rbufctl --port "${p##*:}" --secret-file "$BB_WORK/secret" --json status |
				python3 -c 'import json,sys; c=json.load(sys.stdin)["counters"]; sys.exit(c["mem_free"] != c["mem_total"])' ||
				ok=
		done
		[ -n "$ok" ] && return 0
		sleep 0.1
	done
	echo "lab.sh: peers still zeroing released memory after 60 s" >&2
	return 1
}

for model in $MODELS; do
	case $model in
		gp3) iops=$GP3_IOPS; wls=$WORKLOADS ;;
		nvme) iops=0; wls=$NVME_WORKLOADS ;;
		*) echo "lab.sh: unknown model $model" >&2; exit 2 ;;
	esac
	cg_set_iops "$iops"

	# a/b1, then a/b2 in one server with the memory budget
	cg_drop_caches
	cg_set_mem "$MEM_LIMIT"
	cg_reset_max
	conf_small "${BB_PEERS[0]}" "$TIER"
	bb_pg_start cg_exec
	bb_wait_leases
	bb_log "$model: prewarm (fills the remote tier)"
	bb_prewarm
	ab_cells "$model" b1 "$wls"
	phase_record "$model" b1

	conf_small "${BB_PEERS[0]}" 0
	bb_psql -c 'SELECT pg_reload_conf()' >/dev/null
	wait_no_leases
	wait_peers_free
	conf_small "${BB_PEERS[0]},${BB_PEERS[1]}" "$TIER"
	bb_psql -c 'SELECT pg_reload_conf()' >/dev/null
	bb_wait_leases
	bb_log "$model: 2 peers, prewarm"
	bb_prewarm
	ab_cells "$model" b2 "$wls"
	phase_record "$model" b2
	bb_pg_stop

	# c: everything in local memory
	cg_drop_caches
	cg_set_mem -1
	cg_reset_max
	conf_big
	bb_pg_start cg_exec
	bb_log "$model: upper bound, prewarm into shared_buffers"
	bb_prewarm
	for r in $(seq 1 "$ROUNDS"); do
		for w in $wls; do
			for c in $CLIENTS; do
				measure "$model" c "$w" "$c" "$r"
			done
		done
	done
	phase_record "$model" c
	bb_pg_stop
done

ts=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p bench/results
settings=$(python3 -c 'import json,sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' \
	seconds "$SECS" rounds "$ROUNDS" clients "$CLIENTS" workloads "$WORKLOADS" \
	nvme_workloads "$NVME_WORKLOADS" models "$MODELS" gp3_iops "$GP3_IOPS" \
	scale "$SCALE" data_mb "$data_mb" shared_buffers "$SB" mem_limit "$MEM_LIMIT" \
	big_shared_buffers "$BIG_SB" remote_tier "$TIER" seed "$SEED" \
	disk "$CG_DISK_NAME $CG_DEV" rbufd "2 peers, --memory 1200M --threads ${BENCH_RBUFD_THREADS:-2}, TCP loopback, auth on, outside the cgroup" \
	lease_size 64MB pgbench_threads "min(clients, 2)" \
	zipf "random_zipfian(1, scale*100000, s) for s = 1.001 and 1.2 (PostgreSQL 15 pgbench accepts s in [1.001, 1000]: 0.99 is refused)")
python3 bench/lib/lab_report.py "$ts" "$machine" "$settings" "$runs" "$phases" \
	"bench/results/lab-$ts"
cat "bench/results/lab-$ts.md"
