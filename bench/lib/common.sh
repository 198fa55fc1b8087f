# bench/lib/common.sh -- shared pieces of the Postgres-level benchmarks
# (bench/overhead.sh, bench/lab.sh): a private work directory, private rbufd
# peers, one throwaway PostgreSQL cluster run as an unprivileged user, and
# machine facts for the JSON.  Sourced, not run.  Everything started here is
# stopped by bb_cleanup, which the callers install as their EXIT trap.
#
# Callers set BB_NAME (a short name used for the work directory) before
# calling bb_setup.

BB_USER=${RB_TEST_USER:-rbtest}
BB_BINDIR=$(pg_config --bindir)
BB_PORT=5432				# unix socket in the private work directory only
BB_RBUFD=${RBUFD:-build/bin/rbufd}
bb_rbufd_pids=()
bb_pg_up=

bb_log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# run_pg CMD...: run a PostgreSQL program as the unprivileged user.
run_pg() {
	runuser -u "$BB_USER" -- "$@"
}

bb_setup() {
	if [ "$(id -u)" != 0 ]; then
		echo "$0: run as root (cgroups, installing the extension, runuser)" >&2
		exit 2
	fi
	id "$BB_USER" >/dev/null 2>&1 ||
		useradd --system --no-create-home --shell /usr/sbin/nologin "$BB_USER"
	if [ ! -x "$BB_RBUFD" ] || [ ! -f remote_buffer.so ]; then
		echo "$0: build first (make)" >&2
		exit 2
	fi
	# The work directory must be on the data disk (the one the storage model
	# throttles); /tmp is on it here, BENCH_WORKDIR overrides.
	BB_WORK=$(mktemp -d "${BENCH_WORKDIR:-/tmp}/rbb-$BB_NAME.XXXXXX")
	chmod 755 "$BB_WORK"
	chown "$BB_USER" "$BB_WORK"
	BB_DATA=$BB_WORK/data
	(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$BB_WORK/secret")
	cp "$BB_WORK/secret" "$BB_WORK/pg-secret"
	chown "$BB_USER" "$BB_WORK/pg-secret"
	chmod 600 "$BB_WORK/pg-secret"
}

# bb_install_extension: install this tree's build system-wide, right before
# a server that preloads it starts (other worktrees may install theirs; a
# running server keeps the copy it loaded).
bb_install_extension() {
	make --no-print-directory -s -f mk/extension.mk install >/dev/null
	BB_EXT_MD5=$(md5sum "$(pg_config --pkglibdir)/remote_buffer.so" | cut -c1-12)
}

# bb_rbufd_start MEMORY -> appends a peer "127.0.0.1:port" to BB_PEERS
bb_rbufd_start() {
	local i=${#bb_rbufd_pids[@]} pf
	pf=$BB_WORK/rbufd$i.port
	"$BB_RBUFD" --listen 127.0.0.1 --port 0 --port-file "$pf" \
		--memory "$1" --secret-file "$BB_WORK/secret" --threads "${BENCH_RBUFD_THREADS:-2}" \
		--log-level warning >"$BB_WORK/rbufd$i.log" 2>&1 &
	bb_rbufd_pids+=($!)
	for _ in $(seq 1 500); do
		[ -s "$pf" ] && break
		sleep 0.02
	done
	if [ ! -s "$pf" ]; then
		echo "$0: rbufd did not start:" >&2
		cat "$BB_WORK/rbufd$i.log" >&2
		exit 1
	fi
	BB_PEERS+=("127.0.0.1:$(cat "$pf")")
}

bb_initdb() {
	run_pg "$BB_BINDIR/initdb" -D "$BB_DATA" -A trust -U postgres >/dev/null
	cat >>"$BB_DATA/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$BB_WORK'
port = $BB_PORT
max_connections = 40
include_if_exists = 'bench.conf'
EOF
}

# bb_write_conf LINES: the per-configuration settings (replaced each time)
bb_write_conf() {
	printf '%s\n' "$@" >"$BB_DATA/bench.conf"
	chown "$BB_USER" "$BB_DATA/bench.conf"
}

# bb_pg_start [WRAPPER...]: start the server; WRAPPER (e.g. a command that
# moves itself into a cgroup and execs the rest) is put in front of pg_ctl.
bb_pg_start() {
	"$@" runuser -u "$BB_USER" -- "$BB_BINDIR/pg_ctl" -D "$BB_DATA" \
		-l "$BB_WORK/postgres.log" -w -t 120 start >/dev/null
	bb_pg_up=1
}

bb_pg_stop() {
	[ -n "$bb_pg_up" ] || return 0
	run_pg "$BB_BINDIR/pg_ctl" -D "$BB_DATA" -m fast -w -t 120 stop >/dev/null 2>&1 || true
	bb_pg_up=
}

bb_psql() {
	"$BB_BINDIR/psql" -h "$BB_WORK" -p "$BB_PORT" -U postgres -X -q -At \
		-v ON_ERROR_STOP=1 postgres "$@"
}

# bb_wait_leases: wait until every wanted segment of the remote tier holds a
# lease, so a measurement never starts with a tier still being built.
bb_wait_leases() {
	local pending
	for _ in $(seq 1 300); do
		pending=$(bb_psql -c "SELECT count(*) FILTER (WHERE state <> 'active') + (count(*) = 0)::int FROM remote_buffer_leases")
		[ "$pending" = 0 ] && return 0
		sleep 0.1
	done
	echo "$0: remote tier leases not all active after 30 s" >&2
	bb_psql -c 'SELECT * FROM remote_buffer_peers' >&2
	return 1
}

# bb_prewarm: read every pgbench relation once (through shared_buffers and
# the storage manager, so a remote tier is filled on the way).
bb_prewarm() {
	bb_psql -c "SET client_min_messages = warning" \
		-c "CREATE EXTENSION IF NOT EXISTS pg_prewarm" \
		-c "SELECT sum(pg_prewarm(c.oid::regclass)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i') AND c.relname LIKE 'pgbench%'" >/dev/null
}

# bb_machine_json: machine facts as a JSON object
bb_machine_json() {
	python3 - "$BB_EXT_MD5" <<'EOF'
import json, os, platform, subprocess, sys
cpu = ""
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip(); break
mem = 0
for line in open("/proc/meminfo"):
    if line.startswith("MemTotal"):
        mem = int(line.split()[1]) // 1024
pg = subprocess.run(["pg_config", "--version"], capture_output=True, text=True).stdout.strip()
try:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip() != ""
except Exception:
    commit, dirty = "none", False
print(json.dumps({"nproc": os.cpu_count(), "cpu": cpu, "mem_mb": mem,
                  "kernel": platform.release(), "postgres": pg,
                  "commit": commit + ("-dirty" if dirty else ""),
                  "extension_so_md5": sys.argv[1],
                  "loadavg_start": open("/proc/loadavg").read().split()[:3]}))
EOF
}

bb_cleanup() {
	set +e
	bb_pg_stop
	for p in "${bb_rbufd_pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${bb_rbufd_pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	bb_rbufd_pids=()
	if [ -n "${BENCH_KEEP:-}" ]; then
		echo "kept $BB_WORK" >&2
	else
		rm -rf "$BB_WORK"
	fi
}
