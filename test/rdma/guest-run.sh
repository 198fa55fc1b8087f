#!/usr/bin/env bash
# guest-run.sh -- run one host script inside a throw-away qemu guest that has
# two Soft-RoCE (rdma_rxe) devices, so RDMA code can be tested on a machine
# whose own kernel has no RDMA.  See docs/rdma-guest.md.
#
# Usage:  test/rdma/guest-run.sh <script> [args...]
#
# The guest's root is the host's root (read-only, with a tmpfs overlay for
# writes), so <script>, the cwd, /work, /usr, build trees, ... are all at the
# same paths and host-built binaries run unchanged.  Inside the guest the
# script runs as root (or RB_GUEST_USER) in the host's cwd with
# `ulimit -l unlimited`, and finds in its environment:
#   RB_GUEST=1
#   RB_RDMA_DEV_A=rxe0      RB_RDMA_NETDEV_A=veth-a  RB_RDMA_ADDR_A=10.77.0.1
#   RB_RDMA_DEV_B=rxe1      RB_RDMA_NETDEV_B=veth-b  RB_RDMA_ADDR_B=10.77.0.2
#   RB_RDMA_GID_INDEX_A / RB_RDMA_GID_INDEX_B   RoCE v2 GID index of the IPv4
#                           address on rxe0 / rxe1 (for ibv_* -g)
#   RB_GUEST_OUT=<dir>      the writable results directory (same path as host)
# Traffic between 10.77.0.1 and 10.77.0.2 crosses the veth pair (and so the
# rxe devices); nothing reaches the outside world.
#
# Environment (all optional):
#   RB_GUEST_OUT=<dir>     host directory shared writable with the guest at the
#                          same path (results, logs); created mode 1777 if
#                          missing, else it must be writable by the script's
#                          user.  Default: a fresh temp directory (1777),
#                          removed afterwards unless RB_GUEST_KEEP=1.
#   RB_GUEST_TIMEOUT=<s>   hard wall-clock limit for the whole guest (300)
#   RB_GUEST_USER=<name>   run the script as this user (e.g. rbtest), not root
#   RB_GUEST_ENV="A B ..." names of host environment variables to pass in
#   RB_GUEST_MEM=<MiB>     guest memory (2048); RB_GUEST_CPUS=<n> vCPUs (2)
#   RB_GUEST_VERBOSE=1     stream the guest console to stderr while it runs
#   RB_GUEST_KEEP=1        keep the default temp results directory
#
# Output: the script's stdout+stderr (merged), on stdout once the guest ends.
# Exit status: the script's own exit status, or
#   77   the guest cannot run here; stdout has one line "SKIP <reason>"
#   124  the wall-clock limit expired (guest killed)
#   125  the guest failed without reporting the script's status
# On 124/125 the tail of the guest console goes to stderr.  The full console
# log, the job file, output, status and guest timing are in
# <RB_GUEST_OUT>/.rbguest/.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)

if [ $# -lt 1 ]; then
	sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
	exit 64
fi

skip() {
	echo "SKIP $*"
	exit 77
}

QEMU=$(command -v qemu-system-x86_64 || true)
[ -n "$QEMU" ] || skip "no qemu-system-x86_64 (Debian package qemu-system-x86)"

script=$(realpath -e -- "$1" 2>/dev/null) || { echo "guest-run: no such script: $1" >&2; exit 64; }
shift

kout=$("$HERE/get-kernel.sh")
krc=$?
if [ $krc -ne 0 ]; then
	case "$kout" in
		SKIP*) skip "${kout#SKIP }" ;;
		*) skip "get-kernel.sh failed ($krc)" ;;
	esac
fi
KDIR=$kout
kver=$(ls "$KDIR/lib/modules" | head -1)
# The uncompressed PVH-bootable ELF when get-kernel.sh could make it (boots
# seconds faster under emulation), else the bzImage.
VMLINUZ=$KDIR/boot/vmlinux-$kver
[ -f "$VMLINUZ" ] || VMLINUZ=$KDIR/boot/vmlinuz-$kver
[ -f "$VMLINUZ" ] || skip "no kernel image $VMLINUZ"

TIMEOUT=${RB_GUEST_TIMEOUT:-300}
MEM=${RB_GUEST_MEM:-2048}
CPUS=${RB_GUEST_CPUS:-2}

own_out=0
if [ -n "${RB_GUEST_OUT:-}" ]; then
	if [ ! -d "$RB_GUEST_OUT" ]; then
		mkdir -p "$RB_GUEST_OUT" || exit 125
		# made here, so ours to open up to an RB_GUEST_USER script
		chmod 1777 "$RB_GUEST_OUT"
	fi
	OUT=$(realpath -e "$RB_GUEST_OUT")
else
	OUT=$(mktemp -d "${TMPDIR:-/tmp}/rbguest.XXXXXX") || exit 125
	# The script may run as another user: let it write its results.
	chmod 1777 "$OUT"
	own_out=1
fi
case "$OUT" in
	*[[:space:]]*) echo "guest-run: results path must not contain blanks: $OUT" >&2; exit 64 ;;
esac
G=$OUT/.rbguest
rm -rf "$G"
mkdir -p "$G"
chmod 0755 "$G"

