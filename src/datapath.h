/*-------------------------------------------------------------------------
 *
 * datapath.h
 *	  The backend side of the remote tier: per-process connections to the
 *	  peers, remote page reads with verification, admissions.
 *
 * Everything here runs inside storage manager wrappers: it never throws,
 * never allocates, and every remote operation is bounded by
 * remote_buffer.io_timeout.  Any failure is a miss.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RB_DATAPATH_H
#define RB_DATAPATH_H

#include "storage/smgr.h"

#include "directory.h"

/* Try to serve tag from the remote tier into buffer; false = miss. */
extern bool rb_dp_read(const RbPageTag *tag, char *buffer);

/*
 * Admit page (identical to what storage holds) under the generations
 * captured before the storage I/O.  Best effort.
 */
extern void rb_dp_admit(const RbPageTag *tag, const RbDirSnapshot *snap,
						uint64 blk_gen, const char *page);

/* The wrappers' side (intercept.c) */
typedef void (*rb_md_read_fn) (SMgrRelation reln, ForkNumber forknum,
							   BlockNumber blocknum, char *buffer);

extern void rb_dp_smgr_read(SMgrRelation reln, ForkNumber forknum,
							BlockNumber blocknum, char *buffer,
							rb_md_read_fn mdread);
extern void rb_dp_after_write(SMgrRelation reln, ForkNumber forknum,
							  BlockNumber blocknum, const char *buffer);
extern void rb_dp_inval_rel(RelFileNodeBackend rnode, bool count);
extern void rb_dp_inval_block(RelFileNodeBackend rnode, ForkNumber forknum,
							  BlockNumber blocknum, bool count);

#endif							/* RB_DATAPATH_H */
