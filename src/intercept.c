/*-------------------------------------------------------------------------
 *
 * intercept.c
 *	  Find the server's storage manager and sync handler tables, put
 *	  remote_buffer's wrappers in them, and count what passes through.
 *
 * PostgreSQL has no storage manager hook: smgr.c calls md.c through a
 * private constant array of function pointers, smgrsw[], and sync.c calls
 * md.c's checkpoint-time callbacks through another one, syncsw[].  Both are
 * static const data of the server executable, which in a PIE build lives in
 * the RELRO part of the read-write PT_LOAD segment (read-only once the
 * dynamic loader has applied relocations).
 *
 * rb_intercept_install(), run in the postmaster from _PG_init, scans every
 * readable, non-executable PT_LOAD segment of the executable for the exact
 * contents those arrays must have (built by compat.h), requires exactly one
 * match of each, makes the page(s) briefly writable, stores the md.c
 * pointers in rb_md / rb_md_sync, writes the wrappers' addresses over them
 * and restores the original page protection.  Every process the postmaster
 * forks afterwards (backends, auxiliary processes, background and parallel
 * workers, the startup process) inherits the patched tables.  If anything
 * is off, nothing is modified, a WARNING says why, and the server runs as
 * if remote_buffer were not there.
 *
 * The wrappers count calls, per operation and per process kind, and put
 * the remote tier (directory.c, datapath.c) in front of md.c: reads are
 * served from it or admitted to it, and everything that changes relation
 * files invalidates first (and once more afterwards, so that a read racing
 * with the change cannot admit what it saw before the change completed).
 * They run in critical sections (WAL redo, truncation) and after commit
 * (unlink), so they must never throw, allocate or wait unboundedly.
 *
 * Invalidation happens whenever the directory exists, even with
 * remote_buffer.enabled off: that setting can differ between sessions,
 * and a session that does not use the tier must still not let others
 * serve pages it changed.  Reads with the setting off are a single
 * branch.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "access/parallel.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"

#include "datapath.h"
#include "intercept.h"

bool		rb_intercept_enabled = true;
RbInterceptCounters *rb_intercept_counters = NULL;

static RbInterceptStatus rb_status = {
	.installed = false,
	.smgrsw_matches = -1,
	.syncsw_matches = -1,
	.detail = "Interception was not attempted.",
};

static const char *const rb_op_names[RB_ICPT_NUM_OPS] = {
	[RB_ICPT_INIT] = "init",
	[RB_ICPT_OPEN] = "open",
	[RB_ICPT_CLOSE] = "close",
	[RB_ICPT_CREATE] = "create",
	[RB_ICPT_EXISTS] = "exists",
	[RB_ICPT_UNLINK] = "unlink",
	[RB_ICPT_EXTEND] = "extend",
	[RB_ICPT_PREFETCH] = "prefetch",
	[RB_ICPT_READ] = "read",
	[RB_ICPT_WRITE] = "write",
	[RB_ICPT_WRITEBACK] = "writeback",
	[RB_ICPT_NBLOCKS] = "nblocks",
	[RB_ICPT_TRUNCATE] = "truncate",
	[RB_ICPT_IMMEDSYNC] = "immedsync",
	[RB_ICPT_SYNCFILETAG] = "syncfiletag",
	[RB_ICPT_UNLINKFILETAG] = "unlinkfiletag",
	[RB_ICPT_FILETAGMATCHES] = "filetagmatches",
};

const char *
rb_intercept_op_name(int op)
{
	if (op < 0 || op >= RB_ICPT_NUM_OPS)
		return "unknown";
	return rb_op_names[op];
}

const char *
rb_intercept_slot_name(int slot)
{
	if (slot == RB_ICPT_SLOT_PARALLEL_WORKER)
		return "parallel worker";
	if (slot < 0 || slot >= RB_BACKEND_TYPE_COUNT)
		return "unknown";
	return GetBackendTypeDesc((BackendType) slot);
}

const RbInterceptStatus *
rb_intercept_status(void)
{
	return &rb_status;
}

Size
rb_intercept_shmem_size(void)
{
	return MAXALIGN(sizeof(RbInterceptCounters));
}

/*
 * Create or attach the counters.  Runs in the postmaster (and again after
 * a crash-restart, which gives us zeroed counters); children inherit the
 * pointer.
 */
