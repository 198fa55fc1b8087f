/*-------------------------------------------------------------------------
 *
 * store.c
 *	  rbufd's leases: the lease table, ownership, expiry and zeroing of
 *	  reclaimed memory, over the pool and its extent allocator.
 *
 * The pool (pool.c) is carved into units of --granularity bytes; a lease
 * is one contiguous run of units (extent.c), so it can later be
 * registered as a single RDMA memory region.
 *
 * A lease leaves the table before its memory is zeroed and the memory
 * goes back on the free list only after zeroing, so nobody can read
 * another lease's data: not a late reader (they hold the read lock, and
 * removal takes the write lock) and not the next grantee.
 *
 *-------------------------------------------------------------------------
 */
#include "store.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extent.h"
#include "log.h"
#include "pagelock.h"
#include "pool.h"
#include "rb_auth.h"
#include "util.h"

#define OWNER_BUCKETS	256
#define RING_SIZE		4096	/* remembered released/expired lease ids */
#define REAP_BATCH		64

typedef struct rbd_owner
{
	struct rbd_owner *next;
	uint32_t	nleases;
	uint16_t	len;
	char		name[RB_MAX_OWNER_LEN + 1];
} rbd_owner;

typedef struct rbd_lease
{
	struct rbd_lease *hnext;	/* hash chain */
	uint64_t	id;
	uint64_t	bytes;
	uint8_t    *base;
	uint32_t	start;			/* first unit */
	uint32_t	nunits;
	uint64_t	expires_at;		/* monotonic ms */
	int32_t		numa_node;
	rbd_owner  *owner;
	void	   *mr;				/* RDMA memory region handle, or NULL */
	uint32_t	rkey;
} rbd_lease;

typedef struct ring_entry
{
	uint64_t	id;				/* 0 = empty */
	bool		expired;		/* else released */
	uint16_t	owner_len;
	char		owner[RB_MAX_OWNER_LEN];
} ring_entry;

struct rbd_store
{
	pthread_rwlock_t lock;
	rbd_pagelocks pagelocks;	/* orders copies of the same bytes */

	/* immutable after create */
	rbd_pool	pool;
	uint64_t	gran;
	uint32_t	nunits;
	uint32_t	id_prefix;

	rbd_extents ext;
	rbd_lease  *zero_pending;	/* released, awaiting zeroing (via hnext) */
	uint64_t	zeroing_units;
	uint64_t	leased_units;

	/* leases */
	rbd_lease **buckets;
	uint32_t	nbuckets;		/* power of two */
	uint32_t	nleases;
	uint32_t	id_counter;
	uint64_t	next_expiry;	/* no lease expires before this */
	rbd_owner  *owners[OWNER_BUCKETS];
	ring_entry	ring[RING_SIZE];
	uint32_t	ring_pos;
	uint32_t	ring_used;

	rbd_store_mr_hooks mr_hooks;	/* reg == NULL: no RDMA */

	uint64_t	n_granted;
	uint64_t	n_renewed;
	uint64_t	n_released;
	uint64_t	n_expired;
};

/* ---------- owners, lease table, ring ---------- */

static uint32_t
owner_hash(const char *name, size_t len)
{
	uint32_t	h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t) name[i]) * 16777619u;
	return h % OWNER_BUCKETS;
}

static rbd_owner *
owner_find(rbd_store *s, const char *name, size_t len, bool create)
{
	uint32_t	b = owner_hash(name, len);
	rbd_owner  *o;

	for (o = s->owners[b]; o != NULL; o = o->next)
		if (o->len == len && memcmp(o->name, name, len) == 0)
			return o;
	if (!create)
		return NULL;
	o = calloc(1, sizeof(*o));
	if (o == NULL)
		return NULL;
	memcpy(o->name, name, len);
	o->len = (uint16_t) len;
	o->next = s->owners[b];
	s->owners[b] = o;
	return o;
}

