# rbufd.sh -- sourced by shell test scripts: start/stop a real rbufd on an
# ephemeral loopback port with a fresh secret, and print TAP.
#
#   rbd_start BINARY [extra rbufd args...]   sets RBD_PID RBD_PORT RBD_DIR
#                                            RBD_SECRET RBD_LOG
#   rbd_stop                                 SIGTERM, wait, SIGKILL at 10 s;
#                                            sets RBD_STATUS
#   tap_ok COND_EXIT_STATUS "description"    prints ok/not ok
#   tap_done                                 prints the plan

TAP_N=0
TAP_FAILED=0

tap_ok() {
	local rc=$1
	shift
	TAP_N=$((TAP_N + 1))
	if [ "$rc" -eq 0 ]; then
		echo "ok $TAP_N - $*"
	else
		echo "not ok $TAP_N - $*"
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
}

tap_skip() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $2 # SKIP $1"
}

tap_done() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}

rbd_start() {
	local bin=$1
	shift
	RBD_DIR=$(mktemp -d /tmp/rbtest.XXXXXX)
	RBD_SECRET=$RBD_DIR/secret
	RBD_LOG=$RBD_DIR/rbufd.log
	(umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$RBD_SECRET")
	"$bin" --listen 127.0.0.1 --port 0 --port-file "$RBD_DIR/port" \
		--secret-file "$RBD_SECRET" "$@" >"$RBD_LOG" 2>&1 &
	RBD_PID=$!
	local i
	for i in $(seq 1 750); do
		if [ -s "$RBD_DIR/port" ]; then
			RBD_PORT=$(cat "$RBD_DIR/port")
			return 0
		fi
		kill -0 "$RBD_PID" 2>/dev/null || break
		sleep 0.02
	done
	echo "# rbufd did not start; log:"
	sed 's/^/#   /' "$RBD_LOG"
	return 1
}

rbd_stop() {
	[ -n "${RBD_PID:-}" ] || return 0
	kill -CONT "$RBD_PID" 2>/dev/null
	kill -TERM "$RBD_PID" 2>/dev/null
	local i
	for i in $(seq 1 100); do
		kill -0 "$RBD_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$RBD_PID" 2>/dev/null; then
		echo "# rbufd ignored SIGTERM for 10 s; killing it"
		kill -KILL "$RBD_PID" 2>/dev/null
	fi
	wait "$RBD_PID"
	RBD_STATUS=$?
	RBD_PID=
}
