/*-------------------------------------------------------------------------
 *
 * views.c
 *	  SQL-callable functions behind remote_buffer's monitoring views:
 *	  remote_buffer_intercept, remote_buffer_peers, remote_buffer_leases,
 *	  remote_buffer_stats, and the functions that reset the statistics and
 *	  invalidate the whole remote tier.
 *
 * Shared state is copied out under the lock in shared mode and turned into
 * tuples after the lock is released.  The lease manager never holds that
 * lock across network I/O, so these functions never wait on a peer.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "directory.h"
#include "intercept.h"
#include "shmem.h"
#include "stats.h"

PG_FUNCTION_INFO_V1(remote_buffer_intercept_status);
PG_FUNCTION_INFO_V1(remote_buffer_peers_status);
PG_FUNCTION_INFO_V1(remote_buffer_leases_status);
PG_FUNCTION_INFO_V1(remote_buffer_stats_status);
PG_FUNCTION_INFO_V1(remote_buffer_reset_stats);
PG_FUNCTION_INFO_V1(remote_buffer_invalidate_all);

static void
rb_require_preload(void)
{
	if (rb_ctl == NULL || rb_intercept_counters == NULL)
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

/*
 * remote_buffer_peers_status()
 *
 * One row per configured peer, in remote_buffer.peers order, with its
 * connection state and the leases it holds for us.
 */
Datum
remote_buffer_peers_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	RbPeer	   *peers;
	int			leases[RB_MAX_PEERS] = {0};
	uint64		leased[RB_MAX_PEERS] = {0};
	uint64		used[RB_MAX_PEERS] = {0};
	int			npeers;

	rb_require_preload();
	rb_compat_init_materialized_srf(fcinfo);

	peers = palloc(sizeof(RbPeer) * RB_MAX_PEERS);
	LWLockAcquire(rb_ctl->lock, LW_SHARED);
	npeers = rb_ctl->npeers;
	memcpy(peers, rb_ctl->peers, sizeof(RbPeer) * npeers);
	for (int s = 0; s < rb_ctl->nsegments; s++)
	{
		RbSegment  *seg = &rb_ctl->segments[s];

		if (seg->state == RB_SEG_ACTIVE && seg->peer >= 0 &&
			seg->peer < npeers)
		{
			leases[seg->peer]++;
			leased[seg->peer] += seg->bytes;
			used[seg->peer] += rb_dir_used_slots(s) * BLCKSZ;
		}
	}
	LWLockRelease(rb_ctl->lock);

	for (int i = 0; i < npeers; i++)
	{
		RbPeer	   *p = &peers[i];
		Datum		values[10];
		bool		nulls[10];

		memset(nulls, 0, sizeof(nulls));
		p->name[sizeof(p->name) - 1] = '\0';
		p->last_error[sizeof(p->last_error) - 1] = '\0';
		values[0] = CStringGetTextDatum(p->name);
		values[1] = CStringGetTextDatum(rb_transport_name(p->transport));
		values[2] = CStringGetTextDatum(rb_peer_state_name(p->state));
		if (p->rtt_us >= 0)
			values[3] = Int64GetDatum(p->rtt_us);
		else
			nulls[3] = true;
		values[4] = Int32GetDatum(leases[i]);
		values[5] = Int64GetDatum((int64) leased[i]);
		values[6] = Int64GetDatum((int64) used[i]);
		values[7] = Int64GetDatum((int64) p->disconnects);
		if (p->last_error[0] != '\0')
		{
			values[8] = CStringGetTextDatum(p->last_error);
			values[9] = TimestampTzGetDatum(p->last_error_at);
		}
		else
			nulls[8] = nulls[9] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc,
							 values, nulls);
	}
	pfree(peers);

	return (Datum) 0;
}

/* One segment as copied out of shared memory */
typedef struct RbLeaseRow
{
	int			segment;
	RbSegState	state;
	uint64		generation;
	uint64		lease_id;
	uint64		bytes;
	uint64		renewals;
	TimestampTz expires_at;
	int			peer;			/* index into the copied names, -1 if none */
} RbLeaseRow;

/*
 * remote_buffer_leases_status()
 *
 * One row per segment that is active or wanted: "active" rows have a
 * lease, "pending" rows are wanted but have none at the moment.
 */