static void
owner_release(rbd_store *s, rbd_owner *o)
{
	rbd_owner **pp;

	if (--o->nleases > 0)
		return;
	for (pp = &s->owners[owner_hash(o->name, o->len)]; *pp != NULL; pp = &(*pp)->next)
		if (*pp == o)
		{
			*pp = o->next;
			free(o);
			return;
		}
}

static bool
owner_is(const rbd_owner *o, const char *name, size_t len)
{
	return o->len == len && memcmp(o->name, name, len) == 0;
}

static uint32_t
lease_bucket(const rbd_store *s, uint64_t id)
{
	return (uint32_t) ((id * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & (s->nbuckets - 1);
}

static rbd_lease *
lease_find(const rbd_store *s, uint64_t id)
{
	rbd_lease  *l;

	for (l = s->buckets[lease_bucket(s, id)]; l != NULL; l = l->hnext)
		if (l->id == id)
			return l;
	return NULL;
}

static void
lease_insert(rbd_store *s, rbd_lease *l)
{
	uint32_t	b;

	/* Grow the table when chains get long; failure just keeps them long. */
	if (s->nleases >= s->nbuckets && s->nbuckets < (1u << 24))
	{
		rbd_lease **nb = calloc((size_t) s->nbuckets * 2, sizeof(*nb));

		if (nb != NULL)
		{
			rbd_lease **old = s->buckets;
			uint32_t	oldn = s->nbuckets;

			s->buckets = nb;
			s->nbuckets = oldn * 2;
			for (uint32_t i = 0; i < oldn; i++)
			{
				rbd_lease  *x = old[i];

				while (x != NULL)
				{
					rbd_lease  *next = x->hnext;

					b = lease_bucket(s, x->id);
					x->hnext = nb[b];
					nb[b] = x;
					x = next;
				}
			}
			free(old);
		}
	}
	b = lease_bucket(s, l->id);
	l->hnext = s->buckets[b];
	s->buckets[b] = l;
	s->nleases++;
	s->leased_units += l->nunits;
	l->owner->nleases++;
	if (l->expires_at < s->next_expiry)
		s->next_expiry = l->expires_at;
}

static void
ring_add(rbd_store *s, const rbd_lease *l, bool expired)
{
	ring_entry *e = &s->ring[s->ring_pos];

	e->id = l->id;
	e->expired = expired;
	e->owner_len = l->owner->len;
	memcpy(e->owner, l->owner->name, l->owner->len);
	s->ring_pos = (s->ring_pos + 1) % RING_SIZE;
	if (s->ring_used < RING_SIZE)
		s->ring_used++;
}

/* Status for an id that is not in the table. */
static uint32_t
ring_status(const rbd_store *s, const char *owner, size_t owner_len,
			uint64_t id)
{
	for (uint32_t i = 0; i < s->ring_used; i++)
	{
		const ring_entry *e = &s->ring[i];

		if (e->id == id && e->expired && e->owner_len == owner_len &&
			memcmp(e->owner, owner, owner_len) == 0)
			return RB_ST_LEASE_EXPIRED;
	}
	return RB_ST_NO_LEASE;
}

/*
 * Take a lease out of the table (write lock held).  Its units stay
 * unavailable, counted as being zeroed, until reclaim_finish().
 */
static void
lease_remove(rbd_store *s, rbd_lease *l, bool expired)
{
	rbd_lease **pp;

	for (pp = &s->buckets[lease_bucket(s, l->id)]; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == l)
		{
			*pp = l->hnext;
			break;
		}
	s->nleases--;
	s->leased_units -= l->nunits;
	s->zeroing_units += l->nunits;
	ring_add(s, l, expired);
	if (expired)
		s->n_expired++;
	else
		s->n_released++;
}

/*
 * Zero removed leases (no lock held: nobody can reach them any more),
 * then give their extents back and free them.
 */
static void
reclaim_finish(rbd_store *s, rbd_lease **ls, int n)
{
	/*
	 * Deregister first: once the memory region is gone, the lease's rkey
	 * is refused by the device, so no RDMA access can see the zeroing or
	 * the next grantee's data (DESIGN.md, I5).
	 */
	for (int i = 0; i < n; i++)
		if (ls[i]->mr != NULL)
		{
			s->mr_hooks.dereg(s->mr_hooks.ctx, ls[i]->mr);
			ls[i]->mr = NULL;
		}
	for (int i = 0; i < n; i++)
		memset(ls[i]->base, 0, ls[i]->bytes);

	pthread_rwlock_wrlock(&s->lock);
	for (int i = 0; i < n; i++)
	{
		s->zeroing_units -= ls[i]->nunits;
		rbd_extents_free(&s->ext, ls[i]->start, ls[i]->nunits);
		owner_release(s, ls[i]->owner);
	}
	pthread_rwlock_unlock(&s->lock);
	for (int i = 0; i < n; i++)
		free(ls[i]);
}

/* ---------- public ---------- */

rbd_store *
rbd_store_create(const rbd_store_opts *o, char *err, size_t errlen)
{
	rbd_store  *s;
	rbd_pool_opts po;
	pthread_rwlockattr_t attr;
	uint8_t		rnd[4];

	s = calloc(1, sizeof(*s));
	if (s == NULL)
	{
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->gran = o->granularity;
	s->nunits = (uint32_t) (o->memory / o->granularity);

	memset(&po, 0, sizeof(po));
	po.bytes = (uint64_t) s->nunits * s->gran;
	po.numa_node = o->numa_node;
	po.numa = o->numa;
	po.hugepages = o->hugepages;
	po.lock_memory = o->lock_memory;
	po.prefault = o->prefault;
	if (!rbd_pool_map(&s->pool, &po, err, errlen))
	{
		free(s);
		return NULL;
	}
	s->nbuckets = 256;
	s->buckets = calloc(s->nbuckets, sizeof(rbd_lease *));
	if (s->buckets == NULL || !rbd_extents_init(&s->ext, s->nunits))
	{
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	s->next_expiry = UINT64_MAX;

	if (o->deterministic)
		s->id_prefix = 1;
	else
	{
		if (!rb_random_bytes(rnd, sizeof(rnd)))
		{
			snprintf(err, errlen, "could not generate random lease id prefix");
			goto fail;
		}
		s->id_prefix = rb_get_u32(rnd);
	}

	/* Data copies hold the read lock all the time; let reclaim in. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&s->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	rbd_pagelocks_init(&s->pagelocks);
	return s;

fail:
	rbd_pool_unmap(&s->pool);
	rbd_extents_destroy(&s->ext);
	free(s->buckets);
	free(s);
	return NULL;
}

void
rbd_store_destroy(rbd_store *s)
{
	if (s == NULL)
		return;
	for (uint32_t i = 0; i < s->nbuckets; i++)
	{
		rbd_lease  *l = s->buckets[i];

		while (l != NULL)
		{
			rbd_lease  *next = l->hnext;

			if (l->mr != NULL)
				s->mr_hooks.dereg(s->mr_hooks.ctx, l->mr);
			free(l);
			l = next;
		}
	}
	while (s->zero_pending != NULL)
	{
		rbd_lease  *next = s->zero_pending->hnext;

		if (s->zero_pending->mr != NULL)
			s->mr_hooks.dereg(s->mr_hooks.ctx, s->zero_pending->mr);
		free(s->zero_pending);
		s->zero_pending = next;
	}
	for (int i = 0; i < OWNER_BUCKETS; i++)
	{
		rbd_owner  *ow = s->owners[i];

		while (ow != NULL)
		{
			rbd_owner  *next = ow->next;

			free(ow);
			ow = next;
		}
	}
	rbd_pool_unmap(&s->pool);
	pthread_rwlock_destroy(&s->lock);
	rbd_pagelocks_destroy(&s->pagelocks);
	rbd_extents_destroy(&s->ext);
	free(s->buckets);
	free(s);
}

void
rbd_store_set_mr_hooks(rbd_store *s, const rbd_store_mr_hooks *h)
{
	s->mr_hooks = *h;
}

uint8_t *
rbd_store_base(const rbd_store *s)
{
	return s->pool.base;
}

uint64_t
rbd_store_total(const rbd_store *s)
{
	return (uint64_t) s->nunits * s->gran;
}

uint64_t
rbd_store_granularity(const rbd_store *s)
{
	return s->gran;
}

const char *
rbd_store_numa_desc(const rbd_store *s)
{
	return s->pool.numa_desc;
}

static void
lease_to_info(const rbd_lease *l, uint64_t now, rb_lease_info *out)
{
	uint64_t	left = l->expires_at > now ? l->expires_at - now : 0;

	memset(out, 0, sizeof(*out));
	out->lease_id = l->id;
	out->bytes = l->bytes;
	out->ttl_ms = left > UINT32_MAX ? UINT32_MAX : (uint32_t) left;
	out->numa_node = l->numa_node;
	out->expires_at_ms = rbd_wall_ms() + left;
	if (l->mr != NULL)
	{
		out->remote_addr = (uint64_t) (uintptr_t) l->base;
		out->rkey = l->rkey;
	}
}

static uint64_t
units_for(uint64_t bytes, uint64_t gran)
{
	return bytes / gran + (bytes % gran != 0);
}

uint32_t
rbd_store_acquire(rbd_store *s, const char *owner, size_t owner_len,
				  uint64_t bytes, uint64_t min_bytes, uint32_t ttl_ms,
				  uint32_t max_per_owner, uint64_t now, rb_lease_info *out,
				  char *msg, size_t msglen)
{
	uint64_t	want = units_for(bytes, s->gran);
	uint64_t	min = units_for(min_bytes == 0 ? bytes : min_bytes, s->gran);
	rbd_owner  *ow;
	rbd_lease  *l;
	uint32_t	start;
	uint32_t	got;
	bool		retried = false;

	msg[0] = '\0';
	l = calloc(1, sizeof(*l));
	if (l == NULL)
	{
		snprintf(msg, msglen, "out of memory");
		return RB_ST_INTERNAL;
	}

retry:
	pthread_rwlock_wrlock(&s->lock);
	ow = owner_find(s, owner, owner_len, false);
	if (ow != NULL && ow->nleases >= max_per_owner)
	{
		bool		reap = s->next_expiry <= now || s->zero_pending != NULL;

		pthread_rwlock_unlock(&s->lock);
		/*
		 * Expired but unreaped, or released but not yet zeroed, leases
		 * should not count against the limit.
		 */
		if (!retried && reap && rbd_store_reap(s, now) > 0)
		{
			retried = true;
			goto retry;
		}
		snprintf(msg, msglen, "owner already holds %u leases (max-leases-per-client)",
				 max_per_owner);
		free(l);
		return RB_ST_LIMIT;
	}
	if (s->id_counter == UINT32_MAX)
	{
		pthread_rwlock_unlock(&s->lock);
		snprintf(msg, msglen, "lease ids exhausted; restart rbufd");
		free(l);
		return RB_ST_LIMIT;
	}
	if (min > s->nunits || !rbd_extents_alloc(&s->ext, want, min, &start, &got))
	{
		uint64_t	largest = (uint64_t) rbd_extents_largest(&s->ext) * s->gran;
		uint64_t	freeb = s->ext.free_units * s->gran;
		uint64_t	zeroing = s->zeroing_units * s->gran;
		bool		reap = s->next_expiry <= now || s->zero_pending != NULL;

		pthread_rwlock_unlock(&s->lock);
		if (!retried && reap && rbd_store_reap(s, now) > 0)
		{
			retried = true;
			goto retry;
		}
		if (min_bytes == 0 || min_bytes == bytes)
			snprintf(msg, msglen,
					 "requested %" PRIu64 " bytes, largest free extent %" PRIu64 " bytes, free %" PRIu64 " bytes",
					 bytes, largest, freeb);
		else
			snprintf(msg, msglen,
					 "requested %" PRIu64 " bytes (at least %" PRIu64 "), largest free extent %" PRIu64 " bytes, free %" PRIu64 " bytes",
					 bytes, min_bytes, largest, freeb);
		if (zeroing > 0)
		{
			size_t		n = strlen(msg);

			snprintf(msg + n, msglen - n, ", being zeroed %" PRIu64 " bytes", zeroing);
		}
		free(l);
		return RB_ST_NO_SPACE;
	}
	l->base = s->pool.base + (uint64_t) start * s->gran;
	l->bytes = (uint64_t) got * s->gran;
	if (s->mr_hooks.reg != NULL)
	{
		/*
		 * Registering pins the lease's pages and can take a while for big
		 * leases: do it outside the lock.  The extent is already ours and
		 * unreachable by anybody else until the lease enters the table.
		 * (The per-owner limit may thereby be passed by concurrent grants
		 * of one owner, by at most the number of I/O threads.)
		 */
		pthread_rwlock_unlock(&s->lock);
		l->mr = s->mr_hooks.reg(s->mr_hooks.ctx, l->base, l->bytes, &l->rkey);
		pthread_rwlock_wrlock(&s->lock);
	}
	ow = owner_find(s, owner, owner_len, true);
	if (ow == NULL)
	{
		rbd_extents_free(&s->ext, start, got);
		pthread_rwlock_unlock(&s->lock);
		if (l->mr != NULL)
			s->mr_hooks.dereg(s->mr_hooks.ctx, l->mr);
		snprintf(msg, msglen, "out of memory");
		free(l);
		return RB_ST_INTERNAL;
	}
	l->id = ((uint64_t) s->id_prefix << 32) | ++s->id_counter;
	l->start = start;
	l->nunits = got;
	l->expires_at = now + ttl_ms;
	l->owner = ow;
	l->numa_node = rbd_pool_numa_node(&s->pool, l->base, l->bytes);
	lease_insert(s, l);
	s->n_granted++;
	lease_to_info(l, now, out);
	pthread_rwlock_unlock(&s->lock);

	rbd_info("granted lease %016" PRIx64 " of %" PRIu64 " bytes to owner \"%.*s\" (ttl %u ms, numa node %d%s)",
			 out->lease_id, out->bytes, (int) owner_len, owner, ttl_ms,
			 (int) out->numa_node, out->remote_addr != 0 ? ", RDMA registered" : "");
	return RB_ST_OK;
}

uint32_t
rbd_store_renew(rbd_store *s, const char *owner, size_t owner_len,
				uint64_t lease_id, uint32_t ttl_ms, uint64_t now,
				rb_lease_info *out)
{
	rbd_lease  *l;
	uint32_t	st;

	pthread_rwlock_wrlock(&s->lock);
	l = lease_find(s, lease_id);
	if (l == NULL)
		st = ring_status(s, owner, owner_len, lease_id);
	else if (!owner_is(l->owner, owner, owner_len))
		st = RB_ST_NO_LEASE;
	else if (now >= l->expires_at)
		st = RB_ST_LEASE_EXPIRED;
	else
	{
		l->expires_at = now + ttl_ms;
		/* A renewal may shorten the lease. */
		if (l->expires_at < s->next_expiry)
			s->next_expiry = l->expires_at;
		s->n_renewed++;
		lease_to_info(l, now, out);
		st = RB_ST_OK;
	}
	pthread_rwlock_unlock(&s->lock);
	if (st == RB_ST_OK)
		rbd_debug("renewed lease %016" PRIx64 " for %u ms", lease_id, ttl_ms);
	return st;
}

uint32_t
rbd_store_release(rbd_store *s, const char *owner, size_t owner_len,
				  uint64_t lease_id, uint64_t now)
{
	rbd_lease  *l;
	uint32_t	st;
	bool		expired;
	uint64_t	bytes;

	pthread_rwlock_wrlock(&s->lock);
	l = lease_find(s, lease_id);
	if (l == NULL)
	{
		st = ring_status(s, owner, owner_len, lease_id);
		pthread_rwlock_unlock(&s->lock);
		return st;
	}
	if (!owner_is(l->owner, owner, owner_len))
	{
		pthread_rwlock_unlock(&s->lock);
		return RB_ST_NO_LEASE;
	}
	/*
	 * Past its expiry the lease is reclaimed as expired, and says so.
	 * Zeroing a big lease takes long: the housekeeping thread does it
	 * (rbd_store_reap), not this I/O thread; until then the memory is
	 * unreachable and not grantable.
	 */
	expired = now >= l->expires_at;
	bytes = l->bytes;			/* l belongs to housekeeping after unlock */
	lease_remove(s, l, expired);
	l->hnext = s->zero_pending;
	s->zero_pending = l;
	pthread_rwlock_unlock(&s->lock);

	rbd_info("%s lease %016" PRIx64 " of owner \"%.*s\"; %" PRIu64 " bytes will be zeroed and returned to the pool",
			 expired ? "expired" : "released", lease_id, (int) owner_len,
			 owner, bytes);
	return expired ? RB_ST_LEASE_EXPIRED : RB_ST_OK;
}

uint32_t
rbd_store_list(rbd_store *s, const char *owner, size_t owner_len,
			   uint64_t now, uint8_t *buf, uint32_t max)
{
	uint32_t	n = 0;
	rb_lease_info li;

	pthread_rwlock_rdlock(&s->lock);
	for (uint32_t b = 0; b < s->nbuckets && n < max; b++)
		for (rbd_lease *l = s->buckets[b]; l != NULL && n < max; l = l->hnext)
		{
			if (!owner_is(l->owner, owner, owner_len) || now >= l->expires_at)
				continue;
			lease_to_info(l, now, &li);
			rb_lease_info_encode(buf + (size_t) n * RB_LEASE_INFO_SIZE, &li);
			n++;
		}
	pthread_rwlock_unlock(&s->lock);
	return n;
}

uint32_t
rbd_store_owner_leases(rbd_store *s, const char *owner, size_t owner_len)
{
	rbd_owner  *ow;
	uint32_t	n;

	pthread_rwlock_rdlock(&s->lock);
	ow = owner_find(s, owner, owner_len, false);
	n = ow != NULL ? ow->nleases : 0;
	pthread_rwlock_unlock(&s->lock);
	return n;
}

void
rbd_store_rdlock(rbd_store *s)
{
	pthread_rwlock_rdlock(&s->lock);
}

void
rbd_store_unlock(rbd_store *s)
{
	pthread_rwlock_unlock(&s->lock);
}

void
rbd_store_copy(rbd_store *s, void *dst, const void *src, size_t len,
			   const void *lease_mem)
{
	rbd_pagelocks_copy(&s->pagelocks, dst, src, len, lease_mem);
}

uint32_t
rbd_store_lookup(rbd_store *s, const char *owner, size_t owner_len,
				 uint64_t lease_id, uint64_t now, uint8_t **base,
				 uint64_t *bytes)
{
	rbd_lease  *l = lease_find(s, lease_id);

	if (l == NULL)
		return ring_status(s, owner, owner_len, lease_id);
	if (!owner_is(l->owner, owner, owner_len))
		return RB_ST_NO_LEASE;
	if (now >= l->expires_at)
		return RB_ST_LEASE_EXPIRED;
	*base = l->base;
	*bytes = l->bytes;
	return RB_ST_OK;
}

int
rbd_store_reap(rbd_store *s, uint64_t now)
{
	rbd_lease  *batch[REAP_BATCH];
	int			n = 0;
	int			total = 0;
	rbd_lease  *pend;

	/* Released leases: zero them here, off the I/O threads. */
	pthread_rwlock_wrlock(&s->lock);
	pend = s->zero_pending;
	s->zero_pending = NULL;
	pthread_rwlock_unlock(&s->lock);
	while (pend != NULL)
	{
		while (pend != NULL && n < REAP_BATCH)
		{
			batch[n++] = pend;
			pend = pend->hnext;
		}
		reclaim_finish(s, batch, n);
		total += n;
		n = 0;
	}

	for (;;)
	{
		uint64_t	next = UINT64_MAX;
		bool		more = false;

		pthread_rwlock_wrlock(&s->lock);
		if (now < s->next_expiry)
		{
			pthread_rwlock_unlock(&s->lock);
			break;
		}
		for (uint32_t b = 0; b < s->nbuckets; b++)
		{
			rbd_lease  *l = s->buckets[b];

			while (l != NULL)
			{
				rbd_lease  *nx = l->hnext;

				if (now >= l->expires_at && n < REAP_BATCH)
				{
					lease_remove(s, l, true);
					batch[n++] = l;
				}
				else if (now >= l->expires_at)
					more = true;
				else if (l->expires_at < next)
					next = l->expires_at;
				l = nx;
			}
		}
		s->next_expiry = more ? now : next;
		pthread_rwlock_unlock(&s->lock);

		for (int i = 0; i < n; i++)
			rbd_info("lease %016" PRIx64 " of owner \"%s\" expired; %" PRIu64 " bytes zeroed and returned to the pool",
					 batch[i]->id, batch[i]->owner->name, batch[i]->bytes);
		reclaim_finish(s, batch, n);
		total += n;
		n = 0;
		if (!more)
			break;
	}
	return total;
}

void
rbd_store_counters(rbd_store *s, uint64_t *c)
{
	pthread_rwlock_rdlock(&s->lock);
	c[RB_SF_MEM_TOTAL] = (uint64_t) s->nunits * s->gran;
	c[RB_SF_MEM_LEASED] = s->leased_units * s->gran;
	c[RB_SF_MEM_FREE] = s->ext.free_units * s->gran;
	c[RB_SF_MEM_LARGEST_FREE] = (uint64_t) rbd_extents_largest(&s->ext) * s->gran;
	c[RB_SF_LEASES] = s->nleases;
	c[RB_SF_LEASES_GRANTED] = s->n_granted;
	c[RB_SF_LEASES_RENEWED] = s->n_renewed;
	c[RB_SF_LEASES_RELEASED] = s->n_released;
	c[RB_SF_LEASES_EXPIRED] = s->n_expired;
	pthread_rwlock_unlock(&s->lock);
}

uint32_t
rbd_store_stats_leases(rbd_store *s, uint64_t now, uint8_t *buf, uint32_t max)
{
	uint32_t	n = 0;
	rb_lease_info li;

	pthread_rwlock_rdlock(&s->lock);
	for (uint32_t b = 0; b < s->nbuckets && n < max; b++)
		for (rbd_lease *l = s->buckets[b]; l != NULL && n < max; l = l->hnext)
		{
			uint8_t    *p = buf + (size_t) n * RB_STATS_LEASE_REC;

			lease_to_info(l, now, &li);
			rb_lease_info_encode(p, &li);
			memset(p + RB_LEASE_INFO_SIZE, 0, 64);
			memcpy(p + RB_LEASE_INFO_SIZE, l->owner->name, l->owner->len);
			n++;
		}
	pthread_rwlock_unlock(&s->lock);
	return n;
}
