#!/usr/bin/env bash
# run-tsan.sh -- concurrency suite, against rbufd built with
# ThreadSanitizer: the multi-threaded hammer (many clients: random leases,
# reads, writes, expiries, reconnects), then same-page contention (readers
# and writers of one owner on the same pages: no torn page may be served).
# Passes only if every byte verified and no process printed a TSan report.
# Prints TAP.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/rbufd.sh

SECONDS_RUN=${HAMMER_SECONDS:-20}
THREADS=${HAMMER_THREADS:-16}
SEED=${HAMMER_SEED:-$(date +%s)}
export TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1"

trap 'rbd_stop' EXIT
if ! rbd_start build/tsan/bin/rbufd --memory 64M --min-ttl 100 --threads 2 \
	--max-clients 512 --max-leases-per-client 256; then
	tap_ok 1 "start TSan rbufd"
	tap_done
	exit 1
fi
tap_ok 0 "start TSan rbufd (port $RBD_PORT)"

echo "# hammer: $THREADS threads, $SECONDS_RUN s, seed $SEED"
hlog=$RBD_DIR/hammer.log
build/tsan/bin/rbuf_hammer --host 127.0.0.1 --port "$RBD_PORT" \
	--secret-file "$RBD_SECRET" --threads "$THREADS" \
	--seconds "$SECONDS_RUN" --seed "$SEED" >"$hlog" 2>&1
hrc=$?
sed 's/^/#   /' "$hlog" | grep -v '^#   *$' | tail -n 40
tap_ok $hrc "hammer verified all data, no unexpected errors (seed $SEED)"
! grep -q 'ThreadSanitizer' "$hlog"
tap_ok $? "no ThreadSanitizer report in the hammer (client library)"

# Same pages, several connections of one owner: TSan client and daemon.
clog=$RBD_DIR/contend.log
build/tsan/bin/rbuf_contend --host 127.0.0.1 --port "$RBD_PORT" \
	--secret-file "$RBD_SECRET" --seconds 8 --pages 1 --writers 2 \
	--readers 2 >"$clog" 2>&1
crc=$?
sed 's/^/#   /' "$clog" | tail -n 10
tap_ok $crc "same-page readers and writers: no torn page, no error"
! grep -q 'ThreadSanitizer' "$clog"
tap_ok $? "no ThreadSanitizer report in the contention client"

rbd_stop
trap - EXIT
tap_ok "$RBD_STATUS" "TSan rbufd exits 0 on SIGTERM after the hammer"
if grep -q 'ThreadSanitizer' "$RBD_LOG"; then
	grep -A30 'WARNING: ThreadSanitizer' "$RBD_LOG" | head -80 | sed 's/^/#   /'
	tap_ok 1 "no ThreadSanitizer report in rbufd"
else
	tap_ok 0 "no ThreadSanitizer report in rbufd"
fi
rm -rf "$RBD_DIR"
tap_done
