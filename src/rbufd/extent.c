/*-------------------------------------------------------------------------
 *
 * extent.c
 *	  Free-extent allocator with coalescing, for the store's pool.
 *
 * Free extents are found through boundary tags: ext_len[] is set on the
 * first unit of a free extent and tail_head[] (head + 1) on its last, so
 * a freed extent merges with its free neighbours in O(1).  The free
 * extents are also on an unsorted list that allocation scans for the best
 * fit; there are at most as many of them as leases plus one.
 *
 *-------------------------------------------------------------------------
 */
#include "extent.h"

#include <stdlib.h>

#define NO_UNIT UINT32_MAX

static void
ext_link(rbd_extents *x, uint32_t head, uint32_t len)
{
	x->ext_len[head] = len;
	x->tail_head[head + len - 1] = head + 1;
	x->fprev[head] = NO_UNIT;
	x->fnext[head] = x->free_head;
	if (x->free_head != NO_UNIT)
		x->fprev[x->free_head] = head;
	x->free_head = head;
	x->free_units += len;
}

static void
ext_unlink(rbd_extents *x, uint32_t head)
{
	uint32_t	len = x->ext_len[head];

	if (x->fprev[head] != NO_UNIT)
		x->fnext[x->fprev[head]] = x->fnext[head];
	else
		x->free_head = x->fnext[head];
	if (x->fnext[head] != NO_UNIT)
		x->fprev[x->fnext[head]] = x->fprev[head];
	x->ext_len[head] = 0;
	x->tail_head[head + len - 1] = 0;
	x->free_units -= len;
}

bool
rbd_extents_init(rbd_extents *x, uint32_t nunits)
{
	x->nunits = nunits;
	x->ext_len = calloc(nunits, sizeof(uint32_t));
	x->tail_head = calloc(nunits, sizeof(uint32_t));
	x->fnext = calloc(nunits, sizeof(uint32_t));
	x->fprev = calloc(nunits, sizeof(uint32_t));
	x->free_head = NO_UNIT;
	x->free_units = 0;
	if (!x->ext_len || !x->tail_head || !x->fnext || !x->fprev)
	{
		rbd_extents_destroy(x);
		return false;
	}
	if (nunits > 0)
		ext_link(x, 0, nunits);
	return true;
}

void
rbd_extents_destroy(rbd_extents *x)
{
	free(x->ext_len);
	free(x->tail_head);
	free(x->fnext);
	free(x->fprev);
	x->ext_len = x->tail_head = x->fnext = x->fprev = NULL;
}

void
rbd_extents_free(rbd_extents *x, uint32_t start, uint32_t len)
{
	if (start > 0 && x->tail_head[start - 1] != 0)
	{
		uint32_t	lh = x->tail_head[start - 1] - 1;
		uint32_t	ll = x->ext_len[lh];

		ext_unlink(x, lh);
		start = lh;
		len += ll;
	}
	if ((uint64_t) start + len < x->nunits && x->ext_len[start + len] != 0)
	{
		uint32_t	rl = x->ext_len[start + len];

		ext_unlink(x, start + len);
		len += rl;
	}
	ext_link(x, start, len);
}

uint32_t
rbd_extents_largest(const rbd_extents *x)
{
	uint32_t	best = 0;

	for (uint32_t h = x->free_head; h != NO_UNIT; h = x->fnext[h])
		if (x->ext_len[h] > best)
			best = x->ext_len[h];
	return best;
}

bool
rbd_extents_alloc(rbd_extents *x, uint64_t want, uint64_t min,
				  uint32_t *start, uint32_t *got)
{
	uint32_t	best = NO_UNIT;
	uint32_t	bestlen = UINT32_MAX;
	uint32_t	largest = NO_UNIT;
	uint32_t	largestlen = 0;
	uint32_t	h;
	uint32_t	len;
	uint32_t	take;

	if (want == 0 || min > want)
		return false;
	for (h = x->free_head; h != NO_UNIT; h = x->fnext[h])
	{
		len = x->ext_len[h];
		if (len >= want && len < bestlen)
		{
			best = h;
			bestlen = len;
		}
		if (len > largestlen)
		{
			largest = h;
			largestlen = len;
		}
		if (bestlen == want)
			break;
	}
	if (best != NO_UNIT)
	{
		h = best;
		take = (uint32_t) want;
	}
	else if (largest != NO_UNIT && largestlen >= min)
	{
		h = largest;
		take = largestlen;
	}
	else
		return false;

	len = x->ext_len[h];
	ext_unlink(x, h);
	if (len > take)
		ext_link(x, h + take, len - take);
	*start = h;
	*got = take;
	return true;
}
