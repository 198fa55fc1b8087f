#!/usr/bin/env bash
# micro-rdma-guest.sh -- the rbufd micro-benchmark over EMULATED RDMA: runs
# bench/micro.sh twice inside the Soft-RoCE qemu guest (test/rdma/guest-run.sh),
# once over TCP and once over one-sided RDMA, both between the guest's
# "host A" and "host B" addresses, and copies both results to bench/results/
# (file names micro-tcp-*/micro-rdma-*, notes labelled EMULATED).
#
# The guest runs under qemu's TCG (software CPU emulation) and rdma_rxe
# implements RDMA in its kernel: the figures measure the emulation, never
# RDMA hardware.  See docs/rdma.md for running micro.sh on real hardware.
#
# Environment: MICRO_SECONDS (3), MICRO_CLIENTS (2), RB_GUEST_RUN (guest
# runner, default test/rdma/guest-run.sh); the other MICRO_* of micro.sh.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
cd "$ROOT" || exit 1

if [ "${RB_GUEST:-0}" = 1 ]; then
	note="EMULATED: Soft-RoCE (rdma_rxe) inside a qemu TCG guest; says nothing about RDMA hardware"
	for t in tcp rdma; do
		MICRO_TRANSPORT=$t MICRO_LISTEN=$RB_RDMA_ADDR_B MICRO_OUT=$RB_GUEST_OUT \
			MICRO_NOTE="$note" MICRO_MEMORY=${MICRO_MEMORY:-64M} \
			MICRO_LEASE_MB=${MICRO_LEASE_MB:-8} MICRO_SECONDS=${MICRO_SECONDS:-3} \
			MICRO_CLIENTS=${MICRO_CLIENTS:-2} bench/micro.sh || exit 1
	done
	exit 0
fi

RUNNER=${RB_GUEST_RUN:-$ROOT/test/rdma/guest-run.sh}
out=$(mktemp -d /tmp/rbuf-micro-rdma.XXXXXX)
chmod 1777 "$out"
trap 'rm -rf "$out"' EXIT
RB_GUEST_OUT=$out RB_GUEST_TIMEOUT=${RB_GUEST_TIMEOUT:-600} \
	RB_GUEST_ENV="MICRO_SECONDS MICRO_CLIENTS MICRO_BATCH MICRO_MEMORY MICRO_LEASE_MB MICRO_PAGE_SIZE RBUFD RBUF_BENCH" \
	"$RUNNER" "$HERE/micro-rdma-guest.sh"
rc=$?
if [ $rc -eq 0 ]; then
	mkdir -p bench/results
	cp "$out"/micro-*.json "$out"/micro-*.md bench/results/
	echo "copied to bench/results: $(cd "$out" && ls micro-*)"
fi
exit $rc
