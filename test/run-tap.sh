#!/bin/sh
# test/run-tap.sh -- install the remote_buffer extension into the local
# PostgreSQL (Debian postgresql-15) and run the TAP tests in test/t.
#
#   test/run-tap.sh [prove args...]      e.g. test/run-tap.sh test/t/001_intercept.pl
#
# Runs the PostgreSQL::Test::Cluster framework that ships with
# postgresql-server-dev-15 (no source tree needed).  The minimal
# environment it needs:
#   PATH        the server's bindir first (initdb, pg_ctl, psql, pgbench,
#               pg_config are looked up there)
#   PERL5LIB    <pgxs>/src/test/perl (PostgreSQL/Test/*.pm)
#   PG_REGRESS  <pgxs>/src/test/regress/pg_regress (Cluster->init calls
#               it with --config-auth)
#   TESTDIR     where tmp_check/ (data directories, logs) goes
#   RBUFD, RBUFCTL  copies of build/bin/rbufd and build/bin/rbufctl in the
#               private test directory (brought up to date first), for the
#               tests that run real memory servers
#   RB_COMMIT_LOGGER  copy of build/bin/rb_commit_logger (the crash
#               matrix's client that logs acknowledged commits)
# test/lib/amcheck.sql is copied next to RbufdTest.pm (amcheck_ok).
#
# PostgreSQL refuses to run as root.  Invoked as root, the script builds
# and installs the extension ("make -f mk/extension.mk install"), creates
# the unprivileged user $RB_TEST_USER (default rbtest) if needed and runs
# prove as that user.  Invoked as another user it expects the extension to
# be installed already and runs prove directly.
#
# Logs: $RB_TAP_DIR/tmp_check/log/ (default: a fresh /tmp/rb-tap.* as
# root, removed when every test passed; build/tap otherwise).  PROVE_FLAGS
# (default --timer) replaces prove's options, e.g. PROVE_FLAGS=-v.

set -eu

cd "$(dirname "$0")/.."
top=$(pwd)

PG_CONFIG=${PG_CONFIG:-pg_config}
if ! command -v "$PG_CONFIG" >/dev/null 2>&1; then
	echo "run-tap.sh: $PG_CONFIG not found; run 'make deps' or 'apt-get install postgresql-server-dev-15'" >&2
	exit 1
fi
bindir=$("$PG_CONFIG" --bindir)
pkglibdir=$("$PG_CONFIG" --pkglibdir)
pgxs=$("$PG_CONFIG" --pgxs)
pgxs_src=$(dirname "$(dirname "$pgxs")")		# .../lib/pgxs/src
perl_lib=$pgxs_src/test/perl
pg_regress=$pgxs_src/test/regress/pg_regress

for f in "$perl_lib/PostgreSQL/Test/Cluster.pm" "$pg_regress"; do
	if [ ! -e "$f" ]; then
		echo "run-tap.sh: $f missing; install postgresql-server-dev-15" >&2
		exit 1
	fi
done
if ! perl -MIPC::Run -e 1 2>/dev/null; then
	echo "run-tap.sh: perl module IPC::Run missing; apt-get install libipc-run-perl" >&2
	exit 1
fi

test_user=${RB_TEST_USER:-rbtest}

# The lease manager tests start real rbufd processes and query them with
# rbufctl, the crash matrix runs rb_commit_logger: bring them up to date
# (make is a no-op when they are; a stale binary must never be tested),
# or, where build/ is not ours to write, require them; they are copied
# next to the tests below.
for b in rbufd rbufctl rb_commit_logger; do
	if [ ! -e build ] || [ -w build ]; then
		make --no-print-directory -s "build/bin/$b"
	elif [ ! -x "build/bin/$b" ]; then
		echo "run-tap.sh: build/bin/$b is missing and build/ is not writable; run make first" >&2
		exit 1
	fi
done

if [ $# -eq 0 ]; then
	set -- test/t/*.pl
fi

if [ "$(id -u)" = 0 ]; then
	make --no-print-directory -s -f mk/extension.mk PG_CONFIG="$PG_CONFIG" install
	if ! id "$test_user" >/dev/null 2>&1; then
		useradd --system --no-create-home --shell /usr/sbin/nologin "$test_user"
	fi
	# The checkout may sit where the test user cannot go (CI clones under
	# /root): run copies of the test scripts from a private directory.
	tap_dir=${RB_TAP_DIR:-$(mktemp -d /tmp/rb-tap.XXXXXX)}
	rm -rf "$tap_dir"
	mkdir -p "$tap_dir/t"
	for t in "$@" test/t/*.pm test/lib/amcheck.sql; do
		cp "$t" "$tap_dir/t/"
	done
	mkdir -p "$tap_dir/bin"
	cp build/bin/rbufd build/bin/rbufctl build/bin/rb_commit_logger "$tap_dir/bin/"
	chown -R "$test_user" "$tap_dir"
	run_as="runuser -u $test_user --"
else
	if [ ! -e "$pkglibdir/remote_buffer.so" ]; then
		echo "run-tap.sh: $pkglibdir/remote_buffer.so not installed; run 'make install' as root first (or run this script as root)" >&2
		exit 1
	fi
	tap_dir=${RB_TAP_DIR:-$top/build/tap}
	rm -rf "$tap_dir"
	mkdir -p "$tap_dir/t"
	for t in "$@" test/t/*.pm test/lib/amcheck.sql; do
		cp "$t" "$tap_dir/t/"
	done
	mkdir -p "$tap_dir/bin"
	cp build/bin/rbufd build/bin/rbufctl build/bin/rb_commit_logger "$tap_dir/bin/"
	run_as=
fi
echo "# TAP logs: $tap_dir/tmp_check/log"
cd "$tap_dir"
set -- t/*.pl

# tmp_check/ inside TESTDIR must be writable by the test user; everything
# else (test scripts, installed extension) only needs to be readable.
rc=0
$run_as env \
	PATH="$bindir:$PATH" \
	PERL5LIB="$tap_dir/t:$perl_lib${PERL5LIB:+:$PERL5LIB}" \
	PG_REGRESS="$pg_regress" \
	TESTDIR="$tap_dir" \
	PG_TEST_PORT_DIR="$tap_dir" \
	RBUFD="$tap_dir/bin/rbufd" \
	RBUFCTL="$tap_dir/bin/rbufctl" \
	RB_COMMIT_LOGGER="$tap_dir/bin/rb_commit_logger" \
	prove ${PROVE_FLAGS:---timer} "$@" || rc=$?
if [ "$rc" = 0 ] && [ -z "${RB_TAP_DIR:-}" ] && [ "$(id -u)" = 0 ]; then
	cd /
	rm -rf "$tap_dir"
fi
exit "$rc"
