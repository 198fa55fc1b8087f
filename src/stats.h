/*-------------------------------------------------------------------------
 *
 * stats.h
 *	  Data path statistics of remote_buffer in shared memory: event
 *	  counters and log2 latency histograms, all lock-free atomics.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RB_STATS_H
#define RB_STATS_H

#include "datatype/timestamp.h"
#include "port/atomics.h"

typedef enum RbStatCounter
{
	RB_STAT_HITS = 0,
	RB_STAT_MISSES,
	RB_STAT_ADMISSIONS,
	RB_STAT_INVALIDATIONS,		/* blocks and bulk bumps */
	RB_STAT_VERIFY_FAILURES,
	RB_STAT_TIMEOUTS,
	RB_STAT_FALLBACKS,			/* remote errors that fell back to storage */
	RB_STAT_BYTES_READ,
	RB_STAT_BYTES_WRITTEN,
	RB_STAT_NUM_COUNTERS
} RbStatCounter;

typedef enum RbStatHist
{
	RB_HIST_REMOTE_READ = 0,
	RB_HIST_REMOTE_WRITE,
	RB_HIST_STORAGE_READ,
	RB_HIST_NUM
} RbStatHist;

/* bucket i counts latencies in [2^(i-1), 2^i) microseconds; 0 is < 1 us */
#define RB_HIST_BUCKETS		32

typedef struct RbDpStats
{
	pg_atomic_uint64 counters[RB_STAT_NUM_COUNTERS];
	pg_atomic_uint64 hist[RB_HIST_NUM][RB_HIST_BUCKETS];
	pg_atomic_uint64 reset_at;	/* TimestampTz of the last reset */
} RbDpStats;

extern RbDpStats *rb_dp_stats;

extern Size rb_stats_shmem_size(void);
extern void rb_stats_shmem_init(void);
extern void rb_stats_reset(void);

static inline void
rb_stat_add(RbStatCounter c, uint64 n)
{
	if (rb_dp_stats != NULL)
		pg_atomic_fetch_add_u64(&rb_dp_stats->counters[c], n);
}

extern void rb_stat_latency(RbStatHist h, uint64 us);

/* Upper bound (us) of the bucket holding quantile q of histogram h, or -1 */
extern int64 rb_stat_quantile(RbStatHist h, double q);

#endif							/* RB_STATS_H */
