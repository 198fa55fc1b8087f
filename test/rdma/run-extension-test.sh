#!/usr/bin/env bash
# run-extension-test.sh -- the remote_buffer extension with
# remote_buffer.transport = rdma, in the Soft-RoCE qemu guest: rbufd on
# "host B" (--rdma on), a small PostgreSQL cluster on "host A" whose remote
# tier is reached by one-sided RDMA.  Checks that remote hits happen, that
# they are byte-identical to storage, that the peers view says rdma, and that
# rbufd's own (TCP) read/write path stayed idle.  Prints TAP; prints
# "1..0 # SKIP <reason>" and exits 0 when the guest cannot run here.
#
# Needs a built tree (make: build/bin/rbufd, build/bin/rbufctl and the
# extension's remote_buffer.so).  The extension is installed only inside the
# guest (its root is a throw-away overlay of the host's), never on the host.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
B=${B:-build}
cd "$ROOT" || exit 1

if [ "${RB_GUEST:-0}" != 1 ]; then
	. "$HERE/lib.sh"
	guest_tap "$HERE/run-extension-test.sh" 600 "$B/bin/rbufd" "$B/bin/rbufctl" remote_buffer.so
fi

# ---- inside the guest ----
. test/lib/rbufd.sh
USER_PG=${RB_TEST_USER:-rbtest}
PGBIN=$(pg_config --bindir)
W=$(mktemp -d /tmp/rbext.XXXXXX)
# The cluster's user writes its log and socket here.
chown "$USER_PG" "$W"
chmod 0755 "$W"
rbd_pid=
cleanup() {
	if [ -f "$W/pg/postmaster.pid" ]; then
		runuser -u "$USER_PG" -- "$PGBIN/pg_ctl" -D "$W/pg" -m immediate stop >/dev/null 2>&1
	fi
	if [ -n "$rbd_pid" ]; then
		kill "$rbd_pid" 2>/dev/null
		wait "$rbd_pid" 2>/dev/null
	fi
}
trap cleanup EXIT

# The extension, into the guest's overlay root only.
install -m 0755 remote_buffer.so "$(pg_config --pkglibdir)/remote_buffer.so"
cp remote_buffer.control sql/remote_buffer--*.sql "$(pg_config --sharedir)/extension/"
tap_ok $? "extension installed inside the guest"

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$W/secret"
chmod 0600 "$W/secret"
"$B/bin/rbufd" --listen "$RB_RDMA_ADDR_B" --rdma on --port 0 --port-file "$W/port" \
	--memory 64M --secret-file "$W/secret" --min-ttl 500 >"$W/rbufd.log" 2>&1 &
rbd_pid=$!
for _ in $(seq 1 600); do
	[ -s "$W/port" ] && break
	kill -0 $rbd_pid 2>/dev/null || break
	sleep 0.1
done
port=$(cat "$W/port" 2>/dev/null)
tap_ok $([ -n "$port" ] && grep -q "RDMA enabled" "$W/rbufd.log"; echo $?) "rbufd with RDMA on host B ($RB_RDMA_ADDR_B:${port:-?})"
[ -n "$port" ] || { sed 's/^/# /' "$W/rbufd.log"; tap_done; exit 1; }

install -o "$USER_PG" -m 0600 "$W/secret" "$W/pg.secret"
mkdir "$W/pg" && chown "$USER_PG" "$W/pg"
runuser -u "$USER_PG" -- "$PGBIN/initdb" -D "$W/pg" -A trust --no-sync >"$W/initdb.log" 2>&1
tap_ok $? "initdb"
cat >>"$W/pg/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$W'
shared_preload_libraries = 'remote_buffer'
shared_buffers = 1MB
autovacuum = off
fsync = off
remote_buffer.peers = '$RB_RDMA_ADDR_B:$port'
remote_buffer.transport = rdma
remote_buffer.size = 16MB
remote_buffer.max_size = 16MB
remote_buffer.lease_size = 4MB
remote_buffer.lease_ttl = 20s
remote_buffer.io_timeout = 2s
remote_buffer.secret_file = '$W/pg.secret'
CONF
runuser -u "$USER_PG" -- "$PGBIN/pg_ctl" -D "$W/pg" -l "$W/pg.log" -w -t 120 start >/dev/null
st=$?
tap_ok $st "cluster starts with remote_buffer.transport = rdma"
if [ $st -ne 0 ]; then
	sed 's/^/# pg: /' "$W/pg.log" 2>/dev/null | tail -20
	tap_done
	exit 1
