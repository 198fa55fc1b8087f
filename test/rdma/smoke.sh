#!/usr/bin/env bash
# smoke.sh -- TAP smoke test of the RDMA test guest (docs/rdma-guest.md).
#
# Boots the guest once through guest-run.sh and runs smoke-guest.sh in it:
# both rxe devices ACTIVE on their veths, routes across the veth pair, and
# RDMA traffic between rxe1 ("host B") and rxe0 ("host A") -- verbs SEND/
# RECV, RDMA CM with READ/WRITE, one-sided 8 KiB READs, and a non-root user
# -- each checked against the rxe and veth packet counters, which are printed
# as "# counter ..." lines.  The guest prints unnumbered TAP; this wrapper
# numbers it, adds the boot check, and prints the plan last.  When the guest
# cannot run here (no qemu, kernel not downloadable) it prints one skip.
#
# Usage: test/rdma/smoke.sh   (root the first time: fills the kernel cache)
# Takes ~1-1.5 minutes on the 2-core CI machine.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE/../.."

err=$(mktemp)
trap 'rm -f "$err"' EXIT

t0=$(date +%s)
out=$(RB_GUEST_TIMEOUT=${RB_GUEST_TIMEOUT:-240} "$HERE/guest-run.sh" "$HERE/smoke-guest.sh" 2>"$err")
rc=$?
t1=$(date +%s)

if [ $rc -eq 77 ]; then
	echo "1..1"
	echo "ok 1 # SKIP ${out#SKIP }"
	exit 0
fi

n=1
failed=0
if [ $rc -eq 124 ] || [ $rc -eq 125 ]; then
	failed=1
	echo "not ok 1 - guest booted and ran the smoke script (guest-run.sh exit $rc)"
	sed 's/^/# /' "$err"
else
	echo "ok 1 - guest booted and ran the smoke script ($((t1 - t0)) s wall)"
	[ -s "$err" ] && sed 's/^/# stderr: /' "$err"
fi

while IFS= read -r line; do
	case "$line" in
		"ok - "*) n=$((n + 1)); echo "ok $n - ${line#ok - }" ;;
		"ok # "*) n=$((n + 1)); echo "ok $n # ${line#ok # }" ;;
		"not ok - "*) n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - ${line#not ok - }" ;;
		"#"*) echo "$line" ;;
		*) echo "# $line" ;;
	esac
done <<<"$out"

# A guest script that failed without saying which check is a failure too.
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -ne 125 ] && [ $failed -eq 0 ]; then
	n=$((n + 1))
	failed=1
	echo "not ok $n - smoke-guest.sh exited with status $rc"
fi
echo "1..$n"
[ $failed -eq 0 ]