tail_pid=
cleanup() {
	[ -n "$tail_pid" ] && kill "$tail_pid" 2>/dev/null
	if [ $own_out -eq 1 ] && [ "${RB_GUEST_KEEP:-0}" != 1 ] && [ "${keep_for_debug:-0}" != 1 ]; then
		rm -rf "$OUT"
	fi
}
trap cleanup EXIT

# The initramfs depends only on the kernel and the two scripts that make it:
# build it once per combination (next to the kernel when that is writable).
sum=$(cat "$HERE/mkinitramfs.sh" "$HERE/guest-init.sh" | sha256sum | cut -c1-16)
INITRD=$KDIR/initramfs-$sum.cpio.gz
if [ ! -f "$INITRD" ]; then
	if ! [ -w "$KDIR" ]; then
		INITRD=$G/initramfs.cpio.gz
	fi
	"$HERE/mkinitramfs.sh" "$KDIR" "$INITRD" >"$G/mkinitramfs.log" 2>&1 ||
		skip "mkinitramfs.sh failed: $(tail -1 "$G/mkinitramfs.log")"
	# Images of older script versions: drop once nobody can be starting them.
	find "$KDIR" -maxdepth 1 -name 'initramfs-*.cpio.gz' -mmin +1440 -delete 2>/dev/null
fi

# The job: what the guest's init runs with the host's bash.
{
	echo '#!/bin/bash'
	echo '# generated by test/rdma/guest-run.sh'
	printf 'export PATH=%q\n' "$PATH"
	echo 'export HOME=/root LANG=C.UTF-8 TERM=dumb'
	echo '. /run/rbguest/env'
	for v in ${RB_GUEST_ENV:-}; do
		if [ -n "${!v+x}" ]; then
			printf 'export %s=%q\n' "$v" "${!v}"
		fi
	done
	echo 'ulimit -l unlimited'
	echo 'ulimit -c 0'
	printf 'cd -- %q || exit 125\n' "$PWD"
	cmd=()
	if [ -x "$script" ]; then
		cmd=("$script" "$@")
	else
		cmd=(/bin/bash "$script" "$@")
	fi
	if [ -n "${RB_GUEST_USER:-}" ]; then
		printf 'u=%q\n' "$RB_GUEST_USER"
		# shellcheck disable=SC2016
		echo 'home=$(getent passwd "$u" | cut -d: -f6) || { echo "guest: no user $u" >&2; exit 125; }'
		# shellcheck disable=SC2016
		printf 'exec setpriv --reuid="$u" --regid="$u" --init-groups env HOME="$home" USER="$u" LOGNAME="$u"'
		printf ' %q' "${cmd[@]}"
		echo
	else
		printf 'exec'
		printf ' %q' "${cmd[@]}"
		echo
	fi
} >"$G/job"
chmod 0755 "$G/job"

if [ "${RB_GUEST_VERBOSE:-0}" = 1 ]; then
	: >"$G/console.log"
	tail -n +1 -f "$G/console.log" >&2 &
	tail_pid=$!
fi

t0=$(date +%s.%N)
timeout -k 10 "$TIMEOUT" "$QEMU" \
	-accel tcg,thread=multi -cpu max -smp "$CPUS" -m "$MEM" \
	-nodefaults -no-user-config -display none -monitor none -no-reboot \
	-serial "file:$G/console.log" \
	-kernel "$VMLINUZ" -initrd "$INITRD" \
	-append "console=ttyS0 panic=-1 quiet loglevel=3 rbguest.out=$OUT" \
	-fsdev "local,id=rbroot,path=/,security_model=none,readonly=on,multidevs=remap" \
	-device virtio-9p-pci,fsdev=rbroot,mount_tag=rbroot \
	-fsdev "local,id=rbout,path=$OUT,security_model=none,multidevs=remap" \
	-device virtio-9p-pci,fsdev=rbout,mount_tag=rbout \
	</dev/null >"$G/qemu.log" 2>&1
qrc=$?
t1=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "wall_seconds %.1f\n", b - a }' >>"$G/timing"

if [ -n "$tail_pid" ]; then
	sleep 0.2
	kill "$tail_pid" 2>/dev/null
	wait "$tail_pid" 2>/dev/null
	tail_pid=
fi

[ -f "$G/output" ] && cat "$G/output"

report_failure() {
	keep_for_debug=1
	echo "guest-run: $1 (logs kept in $G)" >&2
	[ -f "$G/fatal" ] && echo "guest-run: guest says: $(cat "$G/fatal")" >&2
	echo "guest-run: last console lines ($G/console.log):" >&2
	tail -n 30 "$G/console.log" 2>/dev/null | sed 's/^/  | /' >&2
	[ -s "$G/qemu.log" ] && sed 's/^/  qemu: /' "$G/qemu.log" >&2
}

if [ $qrc -eq 124 ] || [ $qrc -eq 137 ]; then
	report_failure "guest killed after the ${TIMEOUT}s wall-clock limit"
	exit 124
fi
if [ ! -f "$G/status" ]; then
	report_failure "guest ended (qemu status $qrc) without the script's status"
	exit 125
fi
exit "$(cat "$G/status")"
