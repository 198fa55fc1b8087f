#!/usr/bin/env bash
# get-kernel.sh -- fetch and unpack the Debian bookworm kernel the RDMA test
# guest boots (test/rdma/guest-run.sh).
#
# Why a Debian kernel: the host kernel has no RDMA at all, and Debian's
# linux-image-6.1.0-*-amd64 ships rdma_rxe (Soft-RoCE) as a module.  The newest
# such package apt knows of is downloaded with `apt-get download` and unpacked
# with `dpkg-deb -x` under the cache directory; nothing is installed on the host.
#
# Usage: get-kernel.sh            (root, or a cache that is already filled)
# Prints the unpacked kernel directory on stdout, e.g.
#   /var/cache/remote_buffer/rdma-kernel/6.1.0-56-amd64
# which holds boot/vmlinuz-<ver> and lib/modules/<ver>/.
# Exit 0: ready.  Exit 2: cannot download and nothing is cached; the reason
# is printed on stdout as "SKIP <reason>" (callers turn it into a TAP skip).
# Environment: RB_RDMA_CACHE (default /var/cache/remote_buffer/rdma-kernel);
# RB_RDMA_KERNEL_REFRESH=1 asks apt for a newer kernel even if it was asked
# less than a day ago.
set -euo pipefail

CACHE=${RB_RDMA_CACHE:-/var/cache/remote_buffer/rdma-kernel}

# Newest complete unpacked kernel in the cache (highest ABI number), if any.
cached() {
	local d best=
	best=$(for d in "$CACHE"/6.1.0-*-amd64; do
		[ -f "$d/.complete" ] && echo "$d"
	done | sort -t- -k2,2n | tail -1)
	[ -n "$best" ] || return 1
	echo "$best"
}

# Debian's bzImage is xz-compressed, and unpacking it under full CPU emulation
# costs the guest many seconds per boot.  The kernel is built with
# CONFIG_PVH, so qemu can boot the uncompressed ELF vmlinux directly: unpack
# it once, here.  Best effort: without it guest-run.sh boots the bzImage.
ensure_vmlinux() {
	local d=$1 v z off t
	v=$(ls "$d/lib/modules" | head -1)
	z=$d/boot/vmlinuz-$v
	[ -f "$d/boot/vmlinux-$v" ] && return 0
	[ -w "$d/boot" ] && [ -f "$z" ] || return 0
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$z" | head -1 | cut -d: -f1)
	[ -n "$off" ] || return 0
	# xz complains about the bytes after the stream; the ELF check decides.
	t=$(mktemp "$d/boot/.vmlinux.XXXXXX") || return 0
	tail -c +$((off + 1)) "$z" | xz -dc >"$t" 2>/dev/null || true
	if [ "$(head -c 4 "$t" | od -An -c | tr -d ' ')" = '177ELF' ]; then
		chmod 0644 "$t"
		mv -f "$t" "$d/boot/vmlinux-$v"
	else
		rm -f "$t"
	fi
}

skip() {
	local why=$1
	if c=$(cached); then
		echo "$c"
		exit 0
	fi
	echo "SKIP $why"
	exit 2
}

# Asking apt for the newest ABI costs seconds per guest run: once a day is
# enough (RB_RDMA_KERNEL_REFRESH=1 asks now).
if [ "${RB_RDMA_KERNEL_REFRESH:-0}" != 1 ] && c=$(cached) &&
	[ -n "$(find "$CACHE/.checked" -mmin -1440 2>/dev/null)" ]; then
	echo "$c"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	skip "not root: cannot download the guest kernel into $CACHE"
fi
command -v apt-cache >/dev/null || skip "no apt-cache on this host"

# Newest ABI of the plain amd64 flavour (not -cloud-, -rt-).
pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' 2>/dev/null |
	awk '{print $1}' | sort -t- -k5,5n | tail -1 || true)
if [ -z "$pkg" ]; then
	apt-get update -q >/dev/null 2>&1 || true
	pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' 2>/dev/null |
		awk '{print $1}' | sort -t- -k5,5n | tail -1 || true)
fi
[ -n "$pkg" ] || skip "apt knows no linux-image-6.1.0-*-amd64 package"
mkdir -p "$CACHE"
touch "$CACHE/.checked"
ver=${pkg#linux-image-}
dest=$CACHE/$ver
if [ -f "$dest/.complete" ]; then
	ensure_vmlinux "$dest"
	echo "$dest"
	exit 0
fi

mkdir -p "$CACHE"
tmp=$(mktemp -d "$CACHE/.dl.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# apt-get download runs as _apt when it can; give it a directory it may write.
chmod 777 "$tmp"
if ! (cd "$tmp" && apt-get download -q "$pkg" >"$tmp/apt.log" 2>&1); then
	sed 's/^/# /' "$tmp/apt.log" >&2
	skip "apt-get download $pkg failed"
fi
deb=$(ls "$tmp"/*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || skip "apt-get download $pkg produced no .deb"
rm -rf "$dest"
mkdir -p "$dest"
dpkg-deb -x "$deb" "$dest"
[ -f "$dest/boot/vmlinuz-$ver" ] || skip "$pkg has no boot/vmlinuz-$ver"
ls "$dest"/lib/modules/"$ver"/kernel/drivers/infiniband/sw/rxe/rdma_rxe.ko* \
	>/dev/null 2>&1 || skip "$pkg has no rdma_rxe module"
# The .deb has no modules.dep (its postinst makes one); mkinitramfs.sh needs it.
command -v depmod >/dev/null || skip "no depmod (Debian package kmod)"
depmod -b "$dest" "$ver" || skip "depmod failed for $ver"
ensure_vmlinux "$dest"
basename "$deb" >"$dest/.complete"
echo "$dest"
