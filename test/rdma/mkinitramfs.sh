#!/usr/bin/env bash
# mkinitramfs.sh -- build the small initramfs of the RDMA test guest.
#
# The guest's real root is the host's own root over virtio-9p (see
# guest-init.sh), so the initramfs only has to carry what is needed before
# that share can be mounted and what the host's root cannot provide: a static
# busybox, the init script, and the kernel modules of THIS guest kernel (the
# host's /lib/modules belongs to another kernel).  The module list is resolved
# from the guest kernel's modules.dep, dependencies first, into /modules.list,
# which init loads in that order with insmod.
#
# Usage: mkinitramfs.sh <kernel-dir> <output.cpio.gz>
#   <kernel-dir>  as printed by get-kernel.sh (holds lib/modules/<ver>/)
set -euo pipefail

KDIR=${1:?usage: mkinitramfs.sh <kernel-dir> <output.cpio.gz>}
OUT=${2:?usage: mkinitramfs.sh <kernel-dir> <output.cpio.gz>}
HERE=$(cd "$(dirname "$0")" && pwd)

BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || BUSYBOX=$(command -v busybox || echo /nonexistent)
# The initramfs has no libc: the busybox must be the static one.
lddout=$(LC_ALL=C ldd "$BUSYBOX" 2>&1 || true)
if [[ "$lddout" != *"not a dynamic executable"* ]]; then
	echo "mkinitramfs: need a static busybox (Debian package busybox-static)" >&2
	exit 1
fi

moddir=$(ls -d "$KDIR"/lib/modules/*/ | head -1)
moddir=${moddir%/}
ver=$(basename "$moddir")
if [ ! -f "$moddir/modules.dep" ]; then
	# The .deb does not ship modules.dep (postinst makes it); make it here.
	depmod -b "$KDIR" "$ver"
fi

# What the guest needs, by purpose:
#   virtio_pci 9pnet_virtio 9p     the host's root and the results share
#   overlay                        a writable tmpfs layer over the read-only root
#   veth                           the wire between "host A" and "host B"
#   rdma_rxe                       Soft-RoCE (pulls ib_core, ib_uverbs, udp tunnels)
#   rdma_ucm                       RDMA CM from user space (librdmacm, rping)
#   ib_umad                        umad for tools that probe /dev/infiniband/umad*
#   crc32_generic                  the "crc32" shash rxe allocates for its ICRC;
#                                  the guest has no modprobe to load it on demand
WANT=(virtio_pci 9pnet_virtio 9p overlay veth crc32_generic rdma_rxe rdma_ucm ib_umad)

declare -A path_of=() deps_of=() done_=()
while IFS= read -r line; do
	m=${line%%:*}
	rest=${line#*:}
	name=${m##*/}
	name=${name%%.ko*}
	path_of[$name]=$m
	deps_of[$name]=$rest
done <"$moddir/modules.dep"

order=()
visit() {
	local name=$1 d dn
	[ -n "${done_[$name]:-}" ] && return 0
	if [ -z "${path_of[$name]:-}" ]; then
		# built into the kernel: nothing to load
		if grep -q "/$name.ko" "$moddir/modules.builtin"; then
			done_[$name]=1
			return 0
		fi
		echo "mkinitramfs: module $name not found for kernel $ver" >&2
		exit 1
	fi
	for d in ${deps_of[$name]}; do
		dn=${d##*/}
		visit "${dn%%.ko*}"
	done
	done_[$name]=1
	order+=("$name")
}
for w in "${WANT[@]}"; do
	visit "$w"
done

# Debian signs its modules; checking an RSA signature per module under full
# CPU emulation costs seconds of every boot and proves nothing here (the
# kernel only taints itself for an unsigned module: no MODULE_SIG_FORCE).
# Layout of a signed module: <module><signature><12-byte module_signature,
# whose last 4 bytes are the signature length, big-endian><28-byte marker>.
strip_signature() {
	local f=$1 size siglen marker='~Module signature appended~'
	size=$(stat -c %s "$f")
	[ "$size" -gt 40 ] || return 0
	[ "$(tail -c 28 "$f" | head -c 27)" = "$marker" ] || return 0
	siglen=$(tail -c 32 "$f" | head -c 4 | od -An -tu1 |
		awk '{ print (($1 * 256 + $2) * 256 + $3) * 256 + $4 }')
	truncate -s $((size - 40 - siglen)) "$f"
}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,lower,rw,newroot,modules,tmp}
cp "$BUSYBOX" "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
install -m 0755 "$HERE/guest-init.sh" "$stage/init"
: >"$stage/modules.list"
for name in "${order[@]}"; do
	src=$moddir/${path_of[$name]}
	case "$src" in
		*.ko) cp "$src" "$stage/modules/$name.ko" ;;
		*.ko.xz) xz -dc "$src" >"$stage/modules/$name.ko" ;;
		*.ko.zst) zstd -qdc "$src" >"$stage/modules/$name.ko" ;;
		*) echo "mkinitramfs: unknown module format $src" >&2; exit 1 ;;
	esac
	strip_signature "$stage/modules/$name.ko"
	echo "$name" >>"$stage/modules.list"
done
echo "$ver" >"$stage/kernel.version"

# Private temp name + rename: concurrent guest runs may build the same file.
tmpout=$(mktemp "$OUT.XXXXXX")
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
	busybox cpio -o -H newc 2>/dev/null) | gzip -1 >"$tmpout"
chmod 0644 "$tmpout"
mv -f "$tmpout" "$OUT"
