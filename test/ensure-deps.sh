#!/usr/bin/env bash
# ensure-deps.sh -- install the Debian packages remote_buffer needs to build
# and test.  As root it installs what is missing; otherwise it prints the
# exact apt-get line and exits non-zero.  Package list: one place, here.
set -euo pipefail

PKGS=(
	build-essential			# gcc, make (and gcc's sanitizer runtimes)
	clang					# libFuzzer for the protocol fuzzer
	libclang-rt-14-dev		# clang's sanitizer/fuzzer runtimes
	libssl-dev				# HMAC authentication (libcrypto)
	libnuma-dev				# NUMA placement in rbufd
	libibverbs-dev			# RDMA data path (rdma-core)
	librdmacm-dev
	postgresql-15			# the server we extend (amcheck is in it)
	postgresql-server-dev-15	# PGXS
	postgresql-client-15	# psql, pgbench
	libipc-run-perl			# PostgreSQL::Test::Cluster (TAP)
	iproute2				# network namespaces for fault tests
	procps					# pkill, ps in test scripts
	python3					# small helpers in test scripts
	dpkg-dev				# apt-get source (test/regress-core/get-source.sh)
	libpq-dev				# rb_commit_logger (crash matrix client)
	# RDMA test guest (test/rdma/, docs/rdma-guest.md)
	qemu-system-x86			# the guest (full emulation)
	busybox-static			# the guest's initramfs
	kmod					# depmod for the guest kernel's modules.dep
	xz-utils				# unpack the guest kernel's bzImage
	rdma-core				# RDMA user space the guest runs from the host root
	ibverbs-providers		# librxe (Soft-RoCE provider)
	ibverbs-utils			# ibv_devices, ibv_rc_pingpong (smoke test)
	rdmacm-utils			# rping (smoke test)
	perftest				# ib_read_lat (smoke test)
	gnuplot-nox				# bench/: the lab's PNG plot
)

missing=()
for p in "${PKGS[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
		*"install ok installed"*) ;;
		*) missing+=("$p") ;;
	esac
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "remote_buffer: missing Debian packages: ${missing[*]}" >&2
	echo "install them with:" >&2
	echo "  sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi

echo "remote_buffer: installing missing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q </dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
