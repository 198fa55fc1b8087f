# test/faults/lib.sh -- sourced by the fault-injection suite (run.sh) and
# the soak test (soak.sh): rbufd peers in their own network namespaces, a
# PostgreSQL cluster using them as its remote tier, the faults, pgbench and
# the checks.  Everything here runs as root (namespaces and links need it);
# PostgreSQL, psql and pgbench run as the unprivileged $FL_USER.
#
# Topology (N = FL_NPEERS, default 2; <id> is unique per run):
#
#   root namespace                         namespace rbf<id>-<i>
#   postgres, pgbench, psql                rbufd --listen 10.213.<x>.<4i+2>
#   veth rbf<id>h<i>  10.213.<x>.<4i+1>/30 <-> veth rbf<id>p<i>
#
# Faults (each has an "undo"):
#   fl_link_down i / fl_link_up i        the peer's end of the cable
#   fl_peer_stop i / fl_peer_cont i      SIGSTOP / SIGCONT the rbufd
#   fl_peer_kill i / fl_peer_start i     SIGKILL, then a new empty rbufd
#   fl_worker_stop / fl_worker_cont      SIGSTOP the lease manager: no renewals
#   fl_peer_start i --test-corrupt-reads=P   a peer that damages replies
#
# fl_cleanup (installed as the EXIT trap by fl_init) stops everything that
# was started: pgbench, the cluster, the rbufd processes (also anything
# else left in our namespaces), and deletes the namespaces (which deletes
# the veth pairs) and the work directory, after copying the logs to
# $FL_KEEP (build/faults/<suite>).

FL_USER=${RB_TEST_USER:-rbtest}
FL_NPEERS=${FL_NPEERS:-2}
FL_IO_TIMEOUT_MS=${FL_IO_TIMEOUT_MS:-200}
FL_LEASE_TTL_MS=${FL_LEASE_TTL_MS:-2000}
FL_SCALE=${FL_SCALE:-3}
FL_CLIENTS=${FL_CLIENTS:-4}
FL_PGBIN=${FL_PGBIN:-$(pg_config --bindir 2>/dev/null)}

FL_ID=
FL_NET=
FL_W=
FL_KEEP=
FL_PORT=7420
FL_PGB_PID=
FL_WORKER_STOPPED=
FL_TX_TOTAL=0
declare -a FL_PEER_PID FL_PEER_ADDR FL_NS

fl_log() { echo "# $*"; }

# ---------------------------------------------------------------- setup

# Can this machine create network namespaces at all?
fl_netns_available() {
	[ "$(id -u)" = 0 ] || return 1
	command -v ip >/dev/null 2>&1 || return 1
	local probe="rbf-probe-$$"
	ip netns add "$probe" 2>/dev/null || return 1
	ip netns del "$probe" 2>/dev/null
	return 0
}

