#!/bin/bash
# bench/micro.sh -- rbufd page read/write micro-benchmark.
#
# Starts a private rbufd on an ephemeral loopback port (fresh secret in a
# mode-0600 temp dir), runs rbuf_bench over {read, write, readv} x {1, N
# clients}, always stops rbufd, and writes
#   bench/results/micro-<UTC timestamp>.json   machine info, settings, results
#   bench/results/micro-<UTC timestamp>.md     Markdown summary table
# Builds nothing: expects $RBUFD and $RBUF_BENCH (default build/bin/...).
#
# Environment: MICRO_SECONDS (5) per run, MICRO_CLIENTS (4) for the
# multi-client runs, MICRO_BATCH (8) pages per READV, MICRO_RBUFD_THREADS
# (2), MICRO_MEMORY (512M), MICRO_LEASE_MB (32) per client,
# MICRO_PAGE_SIZE (8192), MICRO_TRANSPORT (tcp, or rdma: rbufd runs with
# --rdma on and the clients use one-sided RDMA READ/WRITE), MICRO_LISTEN
# (127.0.0.1; for rdma an address on the RDMA device), MICRO_OUT
# (bench/results), MICRO_NOTE (added to the result's note, e.g. to label an
# emulated device).

set -euo pipefail
cd "$(dirname "$0")/.."

RBUFD=${RBUFD:-build/bin/rbufd}
RBUF_BENCH=${RBUF_BENCH:-build/bin/rbuf_bench}
SECS=${MICRO_SECONDS:-5}
CLIENTS=${MICRO_CLIENTS:-4}
BATCH=${MICRO_BATCH:-8}
RBUFD_THREADS=${MICRO_RBUFD_THREADS:-2}
MEMORY=${MICRO_MEMORY:-512M}
LEASE_MB=${MICRO_LEASE_MB:-32}
PAGE_SIZE=${MICRO_PAGE_SIZE:-8192}
TRANSPORT=${MICRO_TRANSPORT:-tcp}
LISTEN=${MICRO_LISTEN:-127.0.0.1}
OUTDIR=${MICRO_OUT:-bench/results}
EXTRA_NOTE=${MICRO_NOTE:-}
case "$TRANSPORT" in
	tcp) rdma_flag=off ;;
	rdma) rdma_flag=on ;;
	*) echo "micro.sh: MICRO_TRANSPORT must be tcp or rdma" >&2; exit 2 ;;
esac

for b in "$RBUFD" "$RBUF_BENCH"; do
	if [ ! -x "$b" ]; then
		echo "micro.sh: $b not found; build it first (make rb-all)" >&2
		exit 2
	fi
done

work=$(mktemp -d /tmp/rbuf-micro.XXXXXX)
rbufd_pid=

stop_rbufd() {
	[ -n "$rbufd_pid" ] || return 0
	kill -CONT "$rbufd_pid" 2>/dev/null || true
	kill -TERM "$rbufd_pid" 2>/dev/null || true
	for _ in $(seq 1 100); do
		kill -0 "$rbufd_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$rbufd_pid" 2>/dev/null || true
	wait "$rbufd_pid" 2>/dev/null || true
	rbufd_pid=
}
cleanup() {
	stop_rbufd
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/secret")
"$RBUFD" --listen "$LISTEN" --rdma "$rdma_flag" --port 0 --port-file "$work/port" \
	--memory "$MEMORY" --secret-file "$work/secret" \
	--threads "$RBUFD_THREADS" --log-level warning >"$work/rbufd.log" 2>&1 &
rbufd_pid=$!
for _ in $(seq 1 750); do
	[ -s "$work/port" ] && break
	if ! kill -0 "$rbufd_pid" 2>/dev/null; then
		break
	fi
	sleep 0.02
done
if [ ! -s "$work/port" ]; then
	echo "micro.sh: rbufd did not start; its log:" >&2
	sed 's/^/  /' "$work/rbufd.log" >&2
	exit 1
fi
port=$(cat "$work/port")

ts=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUTDIR"
json=$OUTDIR/micro-$TRANSPORT-$ts.json
md=$OUTDIR/micro-$TRANSPORT-$ts.md

nproc=$(nproc)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1 | tr -d '"\\')
kernel=$(uname -r)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo none)

