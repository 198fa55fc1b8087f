/*-------------------------------------------------------------------------
 *
 * pool.h
 *	  The memory rbufd leases out: one anonymous mapping made at start,
 *	  with its NUMA policy, optionally in huge pages, pre-faulted and
 *	  optionally locked.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RBD_POOL_H
#define RBD_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rbd_pool_opts
{
	uint64_t	bytes;
	int			numa_node;		/* -1: interleave if several nodes */
	bool		numa;			/* false: no NUMA policy or queries */
	bool		hugepages;
	bool		lock_memory;
	bool		prefault;
} rbd_pool_opts;

typedef struct rbd_pool
{
	uint8_t    *base;
	size_t		map_len;
	size_t		page_size;
	bool		numa_query;		/* rbd_pool_numa_node() can ask the kernel */
	char		numa_desc[128];
} rbd_pool;

extern bool rbd_pool_map(rbd_pool *p, const rbd_pool_opts *o,
						 char *err, size_t errlen);
extern void rbd_pool_unmap(rbd_pool *p);

/* Check a --numa-node value before anything is allocated. */
extern bool rbd_pool_numa_node_ok(int node, char *err, size_t errlen);

/* NUMA node of [addr, addr+bytes), or -1 if spread or unknown. */
extern int32_t rbd_pool_numa_node(const rbd_pool *p, uint8_t *addr,
								  uint64_t bytes);

#endif							/* RBD_POOL_H */
