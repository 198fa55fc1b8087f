/*-------------------------------------------------------------------------
 *
 * rbuf_hammer.c
 *	  Multi-threaded stress test of rbufd through the client library, meant
 *	  to run against ThreadSanitizer builds of both.
 *
 * Each good thread has its own connection and owner ("hammer-<i>"; every
 * fourth thread shares its owner with the previous one, to exercise the
 * shared lease table) and does random lease and page operations.  Pages
 * it wrote are read back and compared byte for byte; pages it never wrote
 * must read as zeros.  A lease is "surely alive" until its last grant's
 * send time + ttl and "surely dead" after the grant's reply time + ttl;
 * in between either answer is accepted.  Released and dead leases must
 * never return data.  A few "bad" threads make wrong requests (ranges
 * outside their lease, other owners' leases, absurd sizes) and check for
 * the right errors.  Exits 1 on any unexpected result.
 *
 *-------------------------------------------------------------------------
 */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rb_client.h"

#define PAGE		8192
#define MAX_LEASES	4
#define MAX_PAGES	64
#define MAX_DEAD	8
#define MAX_IGNORE	32
#define MAX_THREADS 256
#define MAX_VEC		8
#define LONG_TTL	30000
#define SLACK_NS	50000000ll	/* server clock granularity, rounding */
#define SEQ_UNKNOWN UINT32_MAX
#define M(e)		(1u << (e))
#define GONE		(M(RB_E_LEASE_EXPIRED) | M(RB_E_NO_LEASE))

enum
{
	K_ACQUIRE, K_RENEW, K_RELEASE, K_WRITE, K_WRITEV, K_READ, K_READV,
	K_DEAD_IO, K_STATS, K_PING, K_RECONNECT, K_LIST, K_SIBLING,
	K_BAD_RANGE, K_BAD_FOREIGN, K_BAD_RANDOM, K_BAD_HUGE, K_BAD_BATCH,
	K_BAD_ARGS, NKINDS
};
static const char *const kind_names[NKINDS] = {
	"acquire", "renew", "release", "write", "writev", "read", "readv",
	"dead-lease io", "stats", "ping", "reconnect", "lease list",
	"sibling read", "bad: range", "bad: foreign", "bad: random id",
	"bad: huge acquire", "bad: mixed batch", "bad: client args"
};
#define NERR (RB_E_REMOTE_ACCESS + 1)

typedef struct hlease
{
	uint64_t	id;
	uint64_t	bytes;
	uint32_t	npages;
	bool		short_ttl;		/* left to expire */
	bool		kill;
	int64_t		valid_until;	/* ns: surely alive before */
	int64_t		dead_after;		/* ns: surely expired after */
	uint32_t	seq[MAX_PAGES]; /* 0 = never written */
} hlease;

typedef struct hworker
{
	int			id;
	bool		bad;
	bool		shared;
	char		owner[RB_MAX_OWNER_LEN + 1];
	rb_client_opts co;
	rb_conn		c;
	uint64_t	rng;
	uint32_t	seq;
	hlease		lease[MAX_LEASES];
	int			nlease;
	uint64_t	dead[MAX_DEAD]; /* released or surely expired */
	int			ndead;
	uint64_t	ignore[MAX_IGNORE]; /* leases we lost track of */
	int			nignore;
	uint64_t	count[NKINDS][NERR];
	uint64_t	failures;
	uint8_t		buf[MAX_VEC][PAGE];
	uint8_t		want[PAGE];
	rb_lease_info list[64];
	rb_stats_lease sl[8];
	rb_stats_client sc[8];
} hworker;

