/*-------------------------------------------------------------------------
 *
 * invalidate.c
 *	  Invalidate remote pages after the operations that change relation
 *	  files behind the storage manager's back.
 *
 * Almost every change of a relation file goes through smgr and is seen by
 * intercept.c.  A few do not: CREATE DATABASE with the FILE_COPY strategy
 * and ALTER DATABASE SET TABLESPACE copy whole directories with copydir(),
 * DROP DATABASE and ALTER DATABASE SET TABLESPACE remove them with rmtree(),
 * and the WAL redo of those operations (on a standby, in crash recovery)
 * does the same in the startup process.  After any of them the remote tier
 * must not serve a page of the database concerned (invariant I1), so this
 * file bumps the database generation of the page directory (directory.h)
 * at the end of each of them:
 *
 *	  CREATE DATABASE (both strategies)	the new database
 *	  DROP DATABASE						the dropped database
 *	  ALTER DATABASE ... SET TABLESPACE	the moved database
 *	  DROP TABLESPACE					everything
 *	  redo of XLOG_DBASE_*				the record's database
 *	  redo of XLOG_TBLSPC_DROP			everything
 *	  any other or malformed record		everything
 *
 * The utility statements are caught with ProcessUtility_hook, and the
 * invalidation happens after the standard processing has returned: only
 * then are the files in their final state and the server's own buffers for
 * the database gone (DropDatabaseBuffers()), so no page of the old files
 * can be admitted to the remote tier any more.  The redo routines are
 * wrapped through the resource manager table (compat.h); the wrapper runs
 * the original first, for the same reason.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_database.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "compat.h"
#include "directory.h"
#include "invalidate.h"

/* what a utility statement needs invalidated once it has run */
typedef enum RbInvalAction
{
	RB_INVAL_NONE,				/* not a statement we care about */
	RB_INVAL_CREATED_DB,		/* CREATE DATABASE: look the OID up after */
	RB_INVAL_DROPPED_DB,		/* DROP DATABASE of "dboid" */
	RB_INVAL_MOVED_DB,			/* ALTER DATABASE SET TABLESPACE of "dboid" */
	RB_INVAL_ALL				/* DROP TABLESPACE */
} RbInvalAction;

static bool rb_invalidate_installed = false;
static ProcessUtility_hook_type rb_prev_process_utility = NULL;

#ifdef RB_HAVE_RMGR_REDO_WRAP
static RbRmgrRedoFn rb_orig_dbase_redo = NULL;
static RbRmgrRedoFn rb_orig_tblspc_redo = NULL;
#endif

/*
 * Look a database up in pg_database by name or, if name is NULL, by OID,
 * with SnapshotSelf: unlike the catalog snapshot, that sees the rows the
 * current command has just inserted (CREATE DATABASE does not increment
 * the command counter) and no longer sees the rows it has just deleted.
 * Returns the database's OID, or InvalidOid if there is no such database.
 */
static Oid
rb_lookup_database(const char *name, Oid dboid)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			result = InvalidOid;

	if (name != NULL)
		ScanKeyInit(&key, Anum_pg_database_datname,
					BTEqualStrategyNumber, F_NAMEEQ,
					CStringGetDatum(name));
	else
		ScanKeyInit(&key, Anum_pg_database_oid,
					BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(dboid));

	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = systable_beginscan(rel,
							  name != NULL ? DatabaseNameIndexId : DatabaseOidIndexId,
							  true, SnapshotSelf, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		result = ((Form_pg_database) GETSTRUCT(tuple))->oid;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	return result;
}

/* Does this ALTER DATABASE move the database to another tablespace? */
static bool
rb_alter_database_moves(AlterDatabaseStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->options)
	{
		DefElem    *opt = lfirst_node(DefElem, lc);

		if (strcmp(opt->defname, "tablespace") == 0)
			return true;
	}
	return false;
}

/*
 * Invalidate what a statement changed; "succeeded" is false when the
 * standard processing threw an error.  Never throws when succeeded is
 * false: it runs inside PG_CATCH, with the transaction already failed.
 */
static void
rb_invalidate_after(RbInvalAction action, Oid dboid, const char *dbname,
					bool succeeded)
{
	switch (action)
	{
		case RB_INVAL_NONE:
			break;

		case RB_INVAL_CREATED_DB:

			/*
			 * A failed CREATE DATABASE removes what it copied, and nobody
			 * can read pages of a database that does not exist; the next
			 * database that gets the same OID is invalidated here or in
			 * redo when it is created.
			 */
			if (succeeded)
			{
				Oid			newoid = rb_lookup_database(dbname, InvalidOid);

				if (OidIsValid(newoid))
					rb_dir_invalidate_db(newoid);
				else
					rb_dir_invalidate_all();
			}
			break;

		case RB_INVAL_DROPPED_DB:

			/*
			 * Also after an error: the drop may have got past removing
			 * buffers and files before it failed.  No OID means DROP
			 * DATABASE IF EXISTS of a database that did not exist.
			 */
			if (OidIsValid(dboid))
			{
				rb_dir_invalidate_db(dboid);

				/*
				 * If the database we looked up before is still there, the
				 * name was given to another database in between (a
				 * concurrent rename), and that one has been dropped: we do
				 * not know its OID any more.
				 */
				if (succeeded && OidIsValid(rb_lookup_database(NULL, dboid)))
					rb_dir_invalidate_all();
			}
			break;

		case RB_INVAL_MOVED_DB:
			if (OidIsValid(dboid))
				rb_dir_invalidate_db(dboid);
			if (succeeded)
			{
				/* same concern as above: the name may now be another's */
				Oid			nowoid = rb_lookup_database(dbname, InvalidOid);

				if (nowoid != dboid)
				{
					if (OidIsValid(nowoid))
						rb_dir_invalidate_db(nowoid);
					else
						rb_dir_invalidate_all();
				}
			}
			break;

		case RB_INVAL_ALL:
			rb_dir_invalidate_all();
			break;
	}
}

