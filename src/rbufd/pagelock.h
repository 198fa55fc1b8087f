/*-------------------------------------------------------------------------
 *
 * pagelock.h
 *	  Striped locks that serialize copies into and out of lease memory.
 *
 * All connections of one owner share its leases (the extension's backends
 * read and write the same slots), so a READ and a WRITE of the same bytes
 * can arrive on two I/O threads at once.  Without ordering that is a data
 * race in the daemon, and the reader may see a torn page.  Every copy
 * therefore locks the stripes of the 8 KiB granules it touches, in
 * ascending stripe order (no deadlock), so copies of overlapping bytes
 * never run concurrently.  Clients still verify what they read: a page
 * rewritten between two requests is a different page, not a torn one.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RBD_PAGELOCK_H
#define RBD_PAGELOCK_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define RBD_PAGELOCK_STRIPES	256
#define RBD_PAGELOCK_SHIFT		13	/* 8 KiB granules */

typedef struct rbd_pagelocks
{
	pthread_mutex_t stripe[RBD_PAGELOCK_STRIPES];
} rbd_pagelocks;

extern void rbd_pagelocks_init(rbd_pagelocks *pl);
extern void rbd_pagelocks_destroy(rbd_pagelocks *pl);

/*
 * memcpy(dst, src, len) holding the stripes of the lease memory range
 * [mem, mem + len), which is dst for a write and src for a read.
 */
extern void rbd_pagelocks_copy(rbd_pagelocks *pl, void *dst, const void *src,
							   size_t len, const void *mem);

#endif							/* RBD_PAGELOCK_H */