void
rb_intercept_shmem_init(void)
{
	RbInterceptCounters *counters;
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	counters = ShmemInitStruct("remote_buffer intercept counters",
							   sizeof(RbInterceptCounters), &found);
	if (!found)
	{
		for (int op = 0; op < RB_ICPT_NUM_OPS; op++)
			for (int slot = 0; slot < RB_ICPT_NUM_SLOTS; slot++)
				pg_atomic_init_u64(&counters->calls[op][slot], 0);
	}
	LWLockRelease(AddinShmemInitLock);

	rb_intercept_counters = counters;
}

/*
 * Record a refusal: remember the reason for the SQL view and say it once,
 * loudly, in the server log.
 */
static bool rb_refuse(const char *fmt,...) pg_attribute_printf(1, 2);

static bool
rb_refuse(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(rb_status.detail, sizeof(rb_status.detail), fmt, ap);
	va_end(ap);
	rb_status.installed = false;

	ereport(WARNING,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("remote_buffer: storage manager interception not installed"),
			 errdetail_internal("%s", rb_status.detail),
			 errhint("The server runs with its own unmodified storage manager; remote_buffer stays inactive.")));
	return false;
}

#ifdef RB_LAYOUT_PG15

RbSmgrOps	rb_md;
RbSyncOps	rb_md_sync;

/*
 * Counter slot of the calling process.  Parallel workers get their own
 * slot; anything unexpected lands in slot 0 (B_INVALID).
 */
static inline int
rb_backend_slot(void)
{
	int			type = (int) MyBackendType;

	if (type == (int) B_BG_WORKER && IsParallelWorker())
		return RB_ICPT_SLOT_PARALLEL_WORKER;
	if (type < 0 || type >= RB_BACKEND_TYPE_COUNT)
		return 0;
	return type;
}

/* Lock-free, allocation-free, cannot fail: fine in a critical section */
static inline void
rb_count(RbInterceptOp op)
{
	RbInterceptCounters *counters = rb_intercept_counters;

	if (counters != NULL)
		pg_atomic_fetch_add_u64(&counters->calls[op][rb_backend_slot()], 1);
}

/*
 * With remote_buffer.enabled off this is the only test a wrapper makes
 * before forwarding.
 */
#define RB_COUNT(op) \
	do { \
		if (likely(rb_intercept_enabled)) \
			rb_count(op); \
	} while (0)

/*
 * The wrappers.  Callers inspect errno after some of these (the sync
 * callbacks in particular): what runs after the forwarded call either
 * preserves errno (rb_dp_inval_rel) or follows a call that reports its
 * failures by ERROR only (write, extend).
 */
static void
rb_wrap_init(void)
{
	RB_COUNT(RB_ICPT_INIT);
	rb_md.init();
}

static void
rb_wrap_open(SMgrRelation reln)
{
	RB_COUNT(RB_ICPT_OPEN);
	rb_md.open(reln);
}

static void
rb_wrap_close(SMgrRelation reln, ForkNumber forknum)
{
	RB_COUNT(RB_ICPT_CLOSE);
	rb_md.close(reln, forknum);
}

static void
rb_wrap_create(SMgrRelation reln, ForkNumber forknum, bool isRedo)
{
	RB_COUNT(RB_ICPT_CREATE);
	rb_dp_inval_rel(reln->smgr_rnode, true);
	rb_md.create(reln, forknum, isRedo);
	rb_dp_inval_rel(reln->smgr_rnode, false);
}

static bool
rb_wrap_exists(SMgrRelation reln, ForkNumber forknum)
{
	RB_COUNT(RB_ICPT_EXISTS);
	return rb_md.exists(reln, forknum);
}

static void
rb_wrap_unlink(RelFileNodeBackend rnode, ForkNumber forknum, bool isRedo)
{
	RB_COUNT(RB_ICPT_UNLINK);
	rb_dp_inval_rel(rnode, true);
	rb_md.unlink(rnode, forknum, isRedo);
	rb_dp_inval_rel(rnode, false);
}

static void
rb_wrap_extend(SMgrRelation reln, ForkNumber forknum, BlockNumber blocknum,
			   char *buffer, bool skipFsync)
{
	RB_COUNT(RB_ICPT_EXTEND);
	rb_dp_inval_block(reln->smgr_rnode, forknum, blocknum, true);
	rb_md.extend(reln, forknum, blocknum, buffer, skipFsync);
	rb_dp_after_write(reln, forknum, blocknum, buffer);
}

