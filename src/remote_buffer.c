/*-------------------------------------------------------------------------
 *
 * remote_buffer.c
 *	  Entry point of the remote_buffer extension: module load and the
 *	  wiring of its parts.
 *
 *	  guc.c				configuration parameters
 *	  intercept.c		storage manager interception
 *	  invalidate.c		invalidation after CREATE/DROP DATABASE, ALTER
 *						DATABASE SET TABLESPACE, DROP TABLESPACE and
 *						their WAL redo
 *	  shmem.c			segment and peer tables in shared memory
 *	  lease_worker.c	the lease manager background worker
 *	  directory.c		page directory: slots, mapping, generations
 *	  datapath.c		remote reads and admissions, peer connections
 *	  stats.c			data path statistics
 *	  views.c			SQL-callable functions behind the views
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
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/shmem.h"

#include "directory.h"
#include "guc.h"
#include "intercept.h"
#include "invalidate.h"
#include "shmem.h"
#include "stats.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
rb_shmem_request_hook(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();

	RequestAddinShmemSpace(rb_intercept_shmem_size());
	rb_shmem_request();
	rb_dir_shmem_request();
	RequestAddinShmemSpace(rb_stats_shmem_size());
}

/*
 * The lease manager (lease_worker.c).  It starts with the postmaster, not
 * once the server is consistent: the startup process reads pages during
 * crash recovery and on a standby, and the remote tier should be there for
 * it.  It needs shared memory but no database.  If it exits with an error
 * it is started again after a few seconds and re-attaches to its leases.
 */
static void
rb_register_lease_worker(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_PostmasterStart;
	worker.bgw_restart_time = 5;
	strlcpy(worker.bgw_library_name, "remote_buffer",
			sizeof(worker.bgw_library_name));
	strlcpy(worker.bgw_function_name, "rb_lease_worker_main",
			sizeof(worker.bgw_function_name));
	strlcpy(worker.bgw_name, "remote_buffer lease manager",
			sizeof(worker.bgw_name));
	strlcpy(worker.bgw_type, "remote_buffer lease manager",
			sizeof(worker.bgw_type));
	RegisterBackgroundWorker(&worker);
}

static void
rb_shmem_startup_hook(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	rb_intercept_shmem_init();
	rb_shmem_init();
	rb_dir_shmem_init();
	rb_stats_shmem_init();
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

	rb_guc_define();

	if ((int64) rb_guc_max_size_mb / rb_guc_lease_size_mb > RB_MAX_SEGMENTS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("remote_buffer.max_size allows more than %d segments of remote_buffer.lease_size",
						RB_MAX_SEGMENTS),
				 errhint("Lower remote_buffer.max_size or raise remote_buffer.lease_size.")));

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = rb_shmem_request_hook;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = rb_shmem_startup_hook;

	rb_register_lease_worker();

	/* logs a WARNING and leaves the server untouched if it cannot */
	rb_intercept_install();

	/* utility hook and WAL redo wrappers, before the startup process forks */
	rb_invalidate_install();
}
