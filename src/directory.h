/*-------------------------------------------------------------------------
 *
 * directory.h
 *	  The page directory: which page (buffer tag) lives in which remote
 *	  slot, and the generations that invalidate pages in bulk.
 *
 * Slots.  Every segment (shmem.h) of lease_size bytes holds
 * lease_size / BLCKSZ slots of exactly BLCKSZ bytes on the remote side;
 * slot s lives in segment s / slots_per_segment at byte offset
 * (s % slots_per_segment) * BLCKSZ of that segment's lease.  What the
 * remote side holds is only the page; everything needed to verify it (tag,
 * generations, CRC-32C of tag + page) stays in the slot descriptor in local
 * shared memory.
 *
 * Validity.  A directory entry is served only if, at lookup AND again after
 * the remote read has completed:
 *	  - the slot still maps the same tag with the same descriptor version
 *		(bumped on every change of the slot), and
 *	  - its segment is ACTIVE with the generation recorded at admission, and
 *	  - the relation-bucket, database-bucket and global generations recorded
 *		at admission are still current, and
 *	  - the CRC-32C of tag + fetched page equals the recorded one.
 * Anything else is a miss (and a verify failure where the CRC differs).
 *
 * Invalidation (invariant I1: never serve a stale page).  Callers that are
 * about to change relation files invalidate FIRST, then change the files:
 *	  - one block (write, extend): rb_dir_invalidate_block();
 *	  - whole relation, every fork and block (truncate, unlink, create,
 *		sync's unlink-filetag): rb_dir_invalidate_rel(): bumps the relation
 *		bucket generation (a hash of spc/db/rel into a fixed array, so
 *		unrelated relations may be invalidated too: harmless misses);
 *	  - whole database (CREATE/DROP DATABASE, ALTER DATABASE SET
 *		TABLESPACE, their WAL redo): rb_dir_invalidate_db();
 *	  - everything (DROP TABLESPACE and its redo,
 *		remote_buffer_invalidate_all()): rb_dir_invalidate_all().
 *	  The generation bumps are atomic read-modify-writes (full barriers)
 *	  and never block; none of these functions allocates or throws, so they
 *	  are safe inside critical sections and after commit.  Stale slots are
 *	  reclaimed lazily by the replacement sweep; nothing scans the
 *	  directory under a lock.
 *
 * Admission.  A page read from or written to storage is admitted with the
 * generations captured by rb_dir_snapshot() BEFORE the storage I/O began, so
 * an invalidation that raced with the I/O makes the new entry invalid at
 * birth rather than letting a stale page in.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RB_DIRECTORY_H
#define RB_DIRECTORY_H

#include "common/relpath.h"
#include "storage/block.h"
#include "storage/relfilenode.h"

/* Generations captured before a storage I/O, for the admission after it. */
typedef struct RbDirSnapshot
{
	uint64		global_gen;
	uint64		db_gen;
	uint64		rel_gen;
} RbDirSnapshot;

extern Size rb_dir_shmem_size(void);
extern void rb_dir_shmem_init(void);	/* from the shmem startup hook */

extern void rb_dir_snapshot(RelFileNode rnode, RbDirSnapshot *snap);

extern void rb_dir_invalidate_block(RelFileNode rnode, ForkNumber fork,
									BlockNumber block);
extern void rb_dir_invalidate_rel(RelFileNode rnode);
extern void rb_dir_invalidate_db(Oid dbNode);
extern void rb_dir_invalidate_all(void);

/* ------------------------------------------------------------------------
 * Data path interface (directory.c, used by datapath.c and intercept.c).
 * Added by the data path implementation, below the lead's contract.
 *
 * Besides the relation, database and global generations of the contract,
 * every entry also records the generation of its BLOCK bucket (a hash of
 * the full page tag into a fixed array).  rb_dir_invalidate_block() only
 * bumps that bucket: it never takes a lock and never searches the mapping.
 * Validity therefore additionally requires the block-bucket generation
 * recorded at admission to be current.
 * ------------------------------------------------------------------------
 */

/* The identity of a page; also the mapping hash key (no padding). */
typedef struct RbPageTag
{
	RelFileNode rnode;
	ForkNumber	forknum;
	BlockNumber blocknum;
} RbPageTag;

/* What a lookup found, for the remote read and the recheck after it */
typedef struct RbDirRef
{
	int			slot;
	uint64		version;		/* descriptor version at lookup */
	int			peer;			/* index into rb_ctl->peers */
	uint64		lease_id;
	uint64		offset;			/* byte offset of the slot in the lease */
	uint64		seg_gen;		/* segment generation (claim: at claim) */
	uint32		crc;			/* CRC-32C of tag + page at admission */
} RbDirRef;

extern void rb_dir_shmem_request(void);

/* Cheap hint: is any segment ACTIVE?  (unlocked read) */
extern bool rb_dir_any_active(void);

/* Block-bucket generation of tag, to capture with the snapshot */
extern uint64 rb_dir_block_gen(const RbPageTag *tag);

/* Find a servable entry; false = miss. */
extern bool rb_dir_lookup(const RbPageTag *tag, RbDirRef *ref);

/* After the remote read: still the same, still current, CRC matches? */
extern bool rb_dir_recheck(const RbPageTag *tag, const RbDirRef *ref,
						   const char *page, bool *crc_failed);

/*
 * Admission in two steps: claim a victim slot (CLOCK sweep over ACTIVE
 * segments, bounded; false = nothing suitable), write the page remotely,
 * then publish it (or abandon the claim if the remote write failed).
 */
extern bool rb_dir_claim(RbDirRef *ref);
extern void rb_dir_publish(const RbPageTag *tag, const RbDirRef *ref,
						   const RbDirSnapshot *snap, uint64 blk_gen,
						   const char *page);
extern void rb_dir_abandon(const RbDirRef *ref);

/* Free every stale slot (SQL level only: takes partition locks). */
extern void rb_dir_reclaim_stale(void);

/* Slots in use on segment seg (for used_bytes) */
extern uint64 rb_dir_used_slots(int seg);
extern uint64 rb_dir_slots_per_segment(void);

#endif							/* RB_DIRECTORY_H */