static bool
rb_wrap_prefetch(SMgrRelation reln, ForkNumber forknum, BlockNumber blocknum)
{
	RB_COUNT(RB_ICPT_PREFETCH);
	return rb_md.prefetch(reln, forknum, blocknum);
}

static void
rb_wrap_read(SMgrRelation reln, ForkNumber forknum, BlockNumber blocknum,
			 char *buffer)
{
	if (likely(rb_intercept_enabled))
	{
		rb_count(RB_ICPT_READ);
		rb_dp_smgr_read(reln, forknum, blocknum, buffer, rb_md.read);
		return;
	}
	rb_md.read(reln, forknum, blocknum, buffer);
}

static void
rb_wrap_write(SMgrRelation reln, ForkNumber forknum, BlockNumber blocknum,
			  char *buffer, bool skipFsync)
{
	RB_COUNT(RB_ICPT_WRITE);
	rb_dp_inval_block(reln->smgr_rnode, forknum, blocknum, true);
	rb_md.write(reln, forknum, blocknum, buffer, skipFsync);
	rb_dp_after_write(reln, forknum, blocknum, buffer);
}

static void
rb_wrap_writeback(SMgrRelation reln, ForkNumber forknum,
				  BlockNumber blocknum, BlockNumber nblocks)
{
	RB_COUNT(RB_ICPT_WRITEBACK);
	rb_md.writeback(reln, forknum, blocknum, nblocks);
}

static BlockNumber
rb_wrap_nblocks(SMgrRelation reln, ForkNumber forknum)
{
	RB_COUNT(RB_ICPT_NBLOCKS);
	return rb_md.nblocks(reln, forknum);
}

static void
rb_wrap_truncate(SMgrRelation reln, ForkNumber forknum,
				 BlockNumber old_blocks, BlockNumber nblocks)
{
	RB_COUNT(RB_ICPT_TRUNCATE);
	rb_dp_inval_rel(reln->smgr_rnode, true);
	rb_md.truncate(reln, forknum, old_blocks, nblocks);
	rb_dp_inval_rel(reln->smgr_rnode, false);
}

static void
rb_wrap_immedsync(SMgrRelation reln, ForkNumber forknum)
{
	RB_COUNT(RB_ICPT_IMMEDSYNC);
	rb_md.immedsync(reln, forknum);
}

static int
rb_wrap_syncfiletag(const FileTag *ftag, char *path)
{
	RB_COUNT(RB_ICPT_SYNCFILETAG);
	return rb_md_sync.syncfiletag(ftag, path);
}

static int
rb_wrap_unlinkfiletag(const FileTag *ftag, char *path)
{
	RelFileNodeBackend rnode;
	int			rc;

	RB_COUNT(RB_ICPT_UNLINKFILETAG);
	rnode.node = ftag->rnode;
	rnode.backend = InvalidBackendId;
	rb_dp_inval_rel(rnode, true);
	rc = rb_md_sync.unlinkfiletag(ftag, path);
	rb_dp_inval_rel(rnode, false);
	return rc;
}

static bool
rb_wrap_filetagmatches(const FileTag *ftag, const FileTag *candidate)
{
	RB_COUNT(RB_ICPT_FILETAGMATCHES);
	return rb_md_sync.filetagmatches(ftag, candidate);
}

/*
 * Locating the tables
 */

/* One byte pattern we are looking for */
typedef struct RbScanTarget
{
	const char *name;
	const void *pattern;
	size_t		len;
	int			matches;
	uintptr_t	addr;			/* first match */
	int			phdr_index;		/* program header holding the first match */
	ElfW(Word)	phdr_flags;
} RbScanTarget;

typedef struct RbScan
{
	RbScanTarget *targets;
	int			ntargets;
	bool		visited;		/* the first object has been scanned */
	uintptr_t	load_base;
	uintptr_t	code_probe;		/* an md.c function; must be in this object */
	bool		code_probe_found;
	uintptr_t	relro_start;	/* PT_GNU_RELRO range, absolute; 0 if none */
	uintptr_t	relro_end;
	int			segments_scanned;
	size_t		bytes_scanned;
} RbScan;

