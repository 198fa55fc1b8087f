/*-------------------------------------------------------------------------
 *
 * util.h
 *	  Small helpers shared by the rbufd modules: clocks and atomics.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RBD_UTIL_H
#define RBD_UTIL_H

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#define RBD_VERSION "0.1.0"

/* Relaxed counters: statistics only, never used to order other memory. */
typedef _Atomic uint64_t rbd_counter;

static inline void
rbd_counter_add(rbd_counter *c, uint64_t v)
{
	atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

static inline uint64_t
rbd_counter_get(rbd_counter *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* Milliseconds on the monotonic clock: leases and timeouts. */
static inline uint64_t
rbd_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* Unix time in milliseconds: display only. */
static inline uint64_t
rbd_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

#endif							/* RBD_UTIL_H */
