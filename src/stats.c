/*-------------------------------------------------------------------------
 *
 * stats.c
 *	  Shared-memory statistics of the remote_buffer data path: counters
 *	  and latency histograms behind the remote_buffer_stats view.
 *
 * Every update is one atomic add: no locks, no allocation, so the data
 * path may count inside critical sections.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "stats.h"

RbDpStats    *rb_dp_stats = NULL;

Size
rb_stats_shmem_size(void)
{
	return MAXALIGN(sizeof(RbDpStats));
}

void
rb_stats_shmem_init(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	rb_dp_stats = ShmemInitStruct("remote_buffer stats", sizeof(RbDpStats), &found);
	if (!found)
	{
		for (int c = 0; c < RB_STAT_NUM_COUNTERS; c++)
			pg_atomic_init_u64(&rb_dp_stats->counters[c], 0);
		for (int h = 0; h < RB_HIST_NUM; h++)
			for (int b = 0; b < RB_HIST_BUCKETS; b++)
				pg_atomic_init_u64(&rb_dp_stats->hist[h][b], 0);
		pg_atomic_init_u64(&rb_dp_stats->reset_at,
						   (uint64) GetCurrentTimestamp());
	}
	LWLockRelease(AddinShmemInitLock);
}

void
rb_stats_reset(void)
{
	if (rb_dp_stats == NULL)
		return;
	for (int c = 0; c < RB_STAT_NUM_COUNTERS; c++)
		pg_atomic_write_u64(&rb_dp_stats->counters[c], 0);
	for (int h = 0; h < RB_HIST_NUM; h++)
		for (int b = 0; b < RB_HIST_BUCKETS; b++)
			pg_atomic_write_u64(&rb_dp_stats->hist[h][b], 0);
	pg_atomic_write_u64(&rb_dp_stats->reset_at, (uint64) GetCurrentTimestamp());
}

void
rb_stat_latency(RbStatHist h, uint64 us)
{
	int			b = 0;

	if (rb_dp_stats == NULL)
		return;
	while (us > 0 && b < RB_HIST_BUCKETS - 1)
	{
		us >>= 1;
		b++;
	}
	pg_atomic_fetch_add_u64(&rb_dp_stats->hist[h][b], 1);
}

int64
rb_stat_quantile(RbStatHist h, double q)
{
	uint64		counts[RB_HIST_BUCKETS];
	uint64		total = 0;
	uint64		seen = 0;

	if (rb_dp_stats == NULL)
		return -1;
	for (int b = 0; b < RB_HIST_BUCKETS; b++)
	{
		counts[b] = pg_atomic_read_u64(&rb_dp_stats->hist[h][b]);
		total += counts[b];
	}
	if (total == 0)
		return -1;
	for (int b = 0; b < RB_HIST_BUCKETS; b++)
	{
		seen += counts[b];
		if ((double) seen >= q * (double) total)
			return (int64) 1 << b;
	}
	return (int64) 1 << (RB_HIST_BUCKETS - 1);
}
