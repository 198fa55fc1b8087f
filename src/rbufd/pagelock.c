/*-------------------------------------------------------------------------
 *
 * pagelock.c
 *	  Striped granule locks around copies of lease memory (see pagelock.h).
 *
 *-------------------------------------------------------------------------
 */
#include "pagelock.h"

#include <string.h>

void
rbd_pagelocks_init(rbd_pagelocks *pl)
{
	for (int i = 0; i < RBD_PAGELOCK_STRIPES; i++)
		pthread_mutex_init(&pl->stripe[i], NULL);
}

void
rbd_pagelocks_destroy(rbd_pagelocks *pl)
{
	for (int i = 0; i < RBD_PAGELOCK_STRIPES; i++)
		pthread_mutex_destroy(&pl->stripe[i]);
}

/* Spread neighbouring granules over the stripes. */
static inline unsigned
stripe_of(uintptr_t granule)
{
	uint64_t	h = (uint64_t) granule * 0x9E3779B97F4A7C15ull;

	return (unsigned) (h >> 56);	/* top 8 bits: 0..255 */
}

void
rbd_pagelocks_copy(rbd_pagelocks *pl, void *dst, const void *src, size_t len,
				   const void *mem)
{
	uint64_t	set[RBD_PAGELOCK_STRIPES / 64] = {0};
	uintptr_t	first,
				last;

	if (len == 0)
		return;
	first = (uintptr_t) mem >> RBD_PAGELOCK_SHIFT;
	last = ((uintptr_t) mem + len - 1) >> RBD_PAGELOCK_SHIFT;
	if (last - first + 1 >= RBD_PAGELOCK_STRIPES)
		memset(set, 0xff, sizeof(set));
	else
		for (uintptr_t g = first; g <= last; g++)
		{
			unsigned	s = stripe_of(g);

			set[s / 64] |= (uint64_t) 1 << (s % 64);
		}

	for (int i = 0; i < RBD_PAGELOCK_STRIPES; i++)
		if (set[i / 64] & ((uint64_t) 1 << (i % 64)))
			pthread_mutex_lock(&pl->stripe[i]);
	memcpy(dst, src, len);
	for (int i = RBD_PAGELOCK_STRIPES - 1; i >= 0; i--)
		if (set[i / 64] & ((uint64_t) 1 << (i % 64)))
			pthread_mutex_unlock(&pl->stripe[i]);
}
