#!/bin/sh
# guest-init.sh -- PID 1 of the RDMA test guest (runs under the initramfs's
# static busybox; mkinitramfs.sh installs it as /init).
#
# It turns a bare Debian kernel into "two RDMA hosts in one box":
#   1. loads the modules listed in /modules.list (virtio, 9p, overlay, veth,
#      rdma_rxe and their dependencies, in dependency order);
#   2. mounts the host's root (9p tag "rbroot", read-only) under a tmpfs
#      overlay at /newroot, so every host path -- /usr, /work, build trees --
#      is seen at the same path and host-built binaries run unchanged; writes
#      land in guest memory and vanish at power-off;
#   3. mounts the writable results share (9p tag "rbout") at the same path
#      the host gave it (kernel argument rbguest.out=<path>);
#   4. builds the two-host network: a veth pair veth-a (10.77.0.1, "host A")
#      and veth-b (10.77.0.2, "host B"), one Soft-RoCE device on each (rxe0 on
#      veth-a, rxe1 on veth-b).  rxe works only in the initial network
#      namespace, so both ends live there; policy routing sends locally
#      generated traffic for the other end out of the veth instead of through
#      lo (rxe drops packets that do not arrive on its own netdev);
#   5. runs <out>/.rbguest/job (written by guest-run.sh) with the host's bash
#      inside the new root, output to <out>/.rbguest/output (and the
#      console), exit status to <out>/.rbguest/status;
#   6. syncs, unmounts the results share and reboots, which ends qemu
#      (-no-reboot).
# Anything fatal is reported on the console and ends the guest the same way;
# the host then finds no status file and says so.

PATH=/bin
export PATH
/bin/busybox --install -s /bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

R=/newroot
NET_A=10.77.0.1
NET_B=10.77.0.2

log() {
	echo "rbguest: $*" >/dev/console
}

up() {
	cut -d' ' -f1 /proc/uptime
}

die() {
	log "FATAL: $*"
	if [ -n "${OUT:-}" ] && [ -d "$R$OUT/.rbguest" ]; then
		echo "$*" >"$R$OUT/.rbguest/fatal"
		sync
	fi
	reboot -f
	sleep 100
}

t_init=$(up)