static void
rb_process_utility(PlannedStmt *pstmt, const char *queryString,
				   bool readOnlyTree, ProcessUtilityContext context,
				   ParamListInfo params, QueryEnvironment *queryEnv,
				   DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	RbInvalAction action = RB_INVAL_NONE;
	Oid			dboid = InvalidOid;
	char	   *dbname = NULL;

	/*
	 * Decide before running the statement.  The names are copied: the
	 * statement tree may be scribbled on by the standard processing.
	 */
	switch (nodeTag(parsetree))
	{
		case T_CreatedbStmt:
			action = RB_INVAL_CREATED_DB;
			dbname = pstrdup(((CreatedbStmt *) parsetree)->dbname);
			break;

		case T_DropdbStmt:
			action = RB_INVAL_DROPPED_DB;
			dboid = rb_lookup_database(((DropdbStmt *) parsetree)->dbname,
									   InvalidOid);
			break;

		case T_AlterDatabaseStmt:
			if (rb_alter_database_moves((AlterDatabaseStmt *) parsetree))
			{
				action = RB_INVAL_MOVED_DB;
				dbname = pstrdup(((AlterDatabaseStmt *) parsetree)->dbname);
				dboid = rb_lookup_database(dbname, InvalidOid);
			}
			break;

		case T_DropTableSpaceStmt:
			action = RB_INVAL_ALL;
			break;

		default:
			break;
	}

	if (action == RB_INVAL_NONE)
	{
		if (rb_prev_process_utility)
			rb_prev_process_utility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
		return;
	}

	PG_TRY();
	{
		if (rb_prev_process_utility)
			rb_prev_process_utility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_CATCH();
	{
		rb_invalidate_after(action, dboid, dbname, false);
		PG_RE_THROW();
	}
	PG_END_TRY();

	rb_invalidate_after(action, dboid, dbname, true);
}

#ifdef RB_HAVE_RMGR_REDO_WRAP

/*
 * Redo of database records, in the startup process.  This runs inside
 * recovery: it must not throw and must not allocate, and the
 * rb_dir_invalidate_* functions do neither.  The original routine runs
 * first; it removes the server's buffers of the database and copies or
 * removes its files.
 */
static void
rb_dbase_redo(XLogReaderState *record)
{
	uint8		info = XLogRecGetInfo(record) & ~XLR_INFO_MASK;
	char	   *data = XLogRecGetData(record);
	uint32		len = XLogRecGetDataLen(record);

	rb_orig_dbase_redo(record);

	/* db_id comes first in all three record layouts, but be explicit */
	if (info == XLOG_DBASE_CREATE_FILE_COPY &&
		len >= sizeof(xl_dbase_create_file_copy_rec))
		rb_dir_invalidate_db(((xl_dbase_create_file_copy_rec *) data)->db_id);
	else if (info == XLOG_DBASE_CREATE_WAL_LOG &&
			 len >= sizeof(xl_dbase_create_wal_log_rec))
		rb_dir_invalidate_db(((xl_dbase_create_wal_log_rec *) data)->db_id);
	else if (info == XLOG_DBASE_DROP && len >= MinSizeOfDbaseDropRec)
		rb_dir_invalidate_db(((xl_dbase_drop_rec *) data)->db_id);
	else
		rb_dir_invalidate_all();
}

/*
 * Redo of tablespace records.  Creating a tablespace changes no relation
 * file; dropping one (or anything we do not know) invalidates everything.
 */
static void
rb_tblspc_redo(XLogReaderState *record)
{
	uint8		info = XLogRecGetInfo(record) & ~XLR_INFO_MASK;

	rb_orig_tblspc_redo(record);

	if (info != XLOG_TBLSPC_CREATE)
		rb_dir_invalidate_all();
}

#endif							/* RB_HAVE_RMGR_REDO_WRAP */

/*
 * Install the utility hook and the redo wrappers.  Called from _PG_init in
 * the postmaster: the startup process and every backend inherit both.
 */
void
rb_invalidate_install(void)
{
	if (rb_invalidate_installed)
		return;
	rb_invalidate_installed = true;

	rb_prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = rb_process_utility;

#ifdef RB_HAVE_RMGR_REDO_WRAP
	{
		RbRmgrRedoFn *dbase_slot = rb_compat_rmgr_redo_slot(RM_DBASE_ID);
		RbRmgrRedoFn *tblspc_slot = rb_compat_rmgr_redo_slot(RM_TBLSPC_ID);

		if (*dbase_slot == NULL || *tblspc_slot == NULL)
		{
			ereport(WARNING,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("remote_buffer could not wrap the WAL redo of database and tablespace records"),
					 errdetail("The resource manager table has no redo routine for them.")));
			return;
		}

		/* chain whatever is there, the server's routine or another wrapper */
		rb_orig_dbase_redo = *dbase_slot;
		*dbase_slot = rb_dbase_redo;
		rb_orig_tblspc_redo = *tblspc_slot;
		*tblspc_slot = rb_tblspc_redo;
	}
#else
	ereport(WARNING,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("remote_buffer cannot wrap WAL redo on this server version"),
			 errdetail("Database and tablespace changes replayed from WAL will not invalidate remote pages.")));
#endif
}
