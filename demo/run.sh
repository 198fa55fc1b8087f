#!/usr/bin/env bash
# demo/run.sh -- `make demo`: remote_buffer's main job on the embedded
# default.  Starts one rbufd on loopback and a throwaway PostgreSQL cluster
# whose shared_buffers is far smaller than its data, with remote_buffer
# preloaded; runs a seeded pgbench select-only load over that data; prints
# the extension's views; stops everything (also on failure or Ctrl-C).
#
# Knobs (environment): DEMO_SCALE (pgbench scale, default 20 = ~300 MB),
# DEMO_SECONDS (load duration, default 30), DEMO_CLIENTS (default 4),
# DEMO_SHARED_BUFFERS (default 16MB), DEMO_TIER (remote tier size, 512MB).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

SCALE=${DEMO_SCALE:-20}
SECS=${DEMO_SECONDS:-30}
CLIENTS=${DEMO_CLIENTS:-4}
SB=${DEMO_SHARED_BUFFERS:-16MB}
TIER=${DEMO_TIER:-512MB}
USER_NAME=${RB_TEST_USER:-rbtest}

bindir=$(pg_config --bindir)
work=$(mktemp -d /tmp/rb-demo.XXXXXX)
chmod 755 "$work"
rbufd_pid=
pg_started=

run_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u "$USER_NAME" -- "$@"
	else
		"$@"
	fi
}

cleanup() {
	set +e
	if [ -n "$pg_started" ]; then
		run_pg "$bindir/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null 2>&1
	fi
	if [ -n "$rbufd_pid" ]; then
		kill -TERM "$rbufd_pid" 2>/dev/null
		wait "$rbufd_pid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

if [ "$(id -u)" = 0 ]; then
	# PostgreSQL refuses to run as root: use an unprivileged user.
	id "$USER_NAME" >/dev/null 2>&1 ||
		useradd --system --no-create-home --shell /usr/sbin/nologin "$USER_NAME"
	make --no-print-directory -s -f mk/extension.mk install
fi
chown "$USER_NAME" "$work" 2>/dev/null || true

echo "== starting rbufd on 127.0.0.1 (1 GB pool)"
(umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/secret")
chown "$USER_NAME" "$work/secret" 2>/dev/null || true
"$top/build/bin/rbufd" --listen 127.0.0.1 --port 0 --port-file "$work/port" \
	--memory 1G --secret-file "$work/secret" --log-level warning \
	>"$work/rbufd.log" 2>&1 &
rbufd_pid=$!
for _ in $(seq 1 250); do
	[ -s "$work/port" ] && break
	sleep 0.02
done
port=$(cat "$work/port")
# The cluster's user reads its own copy of the secret (mode 0600).
cp "$work/secret" "$work/pg-secret"
chown "$USER_NAME" "$work/pg-secret" 2>/dev/null || true
chmod 600 "$work/pg-secret"

echo "== creating a throwaway cluster: shared_buffers=$SB, remote tier $TIER"
run_pg "$bindir/initdb" -D "$work/data" -A trust -U postgres >/dev/null
cat >>"$work/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$work'
port = 5499
shared_buffers = $SB
shared_preload_libraries = 'remote_buffer'
remote_buffer.peers = '127.0.0.1:$port'
remote_buffer.size = '$TIER'
remote_buffer.max_size = '$TIER'
remote_buffer.lease_size = 64MB
remote_buffer.secret_file = '$work/pg-secret'
EOF
run_pg "$bindir/pg_ctl" -D "$work/data" -l "$work/postgres.log" -w start >/dev/null
pg_started=1
psql() { run_pg "$bindir/psql" -h "$work" -p 5499 -U postgres -X -v ON_ERROR_STOP=1 "$@"; }
psql -q -c 'CREATE EXTENSION remote_buffer'

echo "== pgbench -i -s $SCALE (data far larger than shared_buffers)"
run_pg "$bindir/pgbench" -h "$work" -p 5499 -U postgres -i -s "$SCALE" -q postgres 2>&1 | tail -n 1
psql -q -c 'SELECT remote_buffer_reset_stats()' >/dev/null
psql -At -c "SELECT 'data: ' || pg_size_pretty(pg_database_size('postgres')) || ', shared_buffers: ' || current_setting('shared_buffers')"

echo "== pgbench -S: $CLIENTS clients, $SECS s, seed 42"
run_pg "$bindir/pgbench" -h "$work" -p 5499 -U postgres -S -c "$CLIENTS" -j 2 \
	-T "$SECS" --random-seed 42 postgres 2>&1 | grep -E '^(tps|latency|number of (transactions|failed))'

echo "== remote_buffer_peers"
psql -c 'SELECT peer, transport, state, rtt_us, leases, pg_size_pretty(leased_bytes) AS leased, pg_size_pretty(used_bytes) AS used FROM remote_buffer_peers'
echo "== remote_buffer_stats"
psql -x -c 'SELECT * FROM remote_buffer_stats'
hits=$(psql -At -c 'SELECT hits FROM remote_buffer_stats')
if [ "${hits:-0}" -gt 0 ]; then
	echo "== demo ok: $hits reads served from remote memory instead of storage"
	echo "   (this demo shows function, not speed: without a memory budget the"
	echo "   'storage' reads above come from the OS page cache, and rbufd shares"
	echo "   this machine's cores; bench/ measures under an explicit model)"
else
	echo "== demo FAILED: no remote hits (see $work/postgres.log)" >&2
	trap - EXIT
	cat "$work/postgres.log" >&2
	cleanup
	exit 1
fi
