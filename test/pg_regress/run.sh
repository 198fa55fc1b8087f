#!/usr/bin/env bash
# run.sh -- the extension's own pg_regress tests (sql/<test>.sql,
# expected/<test>.out at the top of the checkout), each against a
# temporary instance that pg_regress creates and removes itself.
#
#   test/pg_regress/run.sh      (as root: installs the extension and runs
#                                the servers as $RB_TEST_USER)
#   make installcheck           the same
#
# Two pg_regress runs, one after the other (docs/testing.md, "pg_regress
# tests"):
#   preload      shared_preload_libraries = 'remote_buffer', a real rbufd on
#                loopback (fresh secret) as the only peer, shared_buffers
#                small and the remote tier larger than the test table, so
#                re-reads are served by the remote tier
#   no_preload   the library not preloaded: CREATE EXTENSION works, every
#                function refuses with SQLSTATE 55000 and a hint
# The test lists come from mk/extension.mk (REGRESS, RB_REGRESS_NO_PRELOAD).
#
# Output: TAP, one test per pg_regress test; on failure regression.diffs
# follows as comments.  Outputs and server logs of both runs are copied to
# build/pg_regress/ (replaced on every run).
#
# Environment:
#   RB_TEST_USER        unprivileged user when run as root (default rbtest)
#   RB_PGREGRESS_KEEP=1 keep the private work directory
#   PG_CONFIG           pg_config of the server (default pg_config)
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 1
top=$(pwd)
OUT=$top/build/pg_regress
. "$top/test/lib/rbufd.sh"
. "$top/test/lib/pgext.sh"

PG_CONFIG=${PG_CONFIG:-pg_config}
test_user=${RB_TEST_USER:-rbtest}
RUN_TIMEOUT=300			# seconds per pg_regress run; a normal run takes ~15 s