for a in $(cat /proc/cmdline); do
	case "$a" in
		rbguest.out=*) OUT=${a#rbguest.out=} ;;
	esac
done
[ -n "${OUT:-}" ] || die "no rbguest.out= on the kernel command line"

while read -r m; do
	insmod "/modules/$m.ko" || die "insmod $m failed"
done </modules.list
t_mod=$(up)

# The host's root.  cache=loose: nothing on it changes while the guest runs
# (read-only, and the guest lives for one job).
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 \
	rbroot /lower || die "cannot mount the host root (9p rbroot)"
mount -t tmpfs -o mode=0755 tmpfs /rw || die "tmpfs /rw"
mkdir -p /rw/upper /rw/work
mount -t overlay overlay \
	-o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work $R ||
	die "cannot mount the overlay root"

mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts $R/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm
# What udev would add: bash's <(...) needs /dev/fd.
ln -sf /proc/self/fd $R/dev/fd
ln -sf /proc/self/fd/0 $R/dev/stdin
ln -sf /proc/self/fd/1 $R/dev/stdout
ln -sf /proc/self/fd/2 $R/dev/stderr
mount -t tmpfs -o mode=0755 tmpfs $R/run

# libibverbs dlopens every provider listed in /etc/libibverbs.d on first use
# (about twenty); through 9p and emulation that costs seconds per process.
# Only rxe exists here: hide the other .driver files (in the overlay only).
if [ -f $R/etc/libibverbs.d/rxe.driver ]; then
	for f in $R/etc/libibverbs.d/*.driver; do
		[ "$f" = $R/etc/libibverbs.d/rxe.driver ] || rm -f "$f"
	done
fi

mkdir -p "$R$OUT" || die "cannot create $OUT in the guest"
# No cache on the results share: what the job writes must reach the host.
mount -t 9p -o trans=virtio,version=9p2000.L,cache=none,msize=512000 \
	rbout "$R$OUT" || die "cannot mount the results share (9p rbout)"
[ -f "$R$OUT/.rbguest/job" ] || die "no job file $OUT/.rbguest/job"
t_fs=$(up)

hostname rbguest

# From here on the host's own tools (iproute2's ip and rdma) do the work.
in_root() {
	chroot $R /usr/bin/env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# Fixed MACs (locally administered) so the whole setup is two static
# `ip -batch` runs: every exec of a host binary goes through 9p and
# emulation, and is not free.
MAC_A=02:00:0a:4d:00:01
MAC_B=02:00:0a:4d:00:02
cat >/tmp/net1 <<EOF
link set lo up
link add veth-a address $MAC_A type veth peer name veth-b address $MAC_B
EOF
in_root ip -batch - </tmp/net1 || die "cannot create the veth pair"
for d in veth-a veth-b; do
	# No IPv6 on the wire: no DAD / router solicitations muddying counters.
	echo 1 >/proc/sys/net/ipv6/conf/$d/disable_ipv6
	# Packets between the two ends carry a local source address: accept.
	echo 1 >/proc/sys/net/ipv4/conf/$d/accept_local
	echo 0 >/proc/sys/net/ipv4/conf/$d/rp_filter
done
echo 0 >/proc/sys/net/ipv4/conf/all/rp_filter
# Static neighbours: ARP between two addresses of one host is not worth
# second-guessing.  Locally generated traffic ("iif lo") for the other end
# leaves through this end's veth; the local table, moved behind those rules,
# still delivers what arrives on a veth.  The "oif" rules serve lookups bound
# to a device: the RDMA CM checks an incoming connection request by routing
# back to the requester through the receiving netdev, and without them that
# lookup finds the requester's address local (on the other veth) and the CM
# rejects the request (reason 28).
cat >/tmp/net2 <<EOF
addr add $NET_A/32 dev veth-a
addr add $NET_B/32 dev veth-b
link set veth-a up
link set veth-b up
neigh replace $NET_B lladdr $MAC_B dev veth-a nud permanent
neigh replace $NET_A lladdr $MAC_A dev veth-b nud permanent
route add $NET_B dev veth-a src $NET_A table 101
route add $NET_A dev veth-b src $NET_B table 102
rule add pref 100 iif lo to $NET_B lookup 101
rule add pref 101 iif lo to $NET_A lookup 102
rule add pref 110 oif veth-a to $NET_B lookup 101
rule add pref 111 oif veth-b to $NET_A lookup 102
rule add pref 200 lookup local
rule del pref 0 lookup local
EOF
in_root ip -batch - </tmp/net2 || die "cannot set up addresses and policy routing"
t_ip=$(up)

in_root rdma link add rxe0 type rxe netdev veth-a || die "rdma link add rxe0"
in_root rdma link add rxe1 type rxe netdev veth-b || die "rdma link add rxe1"

# Index of the RoCE v2 GID that carries the IPv4 address (::ffff:a.b.c.d).
gid_index() {
	dev=$1 ip=$2
	want=$(echo "$ip" | awk -F. '{printf "0000:0000:0000:0000:0000:ffff:%02x%02x:%02x%02x", $1, $2, $3, $4}')
	n=0
	while [ $n -lt 50 ]; do
		for g in /sys/class/infiniband/$dev/ports/1/gids/*; do
			i=${g##*/}
			if [ "$(cat "$g" 2>/dev/null)" = "$want" ] &&
				[ "$(cat /sys/class/infiniband/$dev/ports/1/gid_attrs/types/$i 2>/dev/null)" = "RoCE v2" ]; then
				echo "$i"
				return 0
			fi
		done
		sleep 0.1
		n=$((n + 1))
	done
	return 1
}
gid_a=$(gid_index rxe0 $NET_A) || die "rxe0 has no RoCE v2 GID for $NET_A"
gid_b=$(gid_index rxe1 $NET_B) || die "rxe1 has no RoCE v2 GID for $NET_B"
t_net=$(up)

mkdir -p $R/run/rbguest
cat >$R/run/rbguest/env <<EOF
# written by guest-init.sh: what the RDMA test guest provides
export RB_GUEST=1
export RB_GUEST_OUT='$OUT'
export RB_RDMA_DEV_A=rxe0 RB_RDMA_DEV_B=rxe1
export RB_RDMA_NETDEV_A=veth-a RB_RDMA_NETDEV_B=veth-b
export RB_RDMA_ADDR_A=$NET_A RB_RDMA_ADDR_B=$NET_B
export RB_RDMA_GID_INDEX_A=$gid_a RB_RDMA_GID_INDEX_B=$gid_b
EOF

log "ready at ${t_net}s (init ${t_init}s, modules ${t_mod}s, filesystems ${t_fs}s, ip ${t_ip}s); running job"
G=$R$OUT/.rbguest
(
	in_root /bin/bash "$OUT/.rbguest/job" </dev/null
	echo $? >"$G/status.tmp"
) 2>&1 | tee "$G/output" >/dev/console
t_end=$(up)
mv "$G/status.tmp" "$G/status" 2>/dev/null || echo "job status lost" >"$G/fatal"
cat >"$G/timing" <<EOF
init_start $t_init
modules_loaded $t_mod
filesystems_ready $t_fs
ip_ready $t_ip
network_ready $t_net
job_end $t_end
EOF
sync
umount "$R$OUT" 2>/dev/null
log "job done at ${t_end}s; powering off"
reboot -f
sleep 100
