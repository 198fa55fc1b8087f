/*-------------------------------------------------------------------------
 *
 * invalidate.h
 *	  Invalidation of remote pages for the paths that change relation files
 *	  without going through the storage manager: CREATE DATABASE, DROP
 *	  DATABASE, ALTER DATABASE SET TABLESPACE, DROP TABLESPACE, and the WAL
 *	  redo of those operations.  See "Invalidation" in docs/extension.md.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RB_INVALIDATE_H
#define RB_INVALIDATE_H

/* from _PG_init in the postmaster, before any child process is forked */
extern void rb_invalidate_install(void);

#endif							/* RB_INVALIDATE_H */
