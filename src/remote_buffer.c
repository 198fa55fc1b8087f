/*-------------------------------------------------------------------------
 *
 * remote_buffer.c
 *	  Entry point of the remote_buffer extension: module load, GUCs,
 *	  shared memory, and the SQL-callable functions.
 *
 * remote_buffer only works when loaded through shared_preload_libraries:
 * the storage manager interception (intercept.c) must be in place in the
 * postmaster before any other process is forked.  Loaded any other way the
 * module stays inert and its SQL functions report that.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "intercept.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

PG_FUNCTION_INFO_V1(remote_buffer_intercept_status);

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* true once _PG_init ran as part of shared_preload_libraries */
static bool rb_preloaded = false;

static void
rb_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();

	RequestAddinShmemSpace(rb_intercept_shmem_size());
}

static void
rb_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	rb_intercept_shmem_init();
}

void
_PG_init(void)
{
	/*
	 * Without shared_preload_libraries we cannot intercept anything
	 * (processes already exist, shared memory is sized).  Stay inert; the
	 * SQL functions explain why.
	 */
	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomBoolVariable("remote_buffer.enabled",
							 "Enables remote_buffer's handling of storage manager calls.",
							 "When off, intercepted calls go straight to the local storage manager.",
							 &rb_intercept_enabled,
							 true,
							 PGC_SUSET,
							 0,
							 NULL,
							 NULL,
							 NULL);

	MarkGUCPrefixReserved("remote_buffer");

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = rb_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = rb_shmem_startup;

	rb_preloaded = true;

	/* logs a WARNING and leaves the server untouched if it cannot */
	rb_intercept_install();
}

static void
rb_require_preload(void)
{
	if (!rb_preloaded || rb_intercept_counters == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("remote_buffer must be loaded via shared_preload_libraries"),
				 errhint("Add remote_buffer to shared_preload_libraries and restart the server.")));
}

/*
 * remote_buffer_intercept_status()
 *
 * One row per (operation, process kind) with a non-zero call count, each
 * carrying the install status; a single row with NULL operation when
 * nothing has been counted (or interception is not installed).
 */
Datum
remote_buffer_intercept_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const RbInterceptStatus *status;
	Datum		values[5];
	bool		nulls[5];
	int			nrows = 0;

	rb_require_preload();

	rb_compat_init_materialized_srf(fcinfo);

	status = rb_intercept_status();

	for (int op = 0; op < RB_ICPT_NUM_OPS; op++)
	{
		for (int slot = 0; slot < RB_ICPT_NUM_SLOTS; slot++)
		{
			uint64		calls;

			calls = pg_atomic_read_u64(&rb_intercept_counters->calls[op][slot]);
			if (calls == 0)
				continue;

			memset(nulls, 0, sizeof(nulls));
			values[0] = BoolGetDatum(status->installed);
			values[1] = CStringGetTextDatum(status->detail);
			values[2] = CStringGetTextDatum(rb_intercept_op_name(op));
			values[3] = CStringGetTextDatum(rb_intercept_slot_name(slot));
			values[4] = Int64GetDatum((int64) calls);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc,
								 values, nulls);
			nrows++;
		}
	}

	if (nrows == 0)
	{
		memset(nulls, 0, sizeof(nulls));
		values[0] = BoolGetDatum(status->installed);
		values[1] = CStringGetTextDatum(status->detail);
		nulls[2] = nulls[3] = nulls[4] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc,
							 values, nulls);
	}

	return (Datum) 0;
}
