/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Server-version dependent layouts used by remote_buffer's storage
 *	  manager interception.
 *
 * PostgreSQL keeps its storage manager dispatch table (smgrsw[] in
 * src/backend/storage/smgr/smgr.c) and its sync handler table (syncsw[] in
 * src/backend/storage/sync/sync.c) private.  To find and patch them we need
 * a private copy of their element layouts and of the exact values we expect
 * to find in them.  Those copies live here, and only here: every
 * PG_VERSION_NUM conditional of the interception code belongs in this file,
 * so that supporting another server version means touching one header.
 *
 * Exports, for a supported version:
 *	  RbSmgrOps / RbSyncOps		mirrors of the server's element structs
 *	  RB_SMGRSW_NENTRIES		number of elements in smgrsw[]
 *	  RB_SYNCSW_NENTRIES		number of elements in syncsw[]
 *	  rb_compat_build_smgrsw()	fills the smgrsw[] contents we expect
 *	  rb_compat_build_syncsw()	fills the syncsw[] contents we expect
 *	  rb_compat_check_runtime()	rejects a running server whose minor
 *								release uses a different layout
 *	  RB_LAYOUT_PG15			defined when the PG 15 wrappers apply
 * and for any other version RB_LAYOUT_NONE plus RB_COMPAT_UNSUPPORTED_MSG.
 *
 * Also: RB_BACKEND_TYPE_COUNT (BackendType enum size),
 * rb_compat_init_materialized_srf(), and for invalidate.c
 * RB_HAVE_RMGR_REDO_WRAP with rb_compat_rmgr_redo_slot().
 *
 *-------------------------------------------------------------------------
 */
#ifndef RB_COMPAT_H
#define RB_COMPAT_H

#include "funcapi.h"
#include "miscadmin.h"
#include "storage/smgr.h"
#include "storage/sync.h"

#if PG_VERSION_NUM >= 150000 && PG_VERSION_NUM < 160000

#include "access/clog.h"
#include "access/commit_ts.h"
#include "access/multixact.h"
#include "storage/md.h"

#define RB_LAYOUT_PG15 1

/*
 * Element of smgrsw[].  Mirrors "struct f_smgr" of
 * src/backend/storage/smgr/smgr.c, PostgreSQL 15 (checked against the
 * REL_15 sources of 15.18; Debian's 15.20 binary matches the same pattern).
 * Member order and types must stay identical to the server's: we overwrite
 * the server's table through this type.
 *
 * Minor-release caveat: the truncate member gained the old_blocks argument
 * in 15.11 ("Fix data corruption when relation truncation fails"); before
 * that it was (reln, forknum, nblocks).  The struct size and the pattern are
 * the same for every 15.x, so the pattern search cannot tell them apart;
 * rb_compat_check_runtime() does, using the running server's version.
 */
typedef struct RbSmgrOps
{
	void		(*init) (void);
	void		(*shutdown) (void);
	void		(*open) (SMgrRelation reln);
	void		(*close) (SMgrRelation reln, ForkNumber forknum);
	void		(*create) (SMgrRelation reln, ForkNumber forknum, bool isRedo);
	bool		(*exists) (SMgrRelation reln, ForkNumber forknum);
	void		(*unlink) (RelFileNodeBackend rnode, ForkNumber forknum,
						   bool isRedo);
	void		(*extend) (SMgrRelation reln, ForkNumber forknum,
						   BlockNumber blocknum, char *buffer, bool skipFsync);
	bool		(*prefetch) (SMgrRelation reln, ForkNumber forknum,
							 BlockNumber blocknum);
	void		(*read) (SMgrRelation reln, ForkNumber forknum,
						 BlockNumber blocknum, char *buffer);
	void		(*write) (SMgrRelation reln, ForkNumber forknum,
						  BlockNumber blocknum, char *buffer, bool skipFsync);
	void		(*writeback) (SMgrRelation reln, ForkNumber forknum,
							  BlockNumber blocknum, BlockNumber nblocks);
	BlockNumber (*nblocks) (SMgrRelation reln, ForkNumber forknum);
	void		(*truncate) (SMgrRelation reln, ForkNumber forknum,
							 BlockNumber old_blocks, BlockNumber nblocks);
	void		(*immedsync) (SMgrRelation reln, ForkNumber forknum);
} RbSmgrOps;

StaticAssertDecl(sizeof(RbSmgrOps) == 15 * sizeof(void *),
				 "RbSmgrOps must be 15 function pointers on PostgreSQL 15");

/* PG 15 registers exactly one storage manager: md.c */
#define RB_SMGRSW_NENTRIES	1

/*
 * Element of syncsw[].  Mirrors "struct SyncOps" of
 * src/backend/storage/sync/sync.c, PostgreSQL 15.  The array is indexed by
 * SyncRequestHandler and has one element per handler before
 * SYNC_HANDLER_NONE.
 */
typedef struct RbSyncOps
{
	int			(*syncfiletag) (const FileTag *ftag, char *path);
	int			(*unlinkfiletag) (const FileTag *ftag, char *path);
	bool		(*filetagmatches) (const FileTag *ftag,
								   const FileTag *candidate);
} RbSyncOps;

StaticAssertDecl(sizeof(RbSyncOps) == 3 * sizeof(void *),
				 "RbSyncOps must be 3 function pointers on PostgreSQL 15");

#define RB_SYNCSW_NENTRIES	((int) SYNC_HANDLER_NONE)

StaticAssertDecl(SYNC_HANDLER_MD == 0 && SYNC_HANDLER_NONE == 5,
				 "unexpected SyncRequestHandler numbering for PostgreSQL 15");

/* first minor release whose truncate member takes old_blocks */
#define RB_PG15_TRUNCATE_OLD_BLOCKS_MINOR	150011

