/*-------------------------------------------------------------------------
 *
 * extent.h
 *	  Free-extent allocator over a pool of equal-sized units.  Not
 *	  thread-safe: the store calls it under its lock.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RBD_EXTENT_H
#define RBD_EXTENT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct rbd_extents
{
	uint32_t	nunits;
	uint32_t   *ext_len;		/* at a free extent's first unit: length */
	uint32_t   *tail_head;		/* at a free extent's last unit: head + 1 */
	uint32_t   *fnext;			/* free-extent list, by head unit */
	uint32_t   *fprev;
	uint32_t	free_head;
	uint64_t	free_units;
} rbd_extents;

/* Start with all nunits free; false when out of memory. */
extern bool rbd_extents_init(rbd_extents *x, uint32_t nunits);
extern void rbd_extents_destroy(rbd_extents *x);

/*
 * Take want units (best fit), or failing that the whole largest free
 * extent if it has at least min units.
 */
extern bool rbd_extents_alloc(rbd_extents *x, uint64_t want, uint64_t min,
							  uint32_t *start, uint32_t *got);

/* Give units back, merging with free neighbours. */
extern void rbd_extents_free(rbd_extents *x, uint32_t start, uint32_t len);

extern uint32_t rbd_extents_largest(const rbd_extents *x);

#endif							/* RBD_EXTENT_H */
