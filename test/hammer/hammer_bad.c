/*-------------------------------------------------------------------------
 *
 * hammer_bad.c
 *	  rbuf_hammer's "bad" threads: requests that must fail (ranges outside
 *	  the lease, other owners' leases, random ids, absurd sizes, mixed
 *	  batches, invalid arguments), each checked for the right error.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "hammer.h"

/* A foreign lease id (another owner's), or false if none is published. */
static bool
foreign_lease(hworker *w, uint64_t *id)
{
	bool		found = false;
	int			t = (int) rnd(w, MAX_THREADS);
	int			s = (int) rnd(w, MAX_LEASES);

	pthread_mutex_lock(&pub_mu);
	for (int k = 0; k < MAX_THREADS * MAX_LEASES && !found; k++)
	{
		int			tt = (t + k / MAX_LEASES) % MAX_THREADS;
		int			ss = (s + k) % MAX_LEASES;

		if (tt != w->id && pub[tt][ss].used)
		{
			*id = pub[tt][ss].id;
			found = true;
		}
	}
	pthread_mutex_unlock(&pub_mu);
	return found;
}

void
bad_step(hworker *w)
{
	hlease	   *L = &w->lease[0];
	uint32_t	r = rnd(w, 7);
	uint64_t	id = 0;
	rb_error	rc;

	if (w->nlease == 0)
	{
		do_acquire(w);
		if (w->nlease > 0)
			w->lease[0].short_ttl = false;
		return;
	}
	if (L->valid_until - now_ns() < 10000000000ll)
	{
		do_renew(w, 0);
		return;
	}
	if (r == 0)
	{
		/* Past the end, straddling the end, offset overflow. */
		static const int64_t offs[] = {0, -4096, -1};
		int			k = (int) rnd(w, 3);
		uint64_t	off = k == 2 ? UINT64_MAX - 4095 : L->bytes + (uint64_t) offs[k];

		rc = rnd(w, 2) ? rb_read(&w->c, L->id, off, w->buf[0], PAGE)
			: rb_write(&w->c, L->id, off, w->buf[0], PAGE);
		expect(w, K_BAD_RANGE, rc, M(RB_E_OUT_OF_RANGE), "out-of-range access");
	}
	else if (r == 1 && foreign_lease(w, &id))
	{
		uint32_t	k = rnd(w, 4);

		memset(w->buf[0], 0xbd, PAGE);
		rc = k == 0 ? rb_read(&w->c, id, 0, w->buf[0], PAGE)
			: k == 1 ? rb_write(&w->c, id, 0, w->buf[0], PAGE)
			: k == 2 ? rb_lease_renew(&w->c, id, 1000, NULL)
			: rb_lease_release(&w->c, id);
		expect(w, K_BAD_FOREIGN, rc, GONE, "access to another owner's lease");
	}
	else if (r == 2)
	{
		rc = rb_read(&w->c, splitmix(&w->rng) | 1, 0, w->buf[0], PAGE);
		expect(w, K_BAD_RANDOM, rc, GONE, "read of a random lease id");
	}
	else if (r == 3)
	{
		rc = rb_lease_acquire(&w->c, 1ull << 50, 0, 1000, NULL);
		expect(w, K_BAD_HUGE, rc, M(RB_E_NO_SPACE) | M(RB_E_TOO_LARGE),
			   "acquire of 1 PiB");
	}
	else if (r == 4)
	{
		/* Mixed batch: one good page, out of range, foreign/random id. */
		rb_iov		iov[3];
		uint32_t	seq = ++w->seq;
		bool		write = rnd(w, 2);

		if (!foreign_lease(w, &id))
			id = splitmix(&w->rng) | 1;
		pattern(w->buf[0], w->id, L->id, 0, seq);
		iov[0] = (rb_iov) {L->id, 0, PAGE, w->buf[0], RB_OK};
		iov[1] = (rb_iov) {L->id, L->bytes, PAGE, w->buf[1], RB_OK};
		iov[2] = (rb_iov) {id, 0, PAGE, w->buf[2], RB_OK};
		rc = write ? rb_writev(&w->c, iov, 3) : rb_readv(&w->c, iov, 3);
		if (!expect(w, K_BAD_BATCH, rc, M(RB_OK), "mixed batch") || rc != RB_OK)
		{
			L->seq[0] = SEQ_UNKNOWN;
			return;
		}
		if (iov[0].status != RB_OK || iov[1].status != RB_E_OUT_OF_RANGE ||
			!(GONE & M(iov[2].status)))
			failure(w, "mixed batch statuses: %s, %s, %s (want ok, out of range, "
					"no lease)", rb_error_name(iov[0].status),
					rb_error_name(iov[1].status), rb_error_name(iov[2].status));
		if (write && iov[0].status == RB_OK)
			L->seq[0] = seq;
		else if (!write && iov[0].status == RB_OK)
			verify(w, L, 0, w->buf[0], "mixed readv");
	}
	else if (r == 5)
	{
		/* Caught by the library: must not touch the connection. */
		rb_iov		iov[1] = {{L->id, 0, 0, w->buf[0], RB_OK}};

		rc = rnd(w, 2) ? rb_read(&w->c, L->id, 0, w->buf[0], 0)
			: rb_readv(&w->c, iov, 1);
		expect(w, K_BAD_ARGS, rc, M(RB_E_INVALID), "invalid arguments");
		if (!rb_connected(&w->c))
			failure(w, "invalid arguments closed the connection");
	}
	else
		do_page(w, rnd(w, 2));
}