/* Leases published for the bad threads to poke at. */
static pthread_mutex_t pub_mu = PTHREAD_MUTEX_INITIALIZER;
static struct
{
	bool		used;
	uint64_t	id;
}			pub[MAX_THREADS][MAX_LEASES];

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static int	log_budget = 40;
static pthread_barrier_t start_barrier;
static int64_t end_ns;
static bool sibling_reads = true;

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t
splitmix(uint64_t *s)
{
	uint64_t	z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t
rnd(hworker *w, uint32_t n)
{
	return (uint32_t) (splitmix(&w->rng) % n);
}

/* Page content for (thread, lease, offset, seq); header readable. */
static void
pattern(uint8_t *p, int thread, uint64_t lease, uint64_t off, uint32_t seq)
{
	uint64_t	s = ((uint64_t) thread << 48) ^ lease ^ (off << 20) ^ seq;

	rb_put_u64(p, 0x4841000000000000ull | (uint64_t) thread);
	rb_put_u64(p + 8, lease);
	rb_put_u64(p + 16, off);
	rb_put_u64(p + 24, seq);
	for (int i = 32; i < PAGE; i += 8)
		rb_put_u64(p + i, splitmix(&s));
}

static void failure(hworker *w, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

static void
failure(hworker *w, const char *fmt,...)
{
	va_list		ap;

	w->failures++;
	pthread_mutex_lock(&log_mu);
	if (log_budget-- > 0)
	{
		fprintf(stderr, "FAIL thread %d (%s): ", w->id, w->owner);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	pthread_mutex_unlock(&log_mu);
}

/* Count rc under kind; a result outside mask is a failure. */
static bool
expect(hworker *w, int kind, rb_error rc, unsigned mask, const char *what)
{
	w->count[kind][rc]++;
	if (mask & M(rc))
		return true;
	failure(w, "%s: unexpected %s: %s", what, rb_error_name(rc),
			rc == RB_OK ? "(succeeded)" : rb_errmsg(&w->c));
	return false;
}

/* What the server must answer for lease L for an op sent at t0, done t1. */
static unsigned
lease_mask(const hlease *L, int64_t t0, int64_t t1)
{
	if (t1 < L->valid_until)
		return M(RB_OK);
	if (t0 > L->dead_after)
		return GONE;
	return M(RB_OK) | GONE;
}

static void
publish(hworker *w, int slot, bool used, uint64_t id)
{
	pthread_mutex_lock(&pub_mu);
	pub[w->id][slot].used = used;
	pub[w->id][slot].id = id;
	pthread_mutex_unlock(&pub_mu);
}

static void
remember(uint64_t *arr, int *n, int cap, uint64_t id)
{
	if (*n < cap)
		arr[(*n)++] = id;
	else
		arr[(int) (id % (uint64_t) cap)] = id;
}

/* Drop lease i from the live set; dead=false means we lost track. */
static void
drop_lease(hworker *w, int i, bool dead)
{
	if (dead)
		remember(w->dead, &w->ndead, MAX_DEAD, w->lease[i].id);
	else
		remember(w->ignore, &w->nignore, MAX_IGNORE, w->lease[i].id);
	w->lease[i] = w->lease[w->nlease - 1];
	w->nlease--;
	for (int s = 0; s < MAX_LEASES; s++)
		publish(w, s, s < w->nlease, s < w->nlease ? w->lease[s].id : 0);
}

static void
set_times(hlease *L, int64_t t0, int64_t t1, uint32_t ttl_ms)
{
	L->valid_until = t0 + (int64_t) ttl_ms * 1000000 - SLACK_NS;
	L->dead_after = t1 + (int64_t) ttl_ms * 1000000 + SLACK_NS;
}

static void
reconnect(hworker *w)
{
	rb_error	rc = rb_connect(&w->c, &w->co);

	if (!expect(w, K_RECONNECT, rc, M(RB_OK), "reconnect"))
	{
		/* Give the server a moment; the next op reports again. */
		struct timespec ts = {0, 100000000};

		nanosleep(&ts, NULL);
	}
}

static void
verify(hworker *w, const hlease *L, uint32_t slot, const uint8_t *got,
	   const char *what)
{
	uint32_t	seq = L->seq[slot];

	if (seq == SEQ_UNKNOWN)
		return;
	if (seq == 0)
		memset(w->want, 0, PAGE);
	else
		pattern(w->want, w->id, L->id, (uint64_t) slot * PAGE, seq);
	if (memcmp(w->want, got, PAGE) != 0)
	{
		int			b = 0;

		while (b < PAGE && w->want[b] == got[b])
			b++;
		failure(w, "%s: lease %016" PRIx64 " page %u: data mismatch at byte %d; "
				"expected seq %u, page header says thread %u lease %016" PRIx64
				" offset %" PRIu64 " seq %" PRIu64, what, L->id, slot, b, seq,
				(unsigned) (rb_get_u64(got) & 0xffff), rb_get_u64(got + 8),
				rb_get_u64(got + 16), rb_get_u64(got + 24));
	}
}

static void
do_acquire(hworker *w)
{
	bool		shortttl = rnd(w, 100) < 30;
	uint32_t	ttl = shortttl ? 1000 + rnd(w, 1000) : LONG_TTL;
	uint32_t	npages = 8 + rnd(w, MAX_PAGES - 7);
	rb_lease_info li;
	int64_t		t0 = now_ns();
	rb_error	rc = rb_lease_acquire(&w->c, (uint64_t) npages * PAGE, 0, ttl, &li);
	int64_t		t1 = now_ns();
	hlease	   *L;

	if (!expect(w, K_ACQUIRE, rc, M(RB_OK) | M(RB_E_NO_SPACE), "acquire") ||
		rc != RB_OK)
		return;
	L = &w->lease[w->nlease];
	memset(L, 0, sizeof(*L));
	L->id = li.lease_id;
	L->bytes = li.bytes;
	L->npages = li.bytes / PAGE < MAX_PAGES ? (uint32_t) (li.bytes / PAGE) : MAX_PAGES;
	L->short_ttl = shortttl;
	set_times(L, t0, t1, li.ttl_ms);
	if (li.ttl_ms > ttl)
		failure(w, "acquire: granted ttl %u ms exceeds the %u ms asked", li.ttl_ms, ttl);
	publish(w, w->nlease, true, L->id);
	w->nlease++;
}

static void
do_renew(hworker *w, int i)
{
	hlease	   *L = &w->lease[i];
	rb_lease_info li;
	int64_t		t0 = now_ns();
	rb_error	rc = rb_lease_renew(&w->c, L->id, LONG_TTL, &li);
	int64_t		t1 = now_ns();

	if (!expect(w, K_RENEW, rc, lease_mask(L, t0, t1), "renew"))
	{
		drop_lease(w, i, rc == RB_E_NO_LEASE || rc == RB_E_LEASE_EXPIRED);
		return;
	}
	if (rc != RB_OK)
	{
		drop_lease(w, i, true);
		return;
	}
	if (li.lease_id != L->id || li.bytes != L->bytes)
		failure(w, "renew: reply describes lease %016" PRIx64 " of %" PRIu64
				" bytes, not ours", li.lease_id, li.bytes);
	set_times(L, t0, t1, li.ttl_ms);
}

static void
do_release(hworker *w, int i)
{
	hlease	   *L = &w->lease[i];
	int64_t		t0 = now_ns();
	rb_error	rc = rb_lease_release(&w->c, L->id);
	int64_t		t1 = now_ns();
	bool		ok = expect(w, K_RELEASE, rc, lease_mask(L, t0, t1), "release");

	drop_lease(w, i, ok || rc == RB_E_NO_LEASE || rc == RB_E_LEASE_EXPIRED);
}

/* Single-page write or read of a random page of a random live lease. */
static void
do_page(hworker *w, bool write)
{
	int			i = (int) rnd(w, (uint32_t) w->nlease);
	hlease	   *L = &w->lease[i];
	uint32_t	slot = rnd(w, L->npages);
	uint32_t	seq = ++w->seq;
	int64_t		t0,
				t1;
	rb_error	rc;

	if (write)
		pattern(w->buf[0], w->id, L->id, (uint64_t) slot * PAGE, seq);
	t0 = now_ns();
	rc = write ? rb_write(&w->c, L->id, (uint64_t) slot * PAGE, w->buf[0], PAGE)
		: rb_read(&w->c, L->id, (uint64_t) slot * PAGE, w->buf[0], PAGE);
	t1 = now_ns();
	if (!expect(w, write ? K_WRITE : K_READ, rc, lease_mask(L, t0, t1),
				write ? "write" : "read"))
	{
		if (rc == RB_E_NO_LEASE || rc == RB_E_LEASE_EXPIRED)
			drop_lease(w, i, true);
		else if (write)
			L->seq[slot] = SEQ_UNKNOWN;
		return;
	}
	if (rc != RB_OK)
		drop_lease(w, i, true);
	else if (write)
		L->seq[slot] = seq;
	else
		verify(w, L, slot, w->buf[0], "read");
}

/* Batched write or read over random pages of the live leases. */
static void
do_batch(hworker *w, bool write)
{
	rb_iov		iov[MAX_VEC];
	int			li[MAX_VEC];
	uint32_t	slot[MAX_VEC];
	uint32_t	seq[MAX_VEC];
	int			n = 0;
	int			want = 1 + (int) rnd(w, MAX_VEC);
	int64_t		t0,
				t1;
	rb_error	rc;

	for (int tries = 0; n < want && tries < 3 * MAX_VEC; tries++)
	{
		int			i = (int) rnd(w, (uint32_t) w->nlease);
		uint32_t	s = rnd(w, w->lease[i].npages);
		bool		dup = false;

		for (int j = 0; j < n; j++)
			dup |= (li[j] == i && slot[j] == s);
		if (dup)
			continue;
		li[n] = i;
		slot[n] = s;
		seq[n] = ++w->seq;
		iov[n].lease_id = w->lease[i].id;
		iov[n].offset = (uint64_t) s * PAGE;
		iov[n].length = PAGE;
		iov[n].buf = w->buf[n];
		if (write)
			pattern(w->buf[n], w->id, w->lease[i].id, iov[n].offset, seq[n]);
		n++;
	}
	t0 = now_ns();
	rc = write ? rb_writev(&w->c, iov, n) : rb_readv(&w->c, iov, n);
	t1 = now_ns();
	if (!expect(w, write ? K_WRITEV : K_READV, rc, M(RB_OK),
				write ? "writev" : "readv"))
	{
		for (int j = 0; write && j < n; j++)
			w->lease[li[j]].seq[slot[j]] = SEQ_UNKNOWN;
		return;
	}
	for (int j = 0; j < n; j++)
	{
		hlease	   *L = &w->lease[li[j]];
		rb_error	st = iov[j].status;

		if (!(lease_mask(L, t0, t1) & M(st)))
		{
			failure(w, "%s entry %d (lease %016" PRIx64 " page %u): unexpected %s",
					write ? "writev" : "readv", j, L->id, slot[j], rb_error_name(st));
			if (write)
				L->seq[slot[j]] = SEQ_UNKNOWN;
		}
		if (st == RB_E_NO_LEASE || st == RB_E_LEASE_EXPIRED)
			L->kill = true;
		else if (st == RB_OK && write)
			L->seq[slot[j]] = seq[j];
		else if (st == RB_OK)
			verify(w, L, slot[j], w->buf[j], "readv");
	}
	for (int i = w->nlease - 1; i >= 0; i--)
		if (w->lease[i].kill)
			drop_lease(w, i, true);
}

/* Any I/O on a released or surely expired lease must fail. */
static void
do_dead_io(hworker *w)
{
	uint64_t	id = w->dead[rnd(w, (uint32_t) w->ndead)];
	bool		write = rnd(w, 2);
	char		what[80];
	rb_error	rc;

	if (write)
	{
		memset(w->buf[0], 0xee, PAGE);
		rc = rb_write(&w->c, id, 0, w->buf[0], PAGE);
	}
	else
		rc = rb_read(&w->c, id, 0, w->buf[0], PAGE);
	snprintf(what, sizeof(what), "%s dead lease %016" PRIx64 " (reused id?)",
			 write ? "write to" : "read of", id);
	expect(w, K_DEAD_IO, rc, GONE, what);
}

static void
do_stats(hworker *w)
{
	rb_stats	st;
	uint32_t	nl,
				nc;
	rb_error	rc = rb_stats_get(&w->c, &st, w->sl, 8, &nl, w->sc, 8, &nc);
	const uint64_t *v = st.v;

	if (!expect(w, K_STATS, rc, M(RB_OK), "stats") || rc != RB_OK)
		return;
	if (v[RB_SF_MEM_LEASED] + v[RB_SF_MEM_FREE] > v[RB_SF_MEM_TOTAL] ||
		v[RB_SF_MEM_LARGEST_FREE] > v[RB_SF_MEM_FREE] || nc == 0 ||
		v[RB_SF_CLIENTS] == 0)
		failure(w, "stats inconsistent: total %" PRIu64 " leased %" PRIu64
				" free %" PRIu64 " largest %" PRIu64 " clients %" PRIu64 "/%u",
				v[RB_SF_MEM_TOTAL], v[RB_SF_MEM_LEASED], v[RB_SF_MEM_FREE],
				v[RB_SF_MEM_LARGEST_FREE], v[RB_SF_CLIENTS], nc);
}

static bool
in_set(const uint64_t *arr, int n, uint64_t id)
{
	for (int i = 0; i < n; i++)
		if (arr[i] == id)
			return true;
	return false;
}

/* LEASE_LIST must show our surely-alive leases and no dead ones. */
static void
do_list(hworker *w)
{
	uint32_t	n = 0;
	int64_t		t0 = now_ns();
	rb_error	rc = rb_lease_list(&w->c, w->list, 64, &n);
	int64_t		t1 = now_ns();

	if (!expect(w, K_LIST, rc, M(RB_OK), "lease list") || rc != RB_OK)
		return;
	for (int i = 0; i < w->nlease; i++)
	{
		const hlease *L = &w->lease[i];
		bool		found = false;

		for (uint32_t j = 0; j < n; j++)
			if (w->list[j].lease_id == L->id)
			{
				found = true;
				if (w->list[j].bytes != L->bytes)
					failure(w, "lease list: lease %016" PRIx64 " has %" PRIu64
							" bytes, granted %" PRIu64, L->id,
							w->list[j].bytes, L->bytes);
			}
		if (!found && t1 < L->valid_until)
			failure(w, "lease list: live lease %016" PRIx64 " missing", L->id);
		if (found && t0 > L->dead_after)
			failure(w, "lease list: expired lease %016" PRIx64 " listed", L->id);
	}
	for (uint32_t j = 0; j < n; j++)
	{
		uint64_t	id = w->list[j].lease_id;

		if (in_set(w->dead, w->ndead, id))
			failure(w, "lease list: dead lease %016" PRIx64 " listed", id);
		else if (!w->shared && !in_set(w->ignore, w->nignore, id))
		{
			bool		mine = false;

			for (int i = 0; i < w->nlease; i++)
				mine |= w->lease[i].id == id;
			if (!mine)
				failure(w, "lease list: unknown lease %016" PRIx64 " listed", id);
		}
	}
}

/* Shared owner: read a page of a lease the sibling thread holds. */
static void
do_sibling(hworker *w)
{
	uint32_t	n = 0;
	rb_error	rc = rb_lease_list(&w->c, w->list, 64, &n);

	if (!expect(w, K_LIST, rc, M(RB_OK), "lease list") || rc != RB_OK)
		return;
	for (uint32_t j = 0; j < n; j++)
	{
		uint64_t	id = w->list[j].lease_id;
		bool		mine = in_set(w->ignore, w->nignore, id);

		for (int i = 0; i < w->nlease; i++)
			mine |= w->lease[i].id == id;
		if (mine)
			continue;
		rc = rb_read(&w->c, id, 0, w->buf[0], PAGE);
		expect(w, K_SIBLING, rc, M(RB_OK) | GONE, "read of sibling's lease");
		return;
	}
}

static void
good_step(hworker *w)
{
	uint32_t	r = rnd(w, 100);
	int64_t		now = now_ns();

	/* Housekeeping: retire surely expired leases, keep long ones alive. */
	for (int i = w->nlease - 1; i >= 0 && rb_connected(&w->c); i--)
	{
		if (now > w->lease[i].dead_after)
			drop_lease(w, i, true);
		else if (!w->lease[i].short_ttl &&
				 w->lease[i].valid_until - now < 10000000000ll)
			do_renew(w, i);
	}
	if (!rb_connected(&w->c))
		return;
	if (w->nlease == 0 || (r < 6 && w->nlease < MAX_LEASES))
		do_acquire(w);
	else if (r < 9)
	{
		int			i = (int) rnd(w, (uint32_t) w->nlease);

		if (!w->lease[i].short_ttl)
			do_renew(w, i);
	}
	else if (r < 12)
	{
		int			i = (int) rnd(w, (uint32_t) w->nlease);

		if (!w->lease[i].short_ttl)
			do_release(w, i);
	}
	else if (r < 37)
		do_page(w, true);
	else if (r < 47)
		do_batch(w, true);
	else if (r < 72)
		do_page(w, false);
	else if (r < 82)
		do_batch(w, false);
	else if (r < 86 && w->ndead > 0)
		do_dead_io(w);
	else if (r < 89)
		do_stats(w);
	else if (r < 91)
		expect(w, K_PING, rb_ping(&w->c, NULL), M(RB_OK), "ping");
	else if (r < 92)
	{
		rb_close(&w->c);
		reconnect(w);
		if (rb_connected(&w->c))
			do_list(w);
	}
	else if (r < 96)
		do_list(w);
	else if (w->shared && sibling_reads)
		do_sibling(w);
}

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

static void
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

static void *
worker_main(void *arg)
{
	hworker    *w = arg;
	uint32_t	n = 0;

	/* Release what an earlier run under our owner name left behind. */
	reconnect(w);
	if (rb_connected(&w->c) && !(w->shared && w->id % 4 == 3) &&
		rb_lease_list(&w->c, w->list, 64, &n) == RB_OK)
		for (uint32_t i = 0; i < n; i++)
			(void) rb_lease_release(&w->c, w->list[i].lease_id);
	pthread_barrier_wait(&start_barrier);

	while (now_ns() < end_ns)
	{
		if (!rb_connected(&w->c))
			reconnect(w);
		else if (w->bad)
			bad_step(w);
		else
			good_step(w);
	}
	for (int i = w->nlease - 1; i >= 0 && rb_connected(&w->c); i--)
		do_release(w, i);
	rb_close(&w->c);
	return NULL;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"host", required_argument, NULL, 'H'},
		{"port", required_argument, NULL, 'p'},
		{"secret-file", required_argument, NULL, 's'},
		{"threads", required_argument, NULL, 't'},
		{"bad-threads", required_argument, NULL, 'b'},
		{"seconds", required_argument, NULL, 'd'},
		{"seed", required_argument, NULL, 'S'},
		{"timeout", required_argument, NULL, 'T'},
		{"no-sibling-reads", no_argument, NULL, 'N'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	const char *host = "127.0.0.1";
	const char *secret_file = NULL;
	static uint8_t secret[RB_SECRET_MAX_LEN];
	size_t		secret_len = 0;
	int			port = 7420,
				threads = 16,
				nbad = 2,
				seconds = 10,
				timeout = 10000;
	uint64_t	seed = 1;
	uint64_t	total[NKINDS][NERR];
	uint64_t	failures = 0;
	pthread_t  *tids;
	hworker    *ws;
	char		err[512];
	int			ch;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1)
	{
		switch (ch)
		{
			case 'H':
				host = optarg;
				break;
			case 'p':
				port = atoi(optarg);
				break;
			case 's':
				secret_file = optarg;
				break;
			case 't':
				threads = atoi(optarg);
				break;
			case 'b':
				nbad = atoi(optarg);
				break;
			case 'd':
				seconds = atoi(optarg);
				break;
			case 'S':
				seed = strtoull(optarg, NULL, 10);
				break;
			case 'T':
				timeout = atoi(optarg);
				break;
			case 'N':
				sibling_reads = false;
				break;
			case 'h':
				printf("Usage: rbuf_hammer [--host H] [--port P] [--secret-file F]\n"
					   "       [--threads T (16)] [--bad-threads B (2)] [--seconds S (10)]\n"
					   "       [--seed N (1)] [--timeout MS (10000)] [--no-sibling-reads]\n");
				return 0;
			default:
				return 2;
		}
	}
	if (threads < 1 || threads > MAX_THREADS || nbad < 0 || nbad >= threads ||
		seconds < 1 || port < 1 || port > 65535 || timeout < 1 || optind != argc)
	{
		fprintf(stderr, "rbuf_hammer: invalid arguments (see --help)\n");
		return 2;
	}
	if (secret_file &&
		!rb_secret_load(secret_file, secret, &secret_len, err, sizeof(err)))
	{
		fprintf(stderr, "rbuf_hammer: %s\n", err);
		return 1;
	}

	tids = calloc((size_t) threads, sizeof(*tids));
	ws = calloc((size_t) threads, sizeof(*ws));
	if (!tids || !ws)
		return 1;
	pthread_barrier_init(&start_barrier, NULL, (unsigned) threads);
	end_ns = now_ns() + (int64_t) seconds * 1000000000;
	for (int i = 0; i < threads; i++)
	{
		hworker    *w = &ws[i];

		w->id = i;
		w->bad = i >= threads - nbad;
		w->shared = !w->bad && i % 4 >= 2 && (i % 4 == 2 ? i + 1 < threads - nbad : true);
		if (w->bad)
			snprintf(w->owner, sizeof(w->owner), "hammer-bad-%d", i);
		else
			snprintf(w->owner, sizeof(w->owner), "hammer-%d", i % 4 == 3 ? i - 1 : i);
		w->rng = seed * 1000003u + (uint64_t) i;
		w->co.host = host;
		w->co.port = port;
		w->co.secret = secret_len ? secret : NULL;
		w->co.secret_len = secret_len;
		w->co.owner = w->owner;
		w->co.connect_timeout_ms = timeout;
		w->co.io_timeout_ms = timeout;
		rb_conn_init(&w->c);
		if (pthread_create(&tids[i], NULL, worker_main, w) != 0)
		{
			fprintf(stderr, "rbuf_hammer: could not create thread %d\n", i);
			return 1;
		}
	}
	memset(total, 0, sizeof(total));
	for (int i = 0; i < threads; i++)
	{
		pthread_join(tids[i], NULL);
		for (int k = 0; k < NKINDS; k++)
			for (int e = 0; e < NERR; e++)
				total[k][e] += ws[i].count[k][e];
		failures += ws[i].failures;
	}

	printf("rbuf_hammer: %d threads (%d bad), %d s, seed %" PRIu64 "\n",
		   threads, nbad, seconds, seed);
	printf("%-18s %10s  %s\n", "operation", "count", "results");
	for (int k = 0; k < NKINDS; k++)
	{
		uint64_t	sum = 0;

		for (int e = 0; e < NERR; e++)
			sum += total[k][e];
		if (sum == 0)
			continue;
		printf("%-18s %10" PRIu64 " ", kind_names[k], sum);
		for (int e = 0; e < NERR; e++)
			if (total[k][e])
				printf(" %s=%" PRIu64, rb_error_name((rb_error) e), total[k][e]);
		printf("\n");
	}
	printf("failures: %" PRIu64 "\n", failures);
	free(ws);
	free(tids);
	pthread_barrier_destroy(&start_barrier);
	return failures ? 1 : 0;
}