# fl_init SUITE: work dir, trap, network namespaces and veth pairs
fl_init() {
	local suite=$1 top
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	FL_TOP=$top
	FL_RBUFD=${FL_RBUFD:-$top/build/bin/rbufd}
	FL_KEEP=$top/build/faults/$suite
	FL_ID=$(printf '%04d' $(($$ % 10000)))
	FL_W=$(mktemp -d "/tmp/rbf-$suite.XXXXXX")
	mkdir -p "$FL_W/sock" "$FL_W/pgb" "$FL_W/log"
	cp "$top/test/lib/amcheck.sql" "$FL_W/"
	chown -R "$FL_USER" "$FL_W"
	trap fl_cleanup EXIT
	trap 'exit 130' INT TERM HUP

	# a 10.213.x.0/24 nobody on this host routes yet
	local x i
	for x in $(shuf -i 1-254 -n 40); do
		if ! ip -o addr show | grep -q " 10\.213\.$x\." &&
			! ip route show | grep -q "^10\.213\.$x\."; then
			FL_NET=10.213.$x
			break
		fi
	done
	[ -n "$FL_NET" ] || { echo "# no free 10.213.x.0/24 subnet"; return 1; }

	for i in $(seq 1 "$FL_NPEERS"); do
		local ns="rbf$FL_ID-$i" h="rbf${FL_ID}h$i" p="rbf${FL_ID}p$i"
		local a=$((4 * i + 1)) b=$((4 * i + 2))
		FL_NS[$i]=$ns
		ip netns add "$ns" || return 1
		ip link add "$h" type veth peer name "$p" netns "$ns" || return 1
		ip addr add "$FL_NET.$a/30" dev "$h" || return 1
		ip link set "$h" up || return 1
		ip -n "$ns" addr add "$FL_NET.$b/30" dev "$p" || return 1
		ip -n "$ns" link set "$p" up || return 1
		ip -n "$ns" link set lo up || return 1
		FL_PEER_ADDR[$i]=$FL_NET.$b
	done

	# one secret, a root-owned copy for rbufd and one for postgres
	(umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$FL_W/rbufd.secret")
	install -m 600 -o "$FL_USER" "$FL_W/rbufd.secret" "$FL_W/pg.secret"
	return 0
}

fl_cleanup() {
	local rc=$? i pid ns
	trap - EXIT INT TERM HUP
	if [ -n "$FL_PGB_PID" ]; then
		kill "$FL_PGB_PID" 2>/dev/null
		wait "$FL_PGB_PID" 2>/dev/null
	fi
	fl_worker_cont 2>/dev/null
	if [ -n "$FL_W" ] && [ -f "$FL_W/data/postmaster.pid" ]; then
		fl_as timeout 60 pg_ctl -D "$FL_W/data" -m immediate -w stop >/dev/null 2>&1
	fi
	for i in "${!FL_PEER_PID[@]}"; do
		pid=${FL_PEER_PID[$i]}
		[ -n "$pid" ] || continue
		kill -CONT "$pid" 2>/dev/null
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for ns in "${FL_NS[@]}"; do
		# anything else still running in our namespaces is ours too
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "$FL_W" ] && [ -d "$FL_W" ]; then
		rm -rf "$FL_KEEP"
		mkdir -p "$FL_KEEP"
		cp -r "$FL_W/log" "$FL_W"/*.out "$FL_W/postgresql.conf" "$FL_KEEP/" 2>/dev/null
		[ -f "$FL_W/data/log/server.log" ] && cp "$FL_W/data/log/server.log" "$FL_KEEP/"
		rm -rf "$FL_W"
	fi
	exit "$rc"
}

# ---------------------------------------------------------------- running things

# Run a command as the unprivileged user with a clean environment.
fl_as() {
	runuser -u "$FL_USER" -- env -i PATH="$FL_PGBIN:/usr/bin:/bin" \
		LC_ALL=C TZ=UTC PGHOST="$FL_W/sock" PGPORT=5432 PGDATABASE=postgres \
		PGCONNECT_TIMEOUT=10 "$@"
}

# One SQL string; output unaligned, tuples only.  Bounded in time.
fl_q() {
	fl_as timeout -k 5 180 psql -XAtq -v ON_ERROR_STOP=1 -c "$1"
}

fl_stat() {
	fl_q "SELECT $1 FROM remote_buffer_stats"
}

# wait_until SECONDS SQL EXPECTED: poll until the query prints EXPECTED
fl_wait_sql() {
	local secs=$1 sql=$2 want=$3 end got
	end=$((SECONDS + secs))
	while [ $SECONDS -lt $end ]; do
		got=$(fl_q "$sql" 2>/dev/null)
		[ "$got" = "$want" ] && return 0
		sleep 0.2
	done
	fl_log "timed out after ${secs}s waiting for [$sql] = $want (last: $got)"
	return 1
}

# ---------------------------------------------------------------- peers

# fl_peer_start i [extra rbufd flags]: a fresh rbufd in namespace i (three
# attempts: a restart right after a kill may find the port still taken)
fl_peer_start() {
	local i=$1 ns n try
	shift
	ns=${FL_NS[$i]}
	for try in 1 2 3; do
		rm -f "$FL_W/peer$i.port"
		ip netns exec "$ns" "$FL_RBUFD" --listen "${FL_PEER_ADDR[$i]}" \
			--port "$FL_PORT" --port-file "$FL_W/peer$i.port" \
			--secret-file "$FL_W/rbufd.secret" --memory 96M --min-ttl 500ms \
			--threads 1 "$@" >>"$FL_W/log/peer$i.log" 2>&1 &
		FL_PEER_PID[$i]=$!
		for n in $(seq 1 500); do
			[ -s "$FL_W/peer$i.port" ] && return 0
			kill -0 "${FL_PEER_PID[$i]}" 2>/dev/null || break
			sleep 0.02
		done
		fl_peer_kill "$i"
		sleep 0.5
	done
	echo "# rbufd $i did not start:"
	tail -5 "$FL_W/log/peer$i.log" | sed 's/^/#   /'
	return 1
}

fl_peer_stop() { kill -STOP "${FL_PEER_PID[$1]}"; }
fl_peer_cont() { kill -CONT "${FL_PEER_PID[$1]}"; }

fl_peer_kill() {
	local pid=${FL_PEER_PID[$1]}
	[ -n "$pid" ] || return 0
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	FL_PEER_PID[$1]=
}

# clean stop (SIGTERM): rbufd logs its totals
fl_peer_term() {
	local pid=${FL_PEER_PID[$1]}
	[ -n "$pid" ] || return 0
	kill -CONT "$pid" 2>/dev/null
	kill -TERM "$pid" 2>/dev/null
	timeout 15 tail --pid="$pid" -f /dev/null
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	FL_PEER_PID[$1]=
}

fl_link_down() { ip -n "${FL_NS[$1]}" link set "rbf${FL_ID}p$1" down; }
fl_link_up() { ip -n "${FL_NS[$1]}" link set "rbf${FL_ID}p$1" up; }

# pages corrupted so far by peer i (its log; see --test-corrupt-reads)
fl_corrupted() {
	grep -c 'test-corrupt-reads: flipped bit' "$FL_W/log/peer$1.log"
}

fl_peers_conf() {
	local i s=
	for i in $(seq 1 "$FL_NPEERS"); do
		s="$s${s:+, }${FL_PEER_ADDR[$i]}:$FL_PORT"
	done
	echo "$s"
}

# ---------------------------------------------------------------- the cluster

FL_SEGMENTS=16		# remote_buffer.size / lease_size

fl_pg_init() {
	fl_as initdb -D "$FL_W/data" --no-locale -E UTF8 --auth=trust >"$FL_W/initdb.out" 2>&1 || {
		sed 's/^/#   /' "$FL_W/initdb.out"
		return 1
	}
	cat >>"$FL_W/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$FL_W/sock'
port = 5432
max_connections = 30
shared_buffers = 2MB
fsync = off
autovacuum = off
logging_collector = on
log_directory = 'log'
log_filename = 'server.log'
log_line_prefix = '%m [%p] %b '
statement_timeout = 120s
shared_preload_libraries = 'remote_buffer'
remote_buffer.peers = '$(fl_peers_conf)'
remote_buffer.size = 64MB
remote_buffer.max_size = 64MB
remote_buffer.lease_size = 4MB
remote_buffer.lease_ttl = ${FL_LEASE_TTL_MS}ms
remote_buffer.io_timeout = ${FL_IO_TIMEOUT_MS}ms
remote_buffer.secret_file = '$FL_W/pg.secret'
EOF
	cp "$FL_W/data/postgresql.conf" "$FL_W/postgresql.conf"
}

fl_pg_start() {
	fl_as timeout 120 pg_ctl -D "$FL_W/data" -w -t 90 start >"$FL_W/pg_ctl.out" 2>&1 || {
		sed 's/^/#   /' "$FL_W/pg_ctl.out"
		return 1
	}
}

fl_pg_stop() {
	fl_as timeout 120 pg_ctl -D "$FL_W/data" -w -t 90 -m fast stop >"$FL_W/pg_ctl.out" 2>&1
}

fl_pg_restart() {
	fl_pg_stop && fl_pg_start
}

# every wanted segment holds a lease
fl_wait_leases() {
	fl_wait_sql "${1:-60}" \
		"SELECT count(*) FROM remote_buffer_leases WHERE state = 'active'" "$FL_SEGMENTS"
}

fl_server_log() {
	cat "$FL_W/data/log/server.log" 2>/dev/null
}

# the lease manager's pid: the postmaster's child with that title
fl_worker_pid() {
	local pm
	pm=$(head -1 "$FL_W/data/postmaster.pid" 2>/dev/null) || return 1
	ps -o pid=,args= --ppid "$pm" | awk '/remote_buffer lease manager/ {print $1; exit}'
}

# SIGSTOP the lease manager, but only where it sleeps between rounds
# (blocked in epoll_wait, per /proc/PID/syscall): stopped inside a short
# critical section it would hold the shared-memory lock that backends and
# the views take, which no real fault does.  Retries until it is caught
# sleeping.
fl_worker_stop() {
	local pid n sc
	pid=$(fl_worker_pid)
	[ -n "$pid" ] || return 1
	for n in $(seq 1 100); do
		kill -STOP "$pid" || return 1
		FL_WORKER_STOPPED=$pid
		# the stop takes effect asynchronously
		for sc in 1 2 3 4 5; do
			grep -q '^State:.*T' "/proc/$pid/status" && break
			sleep 0.01
		done
		sc=$(cut -d' ' -f1 "/proc/$pid/syscall" 2>/dev/null)
		case $sc in
			232 | 281 | 441) return 0 ;;	# epoll_wait, epoll_pwait, epoll_pwait2
		esac
		kill -CONT "$pid"
		FL_WORKER_STOPPED=
		sleep 0.0$((RANDOM % 9 + 1))
	done
	return 1
}

fl_worker_cont() {
	[ -n "$FL_WORKER_STOPPED" ] || return 0
	kill -CONT "$FL_WORKER_STOPPED" 2>/dev/null
	FL_WORKER_STOPPED=
}

# ---------------------------------------------------------------- pgbench

# fl_pgbench_start NAME SECONDS SEED [extra pgbench args]: TPC-B-like in
# the background, every transaction logged (for the latency bound)
fl_pgbench_start() {
	local name=$1 secs=$2 seed=$3
	shift 3
	fl_as timeout -k 10 $((secs + 120)) pgbench -n -c "$FL_CLIENTS" -j 2 \
		-T "$secs" --random-seed="$seed" --verbose-errors \
		-l --log-prefix="$FL_W/pgb/$name" "$@" \
		>"$FL_W/pgbench-$name.out" 2>&1 &
	FL_PGB_PID=$!
}

# fl_pgbench_wait NAME [ro]: sets PGB_RC PGB_TX PGB_FAILED PGB_MAXLAT_MS
# PGB_ERRORS; adds the transactions to FL_TX_TOTAL (one history row each)
# unless "ro" (pgbench -S)
fl_pgbench_wait() {
	local name=$1 ro=${2:-} out
	wait "$FL_PGB_PID"
	PGB_RC=$?
	FL_PGB_PID=
	out="$FL_W/pgbench-$name.out"
	PGB_TX=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")
	PGB_FAILED=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out")
	PGB_ERRORS=$(grep -ciE 'error|abort' "$out")
	# per-transaction log: client tx_no latency_us script epoch epoch_us;
	# a failed transaction has "failed" instead of the latency
	PGB_MAXLAT_MS=$(cat "$FL_W/pgb/$name".* 2>/dev/null |
		awk '$3 ~ /^[0-9]+$/ { if ($3 > m) m = $3 } END { printf "%d", m / 1000 }')
	PGB_LOGFAILED=$(cat "$FL_W/pgb/$name".* 2>/dev/null | awk '$3 !~ /^[0-9]+$/' | wc -l)
	[ -n "$PGB_TX" ] || PGB_TX=0
	[ -n "$PGB_FAILED" ] || PGB_FAILED=-1
	[ -n "$ro" ] || FL_TX_TOTAL=$((FL_TX_TOTAL + PGB_TX))
	if [ "$PGB_RC" -eq 0 ] && [ "$PGB_FAILED" = 0 ] && [ "$PGB_ERRORS" = 0 ] &&
		[ "$PGB_LOGFAILED" = 0 ]; then
		return 0
	fi
	echo "# pgbench $name: exit $PGB_RC, failed $PGB_FAILED, errors $PGB_ERRORS, log failed $PGB_LOGFAILED"
	grep -iE 'error|abort|failed' "$out" | head -20 | sed 's/^/#   /'
	return 1
}

# ---------------------------------------------------------------- checks

# TPC-B invariant: every balance sum equals the sum of the history deltas,
# and history has exactly one row per committed transaction.  Prints the
# figures; fails on any mismatch.
fl_invariant() {
	local r
	r=$(fl_q "SELECT (SELECT sum(abalance) FROM pgbench_accounts) || ' ' ||
		(SELECT sum(bbalance) FROM pgbench_branches) || ' ' ||
		(SELECT sum(tbalance) FROM pgbench_tellers) || ' ' ||
		(SELECT coalesce(sum(delta), 0) FROM pgbench_history) || ' ' ||
		(SELECT count(*) FROM pgbench_history)") || return 1
	set -- $r
	FL_INV="abalance=$1 bbalance=$2 tbalance=$3 delta=$4 history=$5 committed=$FL_TX_TOTAL"
	[ "$1" = "$4" ] && [ "$2" = "$4" ] && [ "$3" = "$4" ] && [ "$5" = "$FL_TX_TOTAL" ]
}

# md5 of each pgbench table's ordered contents (sequential scans), one
# "table md5" per table, sorted: UNION ALL may run as a Parallel Append,
# which returns its branches in any order
fl_checksums() {
	local enabled=$1
	fl_q "SET remote_buffer.enabled = $enabled; SET enable_indexscan = off;
		SET enable_bitmapscan = off; SET enable_indexonlyscan = off;
		SELECT 'accounts ' || md5(string_agg(t::text, ',' ORDER BY aid)) FROM pgbench_accounts t
		UNION ALL SELECT 'branches ' || md5(string_agg(t::text, ',' ORDER BY bid)) FROM pgbench_branches t
		UNION ALL SELECT 'tellers ' || md5(string_agg(t::text, ',' ORDER BY tid)) FROM pgbench_tellers t
		UNION ALL SELECT 'history ' || md5(coalesce(string_agg(t::text, ',' ORDER BY tid, bid, aid, delta, mtime), '')) FROM pgbench_history t" |
		sort | tr '\n' ' '
}

# amcheck over every relation: sets FL_AMCHECK; fails on any PROBLEM line
# or when it looked at nothing
fl_amcheck() {
	local out
	out=$(fl_as timeout -k 5 300 psql -XAtq -v ON_ERROR_STOP=1 -f "$FL_W/amcheck.sql" 2>&1) || {
		FL_AMCHECK="psql failed: $out"
		return 1
	}
	FL_AMCHECK=$(echo "$out" | grep -E '^(heap_relations|btree_indexes) ' | tr '\n' ' ')
	if echo "$out" | grep -q '^PROBLEM'; then
		FL_AMCHECK="$FL_AMCHECK $(echo "$out" | grep '^PROBLEM' | head -5 | tr '\n' ' ')"
		return 1
	fi
	echo "$out" | grep -qE '^heap_relations [1-9]' && echo "$out" | grep -qE '^btree_indexes [1-9]'
}

# PANIC, crashes or errors in the server log since byte offset $1
fl_log_problems() {
	fl_server_log | tail -c +"$(($1 + 1))" |
		grep -E 'PANIC|terminated by signal|ERROR|FATAL' | grep -v 'the database system is' | head -10
}

fl_log_size() {
	stat -c %s "$FL_W/data/log/server.log" 2>/dev/null || echo 0
}
