# test/rdma/lib.sh -- host side of the RDMA suites that run a script in
# the Soft-RoCE guest (run-client-test.sh, run-extension-test.sh).
#
#   guest_tap SCRIPT TIMEOUT_S FILE...
#
# Skips (TAP "1..0 # SKIP", exit 0) when a FILE is missing or the guest
# cannot run (no runner, guest-run.sh exit 77); otherwise boots the guest
# with RB_GUEST_ENV="B", prints the script's TAP and exits with its
# status.  A guest that died or timed out without a "not ok" line gets
# one, so the failure is counted.
guest_tap() {
	local script=$1 timeout=$2 f out rc runner
	shift 2
	for f in "$@"; do
		if [ ! -e "$f" ]; then
			echo "1..0 # SKIP $f not built (run make)"
			exit 0
		fi
	done
	runner=${RB_GUEST_RUN:-$(dirname "$script")/guest-run.sh}
	if [ ! -x "$runner" ]; then
		echo "1..0 # SKIP no guest runner ($runner)"
		exit 0
	fi
	out=$(RB_GUEST_TIMEOUT=${RB_GUEST_TIMEOUT:-$timeout} RB_GUEST_ENV="B" "$runner" "$script")
	rc=$?
	if [ $rc -eq 77 ]; then
		echo "1..0 # SKIP $(echo "$out" | sed -n 's/^SKIP //p' | head -1)"
		exit 0
	fi
	echo "$out"
	if [ $rc -ne 0 ] && ! echo "$out" | grep -q '^not ok'; then
		echo "not ok - guest run failed with status $rc"
		echo "1..$(($(echo "$out" | grep -cE '^(not )?ok ') + 1))"
	fi
	exit $rc
}