/* Count pointer-aligned occurrences of t->pattern within [start, end) */
static void
rb_scan_range(RbScanTarget *t, uintptr_t start, uintptr_t end,
			  int phdr_index, ElfW(Word) phdr_flags)
{
	uintptr_t	p = TYPEALIGN(sizeof(void *), start);
	uintptr_t	first;

	memcpy(&first, t->pattern, sizeof(first));

	for (; p < end && end - p >= t->len; p += sizeof(void *))
	{
		if (*(const uintptr_t *) p != first)
			continue;
		if (memcmp((const void *) p, t->pattern, t->len) != 0)
			continue;
		if (t->matches++ == 0)
		{
			t->addr = p;
			t->phdr_index = phdr_index;
			t->phdr_flags = phdr_flags;
		}
	}
}

/*
 * dl_iterate_phdr callback.  glibc reports the main program first; we
 * scan it and stop the iteration there, so libraries (including ourselves)
 * are never searched.
 */
static int
rb_scan_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	RbScan	   *scan = (RbScan *) arg;

	if (scan->visited)
		return 1;
	scan->visited = true;
	scan->load_base = (uintptr_t) info->dlpi_addr;

	for (int i = 0; i < info->dlpi_phnum; i++)
	{
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t	start = (uintptr_t) info->dlpi_addr + ph->p_vaddr;
		uintptr_t	end = start + ph->p_memsz;

		if (ph->p_type == PT_GNU_RELRO)
		{
			scan->relro_start = start;
			scan->relro_end = end;
			continue;
		}
		if (ph->p_type != PT_LOAD)
			continue;
		if (ph->p_flags & PF_X)
		{
			if (scan->code_probe >= start && scan->code_probe < end)
				scan->code_probe_found = true;
			continue;
		}
		if (!(ph->p_flags & PF_R))
			continue;

		scan->segments_scanned++;
		scan->bytes_scanned += ph->p_memsz;
		for (int t = 0; t < scan->ntargets; t++)
			rb_scan_range(&scan->targets[t], start, end, i, ph->p_flags);
	}

	return 1;
}

/*
 * Current protection of the page containing "addr", from /proc/self/maps,
 * or -1 if it cannot be determined.  We restore exactly this afterwards
 * rather than guessing what the dynamic loader did with RELRO.
 */
static int
rb_page_prot(uintptr_t addr)
{
	FILE	   *f;
	char		line[256];
	int			prot = -1;

	f = fopen("/proc/self/maps", "r");
	if (f == NULL)
		return -1;

	while (fgets(line, sizeof(line), f) != NULL)
	{
		unsigned long lo,
					hi;
		char		perms[5];
		bool		whole = (strchr(line, '\n') != NULL);

		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 &&
			strlen(perms) == 4 && lo <= addr && addr < hi)
		{
			prot = 0;
			if (perms[0] == 'r')
				prot |= PROT_READ;
			if (perms[1] == 'w')
				prot |= PROT_WRITE;
			if (perms[2] == 'x')
				prot |= PROT_EXEC;
			break;
		}

		/* skip the remainder of an overlong line (long mapped path) */
		while (!whole && fgets(line, sizeof(line), f) != NULL)
			whole = (strchr(line, '\n') != NULL);
	}
	fclose(f);
	return prot;
}

/* "rw-" style rendering of program header flags into buf[4] */
static const char *
rb_phdr_flags_str(ElfW(Word) flags, char *buf)
{
	buf[0] = (flags & PF_R) ? 'r' : '-';
	buf[1] = (flags & PF_W) ? 'w' : '-';
	buf[2] = (flags & PF_X) ? 'x' : '-';
	buf[3] = '\0';
	return buf;
}

/* A page we unlock for the write */
typedef struct RbPage
{
	uintptr_t	addr;
	int			prot;			/* protection to restore */
	bool		unlocked;		/* we added PROT_WRITE */
} RbPage;

#define RB_MAX_PAGES 4

static int
rb_add_pages(RbPage *pages, int npages, uintptr_t start, size_t len,
			 uintptr_t pagesize)
{
	uintptr_t	first = start & ~(pagesize - 1);
	uintptr_t	last = (start + len - 1) & ~(pagesize - 1);

	for (uintptr_t p = first; p <= last; p += pagesize)
	{
		bool		dup = false;

		for (int i = 0; i < npages; i++)
			if (pages[i].addr == p)
				dup = true;
		if (!dup && npages < RB_MAX_PAGES)
		{
			pages[npages].addr = p;
			pages[npages].prot = -1;
			pages[npages].unlocked = false;
			npages++;
		}
	}
	return npages;
}

