# bench/lib/cgroup.sh -- the lab's local-host model: one cgroup v1 group in
# the memory and blkio controllers.  The memory limit is the Postgres host's
# local memory budget (shared_buffers + process memory + page cache, so the
# data set cannot hide in the OS page cache); the blkio IOPS throttle on the
# data disk is the storage model.  Sourced, not run.  Names start with rbb-.

CG_NAME=${CG_NAME:-rbb-lab}
CG_MEM=/sys/fs/cgroup/memory/$CG_NAME
CG_BLK=/sys/fs/cgroup/blkio/$CG_NAME

# cg_disk DIR: CG_DISK_NAME, CG_DEV = the whole disk holding DIR, "major:minor"
cg_disk() {
	local src pk disk
	src=$(findmnt -no SOURCE -T "$1" | head -1)
	pk=$(lsblk -no PKNAME "$src" 2>/dev/null | head -1)
	disk=$src
	[ -n "$pk" ] && disk=/dev/$pk
	CG_DISK_NAME=$disk
	CG_DEV=$(lsblk -dno MAJ:MIN "$disk" | tr -d ' ')
}

cg_setup() {			# cg_setup DATADIR
	if [ ! -d /sys/fs/cgroup/memory ] || [ ! -d /sys/fs/cgroup/blkio ]; then
		echo "$0: needs the cgroup v1 memory and blkio controllers" >&2
		exit 2
	fi
	cg_disk "$1"
	mkdir -p "$CG_MEM" "$CG_BLK"
}

cg_set_mem() {			# cg_set_mem BYTES|-1
	echo "$1" >"$CG_MEM/memory.limit_in_bytes"
}

cg_set_iops() {			# cg_set_iops N (0: no throttle)
	echo "$CG_DEV $1" >"$CG_BLK/blkio.throttle.read_iops_device"
	echo "$CG_DEV $1" >"$CG_BLK/blkio.throttle.write_iops_device"
}

# cg_exec CMD...: run CMD inside the group (children stay there)
cg_exec() {
	bash -c 'echo $$ >"$0/cgroup.procs" && echo $$ >"$1/cgroup.procs" && shift && exec "$@"' \
		"$CG_MEM" "$CG_BLK" "$@"
}

# cg_mem_json: what the group used (for the JSON)
cg_mem_json() {
	python3 - "$CG_MEM" <<'EOF'
import json, sys
d = sys.argv[1]
st = {}
for line in open(d + "/memory.stat"):
    k, v = line.split()
    if k in ("cache", "rss", "shmem", "mapped_file"):
        st[k + "_mb"] = round(int(v) / 1048576, 1)
r = lambda f: int(open(d + "/" + f).read())
st["max_usage_mb"] = round(r("memory.max_usage_in_bytes") / 1048576, 1)
st["failcnt"] = r("memory.failcnt")
print(json.dumps(st))
EOF
}

cg_reset_max() {
	echo 0 >"$CG_MEM/memory.max_usage_in_bytes" 2>/dev/null || true
	echo 0 >"$CG_MEM/memory.failcnt" 2>/dev/null || true
}

# cg_drop_caches: write back and drop the OS page cache, so pages read
# earlier (by another configuration, or charged to another group) cannot
# serve the next one
cg_drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

cg_cleanup() {
	[ -d "$CG_BLK" ] && cg_set_iops 0 2>/dev/null
	rmdir "$CG_MEM" "$CG_BLK" 2>/dev/null || true
}
