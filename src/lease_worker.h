/*-------------------------------------------------------------------------
 *
 * lease_worker.h
 *	  The lease manager background worker: keeps the remote tier's
 *	  segments backed by rbufd leases.  See docs/extension.md.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RB_LEASE_WORKER_H
#define RB_LEASE_WORKER_H

#include "fmgr.h"

/* Entry point; remote_buffer.c registers it by name */
extern PGDLLEXPORT void rb_lease_worker_main(Datum main_arg);

#endif							/* RB_LEASE_WORKER_H */