/* Protection (as found) of the page holding addr, or -1 */
static int
rb_prot_of(const RbPage *pages, int npages, uintptr_t addr, uintptr_t pagesize)
{
	for (int i = 0; i < npages; i++)
		if (pages[i].addr == (addr & ~(pagesize - 1)))
			return pages[i].prot;
	return -1;
}

/* Put every unlocked page back the way we found it */
static bool
rb_relock_pages(RbPage *pages, int npages)
{
	uintptr_t	pagesize = (uintptr_t) sysconf(_SC_PAGESIZE);
	bool		ok = true;

	for (int i = 0; i < npages; i++)
	{
		if (!pages[i].unlocked)
			continue;
		if (mprotect((void *) pages[i].addr, pagesize, pages[i].prot) != 0)
			ok = false;
		else
			pages[i].unlocked = false;
	}
	return ok;
}

bool
rb_intercept_install(void)
{
	RbSmgrOps	smgr_expected[RB_SMGRSW_NENTRIES];
	RbSyncOps	sync_expected[RB_SYNCSW_NENTRIES];
	RbScanTarget targets[2];
	RbScan		scan;
	RbPage		pages[RB_MAX_PAGES];
	int			npages = 0;
	uintptr_t	pagesize = (uintptr_t) sysconf(_SC_PAGESIZE);
	RbSmgrOps  *smgrsw;
	RbSyncOps  *syncsw;
	const char *version_str;
	char		reason[256];
	char		flags0[4];
	char		flags1[4];
	bool		relocked;
	bool		smgr_in_relro;
	bool		sync_in_relro;

	if (rb_status.installed)
		return true;

	/* the running minor release must use the layout we were built for */
	version_str = GetConfigOption("server_version_num", false, false);
	if (version_str == NULL)
		return rb_refuse("Could not determine the running server version.");
	if (!rb_compat_check_runtime(atoi(version_str), reason, sizeof(reason)))
		return rb_refuse("Server version mismatch: %s.", reason);

	/* search the executable for both tables at once */
	rb_compat_build_smgrsw(smgr_expected);
	rb_compat_build_syncsw(sync_expected);

	memset(targets, 0, sizeof(targets));
	targets[0].name = "smgrsw";
	targets[0].pattern = smgr_expected;
	targets[0].len = sizeof(smgr_expected);
	targets[1].name = "syncsw";
	targets[1].pattern = sync_expected;
	targets[1].len = sizeof(sync_expected);

	memset(&scan, 0, sizeof(scan));
	scan.targets = targets;
	scan.ntargets = lengthof(targets);
	scan.code_probe = (uintptr_t) smgr_expected[0].read;

	dl_iterate_phdr(rb_scan_object, &scan);

	rb_status.load_base = scan.load_base;
	rb_status.smgrsw_matches = targets[0].matches;
	rb_status.syncsw_matches = targets[1].matches;

	if (!scan.visited)
		return rb_refuse("dl_iterate_phdr() reported no loaded objects.");
	if (!scan.code_probe_found)
		return rb_refuse("The storage manager functions (md.c) are not defined by the main executable.");
	for (int t = 0; t < lengthof(targets); t++)
	{
		if (targets[t].matches != 1)
			return rb_refuse("Found the expected %s[] contents %d times in %d non-executable segments (%zu bytes) of the server executable, need exactly 1; the server was built differently or another module already changed the table.",
							 targets[t].name, targets[t].matches,
							 scan.segments_scanned, scan.bytes_scanned);
	}

	smgrsw = (RbSmgrOps *) targets[0].addr;
	syncsw = (RbSyncOps *) targets[1].addr;

	/* find out how the pages are protected now */
	npages = rb_add_pages(pages, npages, targets[0].addr, targets[0].len,
						  pagesize);
	npages = rb_add_pages(pages, npages, targets[1].addr, targets[1].len,
						  pagesize);
	for (int i = 0; i < npages; i++)
	{
		pages[i].prot = rb_page_prot(pages[i].addr);
		if (pages[i].prot < 0 || !(pages[i].prot & PROT_READ))
			return rb_refuse("Could not determine the protection of page %p from /proc/self/maps.",
							 (void *) pages[i].addr);
	}

	/* make them writable; on any failure undo and give up untouched */
	for (int i = 0; i < npages; i++)
	{
		if (pages[i].prot & PROT_WRITE)
			continue;
		if (mprotect((void *) pages[i].addr, pagesize,
					 pages[i].prot | PROT_WRITE) != 0)
		{
			int			save_errno = errno;

			rb_relock_pages(pages, npages);
			return rb_refuse("mprotect() of page %p failed: %s.",
							 (void *) pages[i].addr, strerror(save_errno));
		}
		pages[i].unlocked = true;
	}

	/* keep the originals, then swap in the wrappers */
	rb_md = smgrsw[0];
	rb_md_sync = syncsw[SYNC_HANDLER_MD];

	smgrsw[0].init = rb_wrap_init;
	/* shutdown stays NULL: smgr.c skips it */
	smgrsw[0].open = rb_wrap_open;
	smgrsw[0].close = rb_wrap_close;
	smgrsw[0].create = rb_wrap_create;
	smgrsw[0].exists = rb_wrap_exists;
	smgrsw[0].unlink = rb_wrap_unlink;
	smgrsw[0].extend = rb_wrap_extend;
	smgrsw[0].prefetch = rb_wrap_prefetch;
	smgrsw[0].read = rb_wrap_read;
	smgrsw[0].write = rb_wrap_write;
	smgrsw[0].writeback = rb_wrap_writeback;
	smgrsw[0].nblocks = rb_wrap_nblocks;
	smgrsw[0].truncate = rb_wrap_truncate;
	smgrsw[0].immedsync = rb_wrap_immedsync;

	syncsw[SYNC_HANDLER_MD].syncfiletag = rb_wrap_syncfiletag;
	syncsw[SYNC_HANDLER_MD].unlinkfiletag = rb_wrap_unlinkfiletag;
	syncsw[SYNC_HANDLER_MD].filetagmatches = rb_wrap_filetagmatches;

	relocked = rb_relock_pages(pages, npages);

	smgr_in_relro = targets[0].addr >= scan.relro_start &&
		targets[0].addr + targets[0].len <= scan.relro_end;
	sync_in_relro = targets[1].addr >= scan.relro_start &&
		targets[1].addr + targets[1].len <= scan.relro_end;

	rb_status.installed = true;
	rb_status.smgrsw_addr = targets[0].addr;
	rb_status.syncsw_addr = targets[1].addr;
	/*
	 * Offsets only: absolute addresses would hand the ASLR layout to every
	 * pg_monitor member.
	 */
	snprintf(rb_status.detail, sizeof(rb_status.detail),
			 "smgrsw[] at executable+0x%lx (program header %d PT_LOAD %s%s, page was %s), "
			 "syncsw[] at executable+0x%lx (program header %d PT_LOAD %s%s, page was %s); "
			 "1 match each in %d non-executable segments (%zu bytes)%s.",
			 (unsigned long) (targets[0].addr - scan.load_base),
			 targets[0].phdr_index,
			 rb_phdr_flags_str(targets[0].phdr_flags, flags0),
			 smgr_in_relro ? " in RELRO" : "",
			 (rb_prot_of(pages, npages, targets[0].addr, pagesize) & PROT_WRITE) ? "read-write" : "read-only",
			 (unsigned long) (targets[1].addr - scan.load_base),
			 targets[1].phdr_index,
			 rb_phdr_flags_str(targets[1].phdr_flags, flags1),
			 sync_in_relro ? " in RELRO" : "",
			 (rb_prot_of(pages, npages, targets[1].addr, pagesize) & PROT_WRITE) ? "read-write" : "read-only",
			 scan.segments_scanned, scan.bytes_scanned,
			 relocked ? "" : "; WARNING: could not restore page protection");

	if (!relocked)
		ereport(WARNING,
				(errmsg("remote_buffer: could not restore the protection of the storage manager table"),
				 errdetail_internal("%s", rb_status.detail)));

	ereport(LOG,
			(errmsg("remote_buffer: storage manager interception installed"),
			 errdetail_internal("%s", rb_status.detail)));
	return true;
}

#else							/* RB_LAYOUT_NONE */

bool
rb_intercept_install(void)
{
	return rb_refuse("%s (this module was built for PostgreSQL %s).",
					 RB_COMPAT_UNSUPPORTED_MSG, PG_VERSION);
}

#endif							/* RB_LAYOUT_PG15 */