diag() { sed 's/^/# /'; }
# Setup failure before any test ran: one failing test and the plan.
bail() {
	tap_ok 1 "$1"
	[ $# -gt 1 ] && printf '%s\n' "$2" | diag
	tap_done
	exit 1
}

t_start=$(date +%s)

# ---- server, tools, test lists -------------------------------------------
command -v "$PG_CONFIG" >/dev/null 2>&1 ||
	bail "pg_regress setup: $PG_CONFIG not found" "run test/ensure-deps.sh as root"
bindir=$("$PG_CONFIG" --bindir)
pkglibdir=$("$PG_CONFIG" --pkglibdir)
pgxs_src=$(dirname "$(dirname "$("$PG_CONFIG" --pgxs)")")
pg_regress=$pgxs_src/test/regress/pg_regress
[ -x "$pg_regress" ] || bail "pg_regress setup: $pg_regress missing" "install postgresql-server-dev-15"

lists=$(make --no-print-directory -s -f mk/extension.mk PG_CONFIG="$PG_CONFIG" rb-regress-lists 2>&1) ||
	bail "pg_regress setup: cannot read the test lists from mk/extension.mk" "$lists"
preload_tests=$(printf '%s\n' "$lists" | sed -n 's/^preload: *//p')
no_preload_tests=$(printf '%s\n' "$lists" | sed -n 's/^no_preload: *//p')
[ -n "$preload_tests" ] && [ -n "$no_preload_tests" ] ||
	bail "pg_regress setup: empty test list" "$lists"
for t in $preload_tests $no_preload_tests; do
	[ -f "sql/$t.sql" ] && [ -f "expected/$t.out" ] ||
		bail "pg_regress setup: sql/$t.sql or expected/$t.out missing"
done

if [ ! -x build/bin/rbufd ]; then
	out=$(make --no-print-directory -s build/bin/rbufd 2>&1) ||
		bail "pg_regress setup: building rbufd failed" "$out"
fi

# ---- extension and user --------------------------------------------------
if [ "$(id -u)" = 0 ]; then
	mkdir -p "$top/build"
	pgext_install "$top" "$PG_CONFIG" "$top/build/pg_regress-install.log" ||
		bail "pg_regress setup: make -f mk/extension.mk install failed" \
			"$(tail -n 30 "$top/build/pg_regress-install.log")"
	pgext_ensure_user "$test_user" || bail "pg_regress setup: cannot create user $test_user"
	as_user() { runuser -u "$test_user" -- "$@"; }
else
	# Postgres refuses root; as anyone else run pg_regress directly.
	[ -e "$pkglibdir/remote_buffer.so" ] ||
		bail "pg_regress setup: $pkglibdir/remote_buffer.so not installed" \
			"run 'make -f mk/extension.mk install' as root first (or run this script as root)"
	test_user=$(id -un)
	as_user() { "$@"; }
	if [ -e remote_buffer.so ] && ! cmp -s "$pkglibdir/remote_buffer.so" remote_buffer.so; then
		echo "# note: the installed remote_buffer.so is not this checkout's build"
	fi
fi

# ---- private work directory, always cleaned up ----------------------------
# The checkout may be unreadable for the test user (clones under /root):
# test files, configuration and the temporary instances live here.
work=$(mktemp -d /tmp/rb-pgregress.XXXXXX) || bail "pg_regress setup: mktemp failed"
chmod 0755 "$work"
cleanup() {
	local d
	# pg_regress stops its instance itself, unless it was killed.
	for d in "$work"/*/tmp_check/data; do
		[ -f "$d/postmaster.pid" ] &&
			as_user "$bindir/pg_ctl" -D "$d" -m immediate -w -t 30 stop >/dev/null 2>&1
	done
	rbd_stop
	[ -n "${RBD_DIR:-}" ] && rm -rf "$RBD_DIR"
	if [ -n "${RB_PGREGRESS_KEEP:-}" ]; then
		echo "# work directory kept: $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$work/in/sql" "$work/in/expected"
for t in $preload_tests $no_preload_tests; do
	cp "sql/$t.sql" "$work/in/sql/" && cp "expected/$t.out" "$work/in/expected/" ||
		bail "pg_regress setup: cannot copy the test files"
done
chmod -R a+rX "$work/in"
[ "$(id -u)" = 0 ] && chown "$test_user" "$work"

# ---- the peer: a real rbufd on loopback ------------------------------------
rbd_start "$top/build/bin/rbufd" --memory 64M --log-level warning >"$work/rbufd.start" 2>&1 ||
	bail "pg_regress setup: rbufd did not start" "$(cat "$work/rbufd.start")"
# the server's copy of the secret must be owned by it and mode 0600
cp "$RBD_SECRET" "$work/pg.secret" && chmod 600 "$work/pg.secret" &&
	{ [ "$(id -u)" != 0 ] || chown "$test_user" "$work/pg.secret"; } ||
	bail "pg_regress setup: cannot copy the secret"

# ---- temporary configurations ----------------------------------------------
# preload: shared_buffers = 1MB (128 pages) against a ~4.5MB test table
# (sql/workload.sql), in a 16MB remote tier of 4MB leases, so the table's
# re-reads can only come from the remote tier.  autovacuum is off so that
# nothing but the tests moves the statistics counters.
cat >"$work/preload.conf" <<EOF
# written by test/pg_regress/run.sh
shared_preload_libraries = 'remote_buffer'
shared_buffers = 1MB
autovacuum = off
remote_buffer.peers = '127.0.0.1:$RBD_PORT'
remote_buffer.secret_file = '$work/pg.secret'
remote_buffer.max_size = 16MB
remote_buffer.size = 16MB
remote_buffer.lease_size = 4MB
remote_buffer.io_timeout = 1s
EOF
cat >"$work/no_preload.conf" <<EOF
# written by test/pg_regress/run.sh: the library is not preloaded
autovacuum = off
EOF
chmod a+r "$work"/*.conf

# A minimal environment: nothing from the caller's PG* variables or locale.
RUN_ENV=(env -i "PATH=$bindir:/usr/local/bin:/usr/bin:/bin" "HOME=$work" LC_ALL=C LANG=C TZ=UTC)

# run_regress NAME TESTS...: one pg_regress run with its own temporary
# instance; leaves $work/NAME/{stdout.log,regression.diffs,log/,results/}.
run_regress() {
	local name=$1
	shift
	as_user mkdir -p "$work/$name" || return 2
	# in the background + wait: a TERM to this script runs the EXIT trap
	# at once instead of after the run
	as_user "${RUN_ENV[@]}" timeout -k 10 "$RUN_TIMEOUT" "$pg_regress" \
		--temp-instance="$work/$name/tmp_check" --temp-config="$work/$name.conf" \
		--bindir="$bindir" --inputdir="$work/in" --outputdir="$work/$name" \
		--dbname=contrib_regression --no-locale --encoding=UTF8 "$@" \
		>"$work/$name/stdout.log" 2>&1 &
	wait $!
}

# best effort: a non-root user may not be able to write into the checkout
if ! { rm -rf "$OUT" && mkdir -p "$OUT"; } 2>/dev/null; then
	echo "# cannot write $OUT; outputs are not kept (RB_PGREGRESS_KEEP=1 keeps the work directory)"
	OUT=$work/saved
fi
for run in preload no_preload; do
	if [ "$run" = preload ]; then tests=$preload_tests; else tests=$no_preload_tests; fi
	t0=$(date +%s)
	for attempt in 1 2; do
		# shellcheck disable=SC2086  # a word list
		run_regress "$run" $tests
		rc=$?
		# The extension is installed system-wide: another checkout may
		# have installed its build meanwhile, and then these results are
		# not about this one.  Install ours again and repeat, once.
		[ "$(id -u)" = 0 ] && ! cmp -s "$pkglibdir/remote_buffer.so" "$top/remote_buffer.so" || break
		[ "$attempt" = 2 ] && break
		echo "# $run: the installed remote_buffer.so was replaced during the run; reinstalling and repeating"
		pgext_install "$top" "$PG_CONFIG" "$top/build/pg_regress-install.log" || break
		as_user rm -rf "$work/$run"
	done
	secs=$(($(date +%s) - t0))
	mkdir -p "$OUT/$run"
	cp -r "$work/$run/stdout.log" "$work/$run/regression.diffs" "$work/$run/regression.out" \
		"$work/$run/log" "$work/$run/results" "$OUT/$run/" 2>/dev/null
	results=$(pgext_regress_results "$work/$run/stdout.log")
	failed=0
	for t in $tests; do
		st=$(printf '%s\n' "$results" | awk -v t="$t" '$1 == t { print $2 }')
		case "$st" in
			ok) tap_ok 0 "pg_regress $run: $t" ;;
			"") tap_ok 1 "pg_regress $run: $t (did not run)"; failed=1 ;;
			*) tap_ok 1 "pg_regress $run: $t ($st)"; failed=1 ;;
		esac
	done
	echo "# $run: pg_regress exit status $rc, $secs s"
	if [ "$rc" -ne 0 ] || [ "$failed" -ne 0 ]; then
		[ "$failed" -eq 0 ] && tap_ok 1 "pg_regress $run: exit status $rc"
		echo "# pg_regress output:"
		diag <"$work/$run/stdout.log"
		if [ -s "$work/$run/regression.diffs" ]; then
			echo "# regression.diffs:"
			diag <"$work/$run/regression.diffs"
		fi
		echo "# postmaster log (tail):"
		tail -n 30 "$work/$run/log/postmaster.log" 2>/dev/null | diag
		echo "# outputs: $OUT/$run/"
	fi
done

rbd_stop
if [ "${RBD_STATUS:-0}" -ne 0 ]; then
	tap_ok 1 "rbufd exited cleanly (status $RBD_STATUS)"
	diag <"$RBD_LOG"
fi
echo "# total time: $(($(date +%s) - t_start)) s; outputs: $OUT/"
tap_done