# field NAME JSON -> the number after "NAME": in rbuf_bench's one-line JSON
field() {
	sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" <<<"$2"
}

results=()
rows=()
run() {
	local mode=$1 clients=$2 out
	echo "running: $mode, $clients client(s), ${SECS}s ..." >&2
	if ! out=$("$RBUF_BENCH" --host "$LISTEN" --port "$port" --transport "$TRANSPORT" \
		--secret-file "$work/secret" --threads "$clients" --seconds "$SECS" \
		--mode "$mode" --batch "$BATCH" --page-size "$PAGE_SIZE" \
		--lease-mb "$LEASE_MB"); then
		echo "micro.sh: rbuf_bench failed ($mode, $clients clients)" >&2
		exit 1
	fi
	results+=("$out")
	rows+=("$(printf '| %-6s | %7s | %10s | %10s | %8s | %8s |' "$mode" "$clients" \
		"$(field ops_per_sec "$out")" "$(field pages_per_sec "$out")" \
		"$(field p50 "$out")" "$(field p99 "$out")")")
}

for mode in read write readv; do
	run "$mode" 1
	run "$mode" "$CLIENTS"
done
stop_rbufd

if [ "$TRANSPORT" = rdma ]; then
	note="client threads and rbufd share this ${nproc}-CPU host; data by one-sided RDMA READ/WRITE to $LISTEN"
else
	note="client threads and rbufd share this ${nproc}-CPU host over TCP to $LISTEN"
fi
[ -n "$EXTRA_NOTE" ] && note="$EXTRA_NOTE; $note"
if [ "$nproc" -le 4 ]; then
	note="$note; small, shared and possibly noisy machine: numbers are indicative only, draw no conclusions from them"
fi

{
	printf '{"benchmark":"rbufd-micro","timestamp":"%s","commit":"%s",' "$ts" "$commit"
	printf '"machine":{"nproc":%s,"cpu":"%s","kernel":"%s"},' "$nproc" "$cpu" "$kernel"
	printf '"settings":{"seconds":%s,"clients":%s,"batch":%s,"page_size":%s,' \
		"$SECS" "$CLIENTS" "$BATCH" "$PAGE_SIZE"
	printf '"rbufd_threads":%s,"rbufd_memory":"%s","lease_mb":%s,"auth":true,' \
		"$RBUFD_THREADS" "$MEMORY" "$LEASE_MB"
	printf '"transport":"%s","listen":"%s"},"note":"%s","results":[' "$TRANSPORT" "$LISTEN" "$note"
	sep=
	for r in "${results[@]}"; do
		printf '%s%s' "$sep" "$r"
		sep=,
	done
	printf ']}\n'
} >"$json"

{
	echo "# rbufd micro-benchmark $ts ($TRANSPORT)"
	echo
	echo "Machine: $nproc CPUs, $cpu, Linux $kernel; commit $commit."
	echo "Settings: ${SECS}s per run, ${PAGE_SIZE}-byte pages, READV batch $BATCH,"
	echo "rbufd --threads $RBUFD_THREADS --memory $MEMORY, ${LEASE_MB} MiB lease per client;"
	echo "transport $TRANSPORT to $LISTEN."
	echo
	echo "Note: $note."
	echo
	echo "| mode   | clients |      ops/s |    pages/s | p50 (us) | p99 (us) |"
	echo "|--------|---------|------------|------------|----------|----------|"
	for row in "${rows[@]}"; do
		echo "$row"
	done
} >"$md"

cat "$md"
echo
echo "results: $json"