Datum
remote_buffer_leases_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	RbLeaseRow *rows;
	char		(*names)[RB_PEER_NAME_LEN];
	int			nrows = 0;

	rb_require_preload();
	rb_compat_init_materialized_srf(fcinfo);

	rows = palloc(sizeof(RbLeaseRow) * Max(rb_ctl->nsegments, 1));
	names = palloc(sizeof(*names) * RB_MAX_PEERS);
	LWLockAcquire(rb_ctl->lock, LW_SHARED);
	for (int i = 0; i < rb_ctl->npeers; i++)
		strlcpy(names[i], rb_ctl->peers[i].name, RB_PEER_NAME_LEN);
	for (int s = 0; s < rb_ctl->nsegments; s++)
	{
		RbSegment  *seg = &rb_ctl->segments[s];
		RbLeaseRow *r = &rows[nrows];

		if (seg->state != RB_SEG_ACTIVE && s >= rb_ctl->wanted)
			continue;
		r->segment = s;
		r->state = seg->state;
		r->generation = pg_atomic_read_u64(&seg->generation);
		r->lease_id = seg->lease_id;
		r->bytes = seg->bytes;
		r->renewals = seg->renewals;
		r->expires_at = seg->expires_at;
		r->peer = -1;
		if (seg->state == RB_SEG_ACTIVE && seg->peer >= 0 &&
			seg->peer < rb_ctl->npeers)
			r->peer = seg->peer;
		nrows++;
	}
	LWLockRelease(rb_ctl->lock);

	for (int k = 0; k < nrows; k++)
	{
		RbLeaseRow *r = &rows[k];
		Datum		values[8];
		bool		nulls[8];
		bool		active = r->state == RB_SEG_ACTIVE && r->peer >= 0;
		char		idbuf[17];

		memset(nulls, 0, sizeof(nulls));
		if (active)
		{
			snprintf(idbuf, sizeof(idbuf), "%016llx",
					 (unsigned long long) r->lease_id);
			values[0] = CStringGetTextDatum(names[r->peer]);
			values[1] = CStringGetTextDatum(idbuf);
			values[2] = Int64GetDatum((int64) r->bytes);
			values[3] = TimestampTzGetDatum(r->expires_at);
			values[4] = Int64GetDatum((int64) r->renewals);
		}
		else
			nulls[0] = nulls[1] = nulls[2] = nulls[3] = nulls[4] = true;
		values[5] = CStringGetTextDatum(active ? "active" : "pending");
		values[6] = Int32GetDatum(r->segment);
		values[7] = Int64GetDatum((int64) r->generation);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc,
							 values, nulls);
	}
	pfree(rows);
	pfree(names);

	return (Datum) 0;
}

/*
 * remote_buffer_stats_status()
 *
 * One row: the data path counters, hit ratio, latency quantiles (upper
 * bounds of log2 buckets, in microseconds), leased and used bytes.
 */
Datum
remote_buffer_stats_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[17];
	bool		nulls[17];
	uint64		c[RB_STAT_NUM_COUNTERS];
	uint64		leased = 0;
	uint64		used = 0;
	int64		q[4];

	rb_require_preload();
	if (rb_dp_stats == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("remote_buffer statistics are not available")));
	rb_compat_init_materialized_srf(fcinfo);

	for (int i = 0; i < RB_STAT_NUM_COUNTERS; i++)
		c[i] = pg_atomic_read_u64(&rb_dp_stats->counters[i]);
	q[0] = rb_stat_quantile(RB_HIST_REMOTE_READ, 0.5);
	q[1] = rb_stat_quantile(RB_HIST_REMOTE_READ, 0.99);
	q[2] = rb_stat_quantile(RB_HIST_STORAGE_READ, 0.5);
	q[3] = rb_stat_quantile(RB_HIST_STORAGE_READ, 0.99);

	LWLockAcquire(rb_ctl->lock, LW_SHARED);
	for (int s = 0; s < rb_ctl->nsegments; s++)
	{
		RbSegment  *seg = &rb_ctl->segments[s];

		if (seg->state == RB_SEG_ACTIVE)
		{
			leased += seg->bytes;
			used += rb_dir_used_slots(s) * BLCKSZ;
		}
	}
	LWLockRelease(rb_ctl->lock);

	memset(nulls, 0, sizeof(nulls));
	values[0] = Int64GetDatum((int64) c[RB_STAT_HITS]);
	values[1] = Int64GetDatum((int64) c[RB_STAT_MISSES]);
	if (c[RB_STAT_HITS] + c[RB_STAT_MISSES] > 0)
		values[2] = Float8GetDatum((double) c[RB_STAT_HITS] /
								   (double) (c[RB_STAT_HITS] + c[RB_STAT_MISSES]));
	else
		nulls[2] = true;
	values[3] = Int64GetDatum((int64) c[RB_STAT_ADMISSIONS]);
	values[4] = Int64GetDatum((int64) c[RB_STAT_INVALIDATIONS]);
	values[5] = Int64GetDatum((int64) c[RB_STAT_VERIFY_FAILURES]);
	values[6] = Int64GetDatum((int64) c[RB_STAT_TIMEOUTS]);
	values[7] = Int64GetDatum((int64) c[RB_STAT_FALLBACKS]);
	values[8] = Int64GetDatum((int64) c[RB_STAT_BYTES_READ]);
	values[9] = Int64GetDatum((int64) c[RB_STAT_BYTES_WRITTEN]);
	for (int i = 0; i < 4; i++)
	{
		if (q[i] >= 0)
			values[10 + i] = Int64GetDatum(q[i]);
		else
			nulls[10 + i] = true;
	}
	values[14] = Int64GetDatum((int64) leased);
	values[15] = Int64GetDatum((int64) used);
	values[16] = TimestampTzGetDatum((TimestampTz)
									 pg_atomic_read_u64(&rb_dp_stats->reset_at));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);

	return (Datum) 0;
}

/* remote_buffer_reset_stats(): zero the data path statistics */
Datum
remote_buffer_reset_stats(PG_FUNCTION_ARGS)
{
	rb_require_preload();
	rb_stats_reset();
	PG_RETURN_VOID();
}

/*
 * remote_buffer_invalidate_all(): make every page in the remote tier
 * invalid at once, then free the slots (so used_bytes drops).
 */
Datum
remote_buffer_invalidate_all(PG_FUNCTION_ARGS)
{
	rb_require_preload();
	rb_dir_invalidate_all();
	rb_stat_add(RB_STAT_INVALIDATIONS, 1);
	rb_dir_reclaim_stale();
	PG_RETURN_VOID();
}