fi

q() {
	runuser -u "$USER_PG" -- "$PGBIN/psql" -h "$W" -d postgres -XAtq -v ON_ERROR_STOP=1 -c "$1"
}
q "CREATE EXTENSION remote_buffer" >/dev/null
tap_ok $? "CREATE EXTENSION remote_buffer"
active=0
for _ in $(seq 1 120); do
	active=$(q "SELECT count(*) FROM remote_buffer_leases WHERE state = 'active'")
	[ "$active" = 4 ] && break
	sleep 0.5
done
tap_ok $([ "$active" = 4 ]; echo $?) "4 leases active on the RDMA peer (got $active)"

q "CREATE TABLE t AS SELECT g, md5(g::text) || repeat('x', 400) AS pad FROM generate_series(1, 12000) g" >/dev/null
tap_ok $? "table of $(q "SELECT pg_relation_size('t') / 8192") pages (shared_buffers 128 pages)"
ctl() {
	"$B/bin/rbufctl" --host "$RB_RDMA_ADDR_B" --port "$port" --secret-file "$W/secret" --json status
}
counter() {
	ctl | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"
}
r0=$(counter ops_read)
w0=$(counter ops_write)
sum_sql="SELECT md5(string_agg(g::text || pad, ',' ORDER BY g)) FROM t"
q "SELECT remote_buffer_reset_stats()" >/dev/null
on1=$(q "SET remote_buffer.enabled = on; $sum_sql")
on2=$(q "SET remote_buffer.enabled = on; $sum_sql")
off=$(q "SET remote_buffer.enabled = off; $sum_sql")
tap_ok $([ -n "$off" ] && [ "$on1" = "$off" ] && [ "$on2" = "$off" ]; echo $?) "table contents identical with the tier on (twice) and off"
hits=$(q "SELECT hits FROM remote_buffer_stats")
adm=$(q "SELECT admissions FROM remote_buffer_stats")
vf=$(q "SELECT verify_failures FROM remote_buffer_stats")
tap_ok $([ "${adm:-0}" -gt 0 ]; echo $?) "pages admitted to the remote tier ($adm)"
tap_ok $([ "${hits:-0}" -gt 0 ]; echo $?) "remote hits served ($hits)"
tap_ok $([ "${vf:-1}" = 0 ]; echo $?) "no verify failures"
tr=$(q "SELECT transport FROM remote_buffer_peers")
tap_ok $([ "$tr" = rdma ]; echo $?) "remote_buffer_peers shows transport rdma (got $tr)"
r1=$(counter ops_read)
w1=$(counter ops_write)
tap_ok $([ "$r1" = "$r0" ] && [ "$w1" = "$w0" ]; echo $?) "rbufd's TCP read/write path idle: pages moved by RDMA (ops_read $r0 -> $r1, ops_write $w0 -> $w1)"
for dev in ${RB_RDMA_DEV_A:-} ${RB_RDMA_DEV_B:-}; do
	echo "# $dev sent_pkts $(cat /sys/class/infiniband/$dev/ports/1/hw_counters/sent_pkts) rcvd_pkts $(cat /sys/class/infiniband/$dev/ports/1/hw_counters/rcvd_pkts)"
done
n=$(grep -c "RDMA connection from .* established" "$W/rbufd.log")
echo "# rbufd: $n RDMA connections; $(grep -c 'registered RDMA memory region' "$W/rbufd.log") lease regions registered"
tap_ok $([ "$n" -gt 0 ]; echo $?) "backends opened RDMA queue pairs"
tap_ok $(! grep -E "ERROR|PANIC|FATAL" "$W/pg.log" >/dev/null; echo $?) "no errors in the server log"
grep -E "ERROR|PANIC|FATAL|remote_buffer" "$W/pg.log" | head -10 | sed 's/^/# pg: /'
tap_done
