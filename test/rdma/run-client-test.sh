#!/usr/bin/env bash
# run-client-test.sh -- the RDMA client/rbufd test (rdma_client_test.c) in the
# Soft-RoCE qemu guest: rbufd on "host B", the client library on "host A".
# Prints TAP.  When the guest cannot run here (no qemu, no kernel package,
# ...) prints "1..0 # SKIP <reason>" and exits 0.
#
#   test/rdma/run-client-test.sh          (after make; uses build/bin)
#
# Inside the guest (RB_GUEST=1) the same script runs the test binary and
# adds the devices' packet counters as TAP diagnostics.  Environment:
#   RB_GUEST_RUN   the guest runner (default: test/rdma/guest-run.sh)
#   B              build directory (default: build)
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
B=${B:-build}

counters() {
	local dev f
	for dev in ${RB_RDMA_DEV_A:-} ${RB_RDMA_DEV_B:-}; do
		for f in sent_pkts rcvd_pkts retry_exceeded_err send_err; do
			[ -r "/sys/class/infiniband/$dev/ports/1/hw_counters/$f" ] &&
				echo "# $1 $dev $f $(cat "/sys/class/infiniband/$dev/ports/1/hw_counters/$f")"
		done
	done
}

if [ "${RB_GUEST:-0}" = 1 ]; then
	cd "$ROOT" || exit 1
	counters before
	RBUFD=$B/bin/rbufd "$B/bin/rdma_client_test"
	rc=$?
	counters after
	exit $rc
fi

cd "$ROOT" || exit 1
. "$HERE/lib.sh"
guest_tap "$HERE/run-client-test.sh" 400 "$B/bin/rbufd" "$B/bin/rdma_client_test"
