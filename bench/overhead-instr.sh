#!/bin/bash
# bench/overhead-instr.sh -- the overhead of remote_buffer in instructions,
# which the load of a shared machine cannot disturb.
#
# The same cluster (data in shared_buffers) is started under valgrind
# (callgrind; backends are forked, so they run under it too), once without
# and once with remote_buffer preloaded, enabled, with a real local rbufd
# peer and a leased tier.  In each, two psql sessions run the same fixed
# list of select-only statements (N1 and N2 of them, the same aids, drawn
# with a fixed seed); the difference of the two backends' instruction
# counts divided by N2 - N1 is the cost of one statement, without
# connection start-up (an unmeasured session runs the list first, so both
# measured sessions find every page in shared_buffers).  Prints both and their ratio; writes
# bench/results/overhead-instr-<UTC>.txt.  Run as root.
# Environment: INSTR_N1 (200), INSTR_N2 (2200), INSTR_SCALE (5).

set -euo pipefail
cd "$(dirname "$0")/.."
BB_NAME=instr
. bench/lib/common.sh

N1=${INSTR_N1:-200}
N2=${INSTR_N2:-2200}
SCALE=${INSTR_SCALE:-5}
command -v valgrind >/dev/null || { echo "$0: needs valgrind" >&2; exit 2; }

bb_setup
trap bb_cleanup EXIT
trap 'exit 130' INT TERM HUP
bb_install_extension
BB_PEERS=()
bb_rbufd_start 512M
bb_initdb
base=("shared_buffers = 256MB" "max_wal_size = 1GB" "autovacuum = off"
	"remote_buffer.io_timeout = 2s" "remote_buffer.lease_ttl = 60s")
on=("shared_preload_libraries = 'remote_buffer'"
	"remote_buffer.peers = '${BB_PEERS[0]}'" "remote_buffer.size = 128MB"
	"remote_buffer.max_size = 128MB" "remote_buffer.lease_size = 64MB"
	"remote_buffer.secret_file = '$BB_WORK/pg-secret'")

# The data set, created without valgrind.
bb_write_conf "${base[@]}" "${on[@]}"
bb_pg_start
bb_psql -c 'CREATE EXTENSION remote_buffer'
"$BB_BINDIR/pgbench" -h "$BB_WORK" -p "$BB_PORT" -U postgres -i -s "$SCALE" -q postgres >/dev/null 2>&1
bb_psql -c 'VACUUM ANALYZE' -c CHECKPOINT
bb_pg_stop

for n in "$N1" "$N2"; do
	python3 - "$n" "$((SCALE * 100000))" >"$BB_WORK/q$n.sql" <<'EOF'
import random, sys
n, rows = int(sys.argv[1]), int(sys.argv[2])
rnd = random.Random(4242)
print("SELECT pg_backend_pid() AS pid \\gset")
print("\\o /dev/null")
for _ in range(n):
    print("SELECT abalance FROM pgbench_accounts WHERE aid = %d;" % rnd.randint(1, rows))
print("\\o")
print("\\echo :pid")
EOF
done

declare -A per_stmt
for cfg in off on; do
	if [ "$cfg" = on ]; then
		bb_write_conf "${base[@]}" "${on[@]}"
	else
		bb_write_conf "${base[@]}"
	fi
	mkdir -p "$BB_WORK/cg-$cfg"
	chown "$BB_USER" "$BB_WORK/cg-$cfg"
	bb_log "$cfg: starting the server under callgrind"
	run_pg valgrind --tool=callgrind --trace-children=yes --dump-instr=no \
		--callgrind-out-file="$BB_WORK/cg-$cfg/cg.%p" -q \
		"$BB_BINDIR/postgres" -D "$BB_DATA" >"$BB_WORK/valgrind-$cfg.log" 2>&1 &
	vpid=$!
	bb_pg_up=1
	for _ in $(seq 1 600); do
		bb_psql -c 'SELECT 1' >/dev/null 2>&1 && break
		sleep 0.5
	done
	if [ "$cfg" = on ]; then
		bb_wait_leases
	fi
	# warm shared_buffers for the statements' pages
	bb_psql -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS pg_prewarm" \
		-c "SELECT pg_prewarm('pgbench_accounts'), pg_prewarm('pgbench_accounts_pkey')" >/dev/null
	# one unmeasured pass over the longest list: every page and catalog
	# entry the statements need is then in shared_buffers and in the caches
	bb_psql -f "$BB_WORK/q$N2.sql" >/dev/null
	declare -A ir=()
	for n in "$N1" "$N2"; do
		pid=$(bb_psql -f "$BB_WORK/q$n.sql" | tail -1)
		ir[$n]=$pid
	done
	# stop: the backends have exited; a fast shutdown dumps every profile
	run_pg "$BB_BINDIR/pg_ctl" -D "$BB_DATA" -m fast -w -t 300 stop >/dev/null
	bb_pg_up=
	wait "$vpid" || true
	i1=$(sed -n 's/^summary: //p' "$BB_WORK/cg-$cfg/cg.${ir[$N1]}")
	i2=$(sed -n 's/^summary: //p' "$BB_WORK/cg-$cfg/cg.${ir[$N2]}")
	per_stmt[$cfg]=$(python3 -c "print(round(($i2 - $i1) / ($N2 - $N1), 1))")
	bb_log "$cfg: backend instructions $i1 ($N1 statements), $i2 ($N2): ${per_stmt[$cfg]} per statement"
done

out=bench/results/overhead-instr-$(date -u +%Y%m%dT%H%M%SZ).txt
mkdir -p bench/results
{
	echo "# remote_buffer overhead in instructions, $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)"
	echo "select-only statements (pgbench_accounts by aid, data in shared_buffers), one psql session,"
	echo "instructions of the backend counted by callgrind, per statement = (I($N2) - I($N1)) / ($N2 - $N1)"
	echo "off: no shared_preload_libraries; on: remote_buffer preloaded, enabled, 1 local rbufd peer, 128MB tier"
	echo "instructions per statement: off ${per_stmt[off]}, on ${per_stmt[on]}"
	python3 -c "print('on/off: %.4f (overhead %.2f %%)' % (${per_stmt[on]} / ${per_stmt[off]}, (${per_stmt[on]} / ${per_stmt[off]} - 1) * 100))"
} | tee "$out"
