/*-------------------------------------------------------------------------
 *
 * intercept.h
 *	  Storage manager interception for an unpatched PostgreSQL server.
 *
 * intercept.c finds the server's private storage manager dispatch table
 * (smgrsw[]) and sync handler table (syncsw[]) in the postmaster's memory,
 * swaps the md.c entries for remote_buffer's wrappers and keeps the
 * originals in rb_md / rb_md_sync so the rest of the extension can still
 * reach the local files.  Child processes inherit the patched tables
 * through fork().  See docs/interception.md.
 *
 * Everything a wrapper runs must be safe inside a critical section and
 * after commit: no ereport(ERROR), no palloc, no unbounded waits.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RB_INTERCEPT_H
#define RB_INTERCEPT_H

#include "compat.h"

#include "port/atomics.h"

/*
 * Intercepted operations, one per table member we wrap.  The names (see
 * rb_intercept_op_name) are what the SQL view shows.
 */
typedef enum RbInterceptOp
{
	RB_ICPT_INIT = 0,
	RB_ICPT_OPEN,
	RB_ICPT_CLOSE,
	RB_ICPT_CREATE,
	RB_ICPT_EXISTS,
	RB_ICPT_UNLINK,
	RB_ICPT_EXTEND,
	RB_ICPT_PREFETCH,
	RB_ICPT_READ,
	RB_ICPT_WRITE,
	RB_ICPT_WRITEBACK,
	RB_ICPT_NBLOCKS,
	RB_ICPT_TRUNCATE,
	RB_ICPT_IMMEDSYNC,
	RB_ICPT_SYNCFILETAG,
	RB_ICPT_UNLINKFILETAG,
	RB_ICPT_FILETAGMATCHES,
	RB_ICPT_NUM_OPS
} RbInterceptOp;

/*
 * Counter slots: one per BackendType value, plus one for parallel workers
 * (which are B_BG_WORKER processes, split out because they matter for
 * remote reads).
 */
#define RB_ICPT_SLOT_PARALLEL_WORKER	RB_BACKEND_TYPE_COUNT
#define RB_ICPT_NUM_SLOTS				(RB_BACKEND_TYPE_COUNT + 1)

/* Call counters in shared memory, one per (operation, process kind) */
typedef struct RbInterceptCounters
{
	pg_atomic_uint64 calls[RB_ICPT_NUM_OPS][RB_ICPT_NUM_SLOTS];
} RbInterceptCounters;

/* What rb_intercept_install() found and did, for logs and the SQL view */
typedef struct RbInterceptStatus
{
	bool		installed;		/* wrappers are in both tables */
	int			smgrsw_matches; /* pattern matches found, -1 = not searched */
	int			syncsw_matches;
	uintptr_t	load_base;		/* load address of the server executable */
	uintptr_t	smgrsw_addr;	/* absolute addresses, 0 if not found */
	uintptr_t	syncsw_addr;
	char		detail[512];	/* where the tables are, or why we refused */
} RbInterceptStatus;

/* remote_buffer.enabled; when false the wrappers only forward */
extern bool rb_intercept_enabled;

/* set once shared memory is attached; NULL means "do not count" */
extern RbInterceptCounters *rb_intercept_counters;

#ifdef RB_LAYOUT_PG15
/*
 * The server's original table entries (md.c).  Valid only when
 * rb_intercept_status()->installed is true.
 */
extern RbSmgrOps rb_md;
extern RbSyncOps rb_md_sync;
#endif

/* Called from _PG_init in the postmaster; never throws */
extern bool rb_intercept_install(void);
extern const RbInterceptStatus *rb_intercept_status(void);

/* Shared memory for the counters */
extern Size rb_intercept_shmem_size(void);
extern void rb_intercept_shmem_init(void);

/* Names for the SQL view */
extern const char *rb_intercept_op_name(int op);
extern const char *rb_intercept_slot_name(int slot);

#endif							/* RB_INTERCEPT_H */
