/*-------------------------------------------------------------------------
 *
 * hammer.h
 *	  Types and helpers shared by rbuf_hammer's good threads
 *	  (rbuf_hammer.c) and bad threads (hammer_bad.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef HAMMER_H
#define HAMMER_H

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

/* Leases published for the bad threads to poke at. */
extern pthread_mutex_t pub_mu;
typedef struct hpub
{
	bool		used;
	uint64_t	id;
} hpub;
extern hpub pub[MAX_THREADS][MAX_LEASES];

extern int64_t now_ns(void);
extern uint64_t splitmix(uint64_t *s);
extern uint32_t rnd(hworker *w, uint32_t n);
extern void pattern(uint8_t *p, int thread, uint64_t lease, uint64_t off,
					uint32_t seq);
extern void failure(hworker *w, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
extern bool expect(hworker *w, int kind, rb_error rc, unsigned mask,
				   const char *what);
extern void verify(hworker *w, const hlease *L, uint32_t slot,
				   const uint8_t *got, const char *what);
extern void do_acquire(hworker *w);
extern void do_renew(hworker *w, int i);
extern void do_page(hworker *w, bool write);

/* hammer_bad.c */
extern void bad_step(hworker *w);

#endif							/* HAMMER_H */
