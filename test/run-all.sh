#!/usr/bin/env bash
# run-all.sh -- run every test suite of remote_buffer and count TAP results.
#
# Each suite is a command printing TAP ("ok N - ...", "not ok N - ...",
# "# SKIP").  A suite that exits non-zero, or prints no plan, counts one
# extra failure.  Full output of each suite goes to build/test-logs/; a
# failing suite's output is also shown.  The last line is
#   N passed, N failed, N skipped
# and the exit status is non-zero if anything failed.
set -uo pipefail

cd "$(dirname "$0")/.."
LOGDIR=build/test-logs
mkdir -p "$LOGDIR"

passed=0
failed=0
skipped=0
failed_suites=()

# Suites: name|command.  Only-if conditions live in the commands themselves
# (they print "ok N # SKIP reason").
SUITES=(
	"rbufd|build/bin/test_rbufd"
	"rbufd-asan|env RBUFD=build/asan/bin/rbufd RBUFCTL=build/asan/bin/rbufctl ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 build/asan/bin/test_rbufd"
	"regress-ext|test/pg_regress/run.sh"
	"regress-core|test/regress-core/run.sh"
	"hammer-tsan|test/hammer/run-tsan.sh"
	"fuzz-smoke|test/fuzz/run-smoke.sh"
	"rdma-guest|test/rdma/smoke.sh"
	"rdma-client|test/rdma/run-client-test.sh"
	"rdma-extension|test/rdma/run-extension-test.sh"
)
if [ -x test/run-tap.sh ]; then
	SUITES+=("extension-tap|env PROVE_FLAGS=-v test/run-tap.sh")
fi
SUITES+=("faults|test/faults/run.sh")
if [ -n "${RB_TEST_ONLY:-}" ]; then
	sel=()
	for s in "${SUITES[@]}"; do
		case ",$RB_TEST_ONLY," in *",${s%%|*},"*) sel+=("$s") ;; esac
	done
	SUITES=("${sel[@]}")
fi

for entry in "${SUITES[@]}"; do
	name=${entry%%|*}
	cmd=${entry#*|}
	log="$LOGDIR/$name.log"
	start=$(date +%s)
	echo "=== suite $name: $cmd"
	bash -c "$cmd" </dev/null >"$log" 2>&1
	rc=$?
	end=$(date +%s)
	p=$(grep -cE '^ok [0-9]+' "$log" | tr -d ' ')
	s=$(grep -cE '^ok [0-9]+.*# (SKIP|skip)' "$log" | tr -d ' ')
	f=$(grep -cE '^not ok [0-9]+' "$log" | tr -d ' ')
	plan=$(grep -cE '^1\.\.[0-9]+' "$log" | tr -d ' ')
	p=$((p - s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - suite $name exited with status $rc" >>"$log"
	fi
	if [ "$plan" -eq 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - suite $name printed no TAP plan" >>"$log"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	echo "    $name: $p passed, $f failed, $s skipped ($((end - start)) s; log $log)"
	grep -E '# SKIP' "$log" | sed 's/^/    /' || true
	if [ "$f" -gt 0 ]; then
		failed_suites+=("$name")
		echo "--- output of $name:"
		cat "$log"
		echo "--- end of $name"
	fi
done

if [ ${#failed_suites[@]} -gt 0 ]; then
	echo "failed suites: ${failed_suites[*]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
