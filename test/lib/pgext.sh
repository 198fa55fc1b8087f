# pgext.sh -- sourced by shell test scripts that run PostgreSQL servers with
# the remote_buffer extension (test/regress-core/run.sh,
# test/pg_regress/run.sh).
#
#   pgext_install TOP PG_CONFIG LOG    as root: build and install the
#                                      extension from checkout TOP
#                                      ("make -f mk/extension.mk install");
#                                      output to LOG, removed on success
#   pgext_ensure_user USER             as root: create the unprivileged
#                                      system user USER if missing
#   pgext_regress_results LOG          "NAME STATUS" per test of a
#                                      pg_regress stdout LOG; STATUS is ok,
#                                      FAILED or ignored
#
# Every function returns non-zero on failure and prints nothing else.

pgext_install() {
	local top=$1 pg_config=$2 log=$3
	# A concurrent "make install" (another suite) can make install(1) fail
	# with "File exists": retry once.
	if ! make --no-print-directory -s -C "$top" -f mk/extension.mk \
		PG_CONFIG="$pg_config" install >"$log" 2>&1; then
		sleep 3
		make --no-print-directory -s -C "$top" -f mk/extension.mk \
			PG_CONFIG="$pg_config" install >"$log" 2>&1 || return 1
	fi
	rm -f "$log"
}

pgext_ensure_user() {
	id "$1" >/dev/null 2>&1 ||
		useradd --system --no-create-home --shell /usr/sbin/nologin "$1"
}

pgext_regress_results() {
	# pg_regress lines: "test NAME ... ok  12 ms" (serial) or
	# "     NAME ... FAILED  12 ms" (in a parallel group); "failed (ignored)"
	# for tests marked "ignore:".
	sed -nE 's/^(test|    ) +([^ ]+) +\.\.\. +(ok|FAILED|failed \(ignored\)).*/\2 \3/p' \
		"$1" | sed 's/failed (ignored)/ignored/'
}
