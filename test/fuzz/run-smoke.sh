#!/usr/bin/env bash
# run-smoke.sh -- a short libFuzzer run of the rbufd protocol parser inside
# `make test` (the long run is `make fuzz FUZZ_SECONDS=...`).  Prints TAP.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/lib/rbufd.sh

secs=${FUZZ_SMOKE_SECONDS:-20}
log=$(mktemp)
make --no-print-directory fuzz FUZZ_SECONDS="$secs" >"$log" 2>&1
rc=$?
runs=$(grep -oE 'Done [0-9]+ runs' "$log" | tail -n 1)
echo "# fuzz ${secs}s: ${runs:-no run count}"
if [ "$rc" -ne 0 ]; then
	tail -n 40 "$log" | sed 's/^/#   /'
fi
tap_ok $rc "protocol fuzzer ran ${secs}s without a crash, leak or sanitizer report"
[ -n "$runs" ]
tap_ok $? "fuzzer reported its execution count"
rm -f "$log"
tap_done
