/*-------------------------------------------------------------------------
 *
 * store.h
 *	  The leased memory: the lease table with ownership and expiry, over
 *	  the pool (pool.h) and its extent allocator (extent.h), and zeroing
 *	  of reclaimed memory.
 *
 * Locking: one reader-writer lock covers the table and the allocator.
 * Data copies (READ/WRITE) run under the read lock between
 * rbd_store_rdlock() and rbd_store_unlock() through rbd_store_copy(),
 * which also orders copies of the same bytes, so a lease cannot be
 * reclaimed while its memory is being copied; everything that changes the
 * table takes the write lock internally.  Reclaimed memory is zeroed
 * outside the lock, while it belongs to nobody, and only then returned to
 * the free list.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RBD_STORE_H
#define RBD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rb_protocol.h"

typedef struct rbd_store rbd_store;

typedef struct rbd_store_opts
{
	uint64_t	memory;			/* pool size; rounded down to granularity */
	uint64_t	granularity;	/* power of two >= 4096 */
	int			numa_node;		/* -1: automatic policy */
	bool		numa;			/* false: no NUMA policy or queries at all */
	bool		hugepages;
	bool		lock_memory;
	bool		prefault;		/* fault every page in at start */
	bool		deterministic;	/* fixed lease id prefix (fuzzing) */
} rbd_store_opts;

extern rbd_store *rbd_store_create(const rbd_store_opts *opts,
								   char *err, size_t errlen);
extern void rbd_store_destroy(rbd_store *s);

/*
 * Memory-region hooks (RDMA, rdma.c): reg is called for every new lease
 * before it enters the table, outside the store lock; it returns a handle
 * (NULL: the lease is granted without RDMA access) and the rkey.  dereg is
 * called for every reclaimed lease BEFORE its memory is zeroed, and for
 * the leases still live at rbd_store_destroy().  Set once, before any
 * lease exists.
 */
typedef struct rbd_store_mr_hooks
{
	void	   *(*reg) (void *ctx, void *addr, uint64_t len, uint32_t *rkey);
	void		(*dereg) (void *ctx, void *handle);
	void	   *ctx;
} rbd_store_mr_hooks;

extern void rbd_store_set_mr_hooks(rbd_store *s, const rbd_store_mr_hooks *h);

/* Base address of the pool (NUMA and RDMA diagnostics). */
extern uint8_t *rbd_store_base(const rbd_store *s);

extern uint64_t rbd_store_total(const rbd_store *s);
extern uint64_t rbd_store_granularity(const rbd_store *s);
extern const char *rbd_store_numa_desc(const rbd_store *s);

/*
 * Lease operations.  owner/owner_len is the caller's owner name; every
 * function answers RB_ST_NO_LEASE for another owner's lease.  ttl_ms is
 * already clamped by the caller.  On failure msg may hold a message for
 * the client ("" if the status says it all).
 */
extern uint32_t rbd_store_acquire(rbd_store *s, const char *owner,
								  size_t owner_len, uint64_t bytes,
								  uint64_t min_bytes, uint32_t ttl_ms,
								  uint32_t max_per_owner, uint64_t now,
								  rb_lease_info *out,
								  char *msg, size_t msglen);
extern uint32_t rbd_store_renew(rbd_store *s, const char *owner,
								size_t owner_len, uint64_t lease_id,
								uint32_t ttl_ms, uint64_t now,
								rb_lease_info *out);
extern uint32_t rbd_store_release(rbd_store *s, const char *owner,
								  size_t owner_len, uint64_t lease_id,
								  uint64_t now);

/* Encode up to max lease_info records of owner's live leases into buf. */
extern uint32_t rbd_store_list(rbd_store *s, const char *owner,
							   size_t owner_len, uint64_t now,
							   uint8_t *buf, uint32_t max);

/* Number of leases the owner holds (live, expired or being zeroed). */
extern uint32_t rbd_store_owner_leases(rbd_store *s, const char *owner,
									   size_t owner_len);

/* Data access: hold the read lock around lookup and copy. */
extern void rbd_store_rdlock(rbd_store *s);
extern void rbd_store_unlock(rbd_store *s);
/*
 * Copy len bytes from src to dst where lease_mem (dst or src) is lease
 * memory found by rbd_store_lookup; copies of overlapping lease bytes are
 * serialized (pagelock.h).  Call with the read lock held.
 */
extern void rbd_store_copy(rbd_store *s, void *dst, const void *src,
						   size_t len, const void *lease_mem);
extern uint32_t rbd_store_lookup(rbd_store *s, const char *owner,
								 size_t owner_len, uint64_t lease_id,
								 uint64_t now, uint8_t **base,
								 uint64_t *bytes);

/* Reclaim expired leases; returns how many.  Housekeeping thread. */
extern int	rbd_store_reap(rbd_store *s, uint64_t now);

/* Fill the store's RB_SF_* counters. */
extern void rbd_store_counters(rbd_store *s, uint64_t *counters);

/* STATS lease records {lease_info, u8[64] owner}; returns count. */
extern uint32_t rbd_store_stats_leases(rbd_store *s, uint64_t now,
									   uint8_t *buf, uint32_t max);

#endif							/* RBD_STORE_H */