/*
 * Fill "out" with the exact contents smgrsw[] has in an unmodified
 * PostgreSQL 15 server: the md.c functions, with the shutdown slot empty.
 */
static inline void
rb_compat_build_smgrsw(RbSmgrOps *out)
{
	memset(out, 0, sizeof(RbSmgrOps) * RB_SMGRSW_NENTRIES);
	out[0].init = mdinit;
	out[0].shutdown = NULL;
	out[0].open = mdopen;
	out[0].close = mdclose;
	out[0].create = mdcreate;
	out[0].exists = mdexists;
	out[0].unlink = mdunlink;
	out[0].extend = mdextend;
	out[0].prefetch = mdprefetch;
	out[0].read = mdread;
	out[0].write = mdwrite;
	out[0].writeback = mdwriteback;
	out[0].nblocks = mdnblocks;
	out[0].truncate = mdtruncate;
	out[0].immedsync = mdimmedsync;
}

/*
 * Fill "out" with the exact contents of syncsw[] in PostgreSQL 15: md.c
 * has all three callbacks, the SLRU handlers (clog, commit_ts, multixact
 * offsets and members) only a sync callback.  Matching the whole array, not
 * just the md element, makes an accidental match practically impossible.
 */
static inline void
rb_compat_build_syncsw(RbSyncOps *out)
{
	memset(out, 0, sizeof(RbSyncOps) * RB_SYNCSW_NENTRIES);
	out[SYNC_HANDLER_MD].syncfiletag = mdsyncfiletag;
	out[SYNC_HANDLER_MD].unlinkfiletag = mdunlinkfiletag;
	out[SYNC_HANDLER_MD].filetagmatches = mdfiletagmatches;
	out[SYNC_HANDLER_CLOG].syncfiletag = clogsyncfiletag;
	out[SYNC_HANDLER_COMMIT_TS].syncfiletag = committssyncfiletag;
	out[SYNC_HANDLER_MULTIXACT_OFFSET].syncfiletag =
		multixactoffsetssyncfiletag;
	out[SYNC_HANDLER_MULTIXACT_MEMBER].syncfiletag =
		multixactmemberssyncfiletag;
}

/*
 * The module magic block only guarantees the same major version.  Check
 * that the running server's minor release uses the same smgrsw[] member
 * signatures as the headers we were compiled against.  Returns true if so;
 * otherwise writes a reason into "reason" and returns false.
 */
static inline bool
rb_compat_check_runtime(int server_version_num, char *reason, size_t reasonlen)
{
	bool		built_new = (PG_VERSION_NUM >= RB_PG15_TRUNCATE_OLD_BLOCKS_MINOR);
	bool		running_new = (server_version_num >= RB_PG15_TRUNCATE_OLD_BLOCKS_MINOR);

	if (server_version_num / 100 != PG_VERSION_NUM / 100)
	{
		snprintf(reason, reasonlen,
				 "built for server version %d but running on %d",
				 PG_VERSION_NUM, server_version_num);
		return false;
	}
	if (built_new != running_new)
	{
		snprintf(reason, reasonlen,
				 "built against PostgreSQL %d, running on %d: the storage manager truncate callback changed signature in 15.11, rebuild against the running server's headers",
				 PG_VERSION_NUM, server_version_num);
		return false;
	}
	return true;
}

/* BackendType has no "number of types" symbol before PG 17 */
#define RB_BACKEND_TYPE_COUNT	((int) B_LOGGER + 1)

/*
 * InitMaterializedSRF() appeared in 15.1 (15.0 only has the older name,
 * which every 15.x still exports), so use the old name on 15.
 */
#define rb_compat_init_materialized_srf(fcinfo) \
	SetSingleFuncCall((fcinfo), 0)

/*
 * WAL redo wrappers (invalidate.c).  In PostgreSQL 15 the resource manager
 * table RmgrTable[] (src/backend/access/transam/rmgr.c) is an exported,
 * writable array of RmgrData, indexed by RmgrId, and the startup process
 * calls rm_redo through it for every record it replays.  A module loaded
 * by shared_preload_libraries may therefore replace the rm_redo member of
 * a built-in resource manager in the postmaster, before the startup process
 * is forked.  The database and tablespace record layouts
 * (commands/dbcommands_xlog.h, commands/tablespace.h) are those of 15.x.
 */
#include "access/rmgr.h"
#include "access/xlog_internal.h"
#include "commands/dbcommands_xlog.h"
#include "commands/tablespace.h"

#define RB_HAVE_RMGR_REDO_WRAP 1

typedef void (*RbRmgrRedoFn) (XLogReaderState *record);

/* address of the rm_redo member of the built-in resource manager "rmid" */
static inline RbRmgrRedoFn *
rb_compat_rmgr_redo_slot(RmgrId rmid)
{
	return &RmgrTable[rmid].rm_redo;
}

#else							/* not PostgreSQL 15 */

/*
 * Other majors change the layout: 16 renames RelFileNode to RelFileLocator
 * and adds a zeroextend member; 17 replaces read/write with vectored
 * readv/writev and adds registersync; 18 adds AIO members.  Until those
 * layouts are written down here, build a module that refuses to intercept.
 */
#define RB_LAYOUT_NONE 1
#define RB_COMPAT_UNSUPPORTED_MSG \
	"storage manager interception is not implemented for this PostgreSQL major version"

/* generous bound; nothing is counted when interception is unavailable */
#define RB_BACKEND_TYPE_COUNT	32

#define rb_compat_init_materialized_srf(fcinfo) \
	InitMaterializedSRF((fcinfo), 0)

#endif							/* PG_VERSION_NUM */

#endif							/* RB_COMPAT_H */
