/*-------------------------------------------------------------------------
 *
 * server.c
 *	  Shared rbufd state other than the store: reloadable limits (atomics,
 *	  read by I/O threads on every request), the secret (under a mutex,
 *	  replaced on SIGHUP), statistics and the client registry that STATS
 *	  and --max-clients use.
 *
 *-------------------------------------------------------------------------
 */
#include "server.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "conn.h"
#include "log.h"
#include "store.h"

bool
rbd_server_init(rbd_server *srv, rbd_store *store, const rbd_config *cfg)
{
	uint8_t		rnd[8];

	memset(srv, 0, sizeof(*srv));
	srv->store = store;
	srv->auth_required = !cfg->insecure_no_auth;
	srv->started_at = rbd_mono_ms();
	srv->rate_last_ms = srv->started_at;
	if (!rb_random_bytes(rnd, sizeof(rnd)))
		return false;
	srv->instance = rb_get_u64(rnd);
	pthread_mutex_init(&srv->secret_lock, NULL);
	pthread_mutex_init(&srv->clients_lock, NULL);
	rbd_server_set_limits(srv, cfg);
	srv->corrupt_permille = cfg->test_corrupt_reads;
	return true;
}

/* splitmix64: a well-spread hash of a counter */
static uint64_t
mix64(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/*
 * Fault injection for tests of the clients' page verification.  Which
 * replies are corrupted is decided by a hash of a global sequence number,
 * so the fraction holds whatever the thread interleaving.  Each corruption
 * is logged, so a test can count exactly what was sent damaged.
 */
void
rbd_server_test_corrupt(rbd_server *srv, uint8_t *data, uint32_t len,
						uint64_t lease_id, uint64_t offset)
{
	uint64_t	seq;
	uint64_t	h;
	uint64_t	bit;
	uint64_t	n;

	if (srv->corrupt_permille == 0 || len == 0)
		return;
	seq = atomic_fetch_add_explicit(&srv->corrupt_seen, 1,
									memory_order_relaxed);
	h = mix64(seq ^ srv->instance);
	if (h % 1000 >= srv->corrupt_permille)
		return;
	bit = (h >> 32) % ((uint64_t) len * 8);
	data[bit / 8] ^= (uint8_t) (1u << (bit % 8));
	n = atomic_fetch_add_explicit(&srv->corrupt_done, 1,
								  memory_order_relaxed) + 1;
	rbd_warning("test-corrupt-reads: flipped bit %" PRIu64 " of %u bytes sent from lease %016" PRIx64 " offset %" PRIu64 " (corrupted reply %" PRIu64 " of %" PRIu64 ")",
				bit, len, lease_id, offset, n, seq + 1);
}

void
rbd_server_destroy(rbd_server *srv)
{
	/* Do not leave the secret lying around in freed memory. */
	memset(srv->secret, 0, sizeof(srv->secret));
	pthread_mutex_destroy(&srv->secret_lock);
	pthread_mutex_destroy(&srv->clients_lock);
}

void
rbd_server_set_limits(rbd_server *srv, const rbd_config *cfg)
{
	rbd_limits *l = &srv->limits;

	atomic_store(&l->max_clients, cfg->max_clients);
	atomic_store(&l->max_leases_per_owner, cfg->max_leases_per_client);
	atomic_store(&l->min_ttl_ms, cfg->min_ttl_ms);
	atomic_store(&l->max_ttl_ms, cfg->max_ttl_ms);
	atomic_store(&l->default_ttl_ms, cfg->default_ttl_ms);
	atomic_store(&l->auth_timeout_ms, cfg->auth_timeout_ms);
	atomic_store(&l->idle_timeout_ms, cfg->idle_timeout_ms);
}

void
rbd_server_set_secret(rbd_server *srv, const uint8_t *secret, size_t len)
{
	pthread_mutex_lock(&srv->secret_lock);
	memset(srv->secret, 0, sizeof(srv->secret));
	memcpy(srv->secret, secret, len);
	srv->secret_len = len;
	pthread_mutex_unlock(&srv->secret_lock);
}

size_t
rbd_server_get_secret(rbd_server *srv, uint8_t buf[RB_SECRET_MAX_LEN])
{
	size_t		len;

	pthread_mutex_lock(&srv->secret_lock);
	len = srv->secret_len;
	memcpy(buf, srv->secret, len);
	pthread_mutex_unlock(&srv->secret_lock);
	return len;
}

bool
rbd_server_register(rbd_server *srv, rbd_conn *c)
{
	bool		admitted;

	pthread_mutex_lock(&srv->clients_lock);
	c->reg_prev = NULL;
	c->reg_next = srv->clients;
	if (srv->clients != NULL)
		srv->clients->reg_prev = c;
	srv->clients = c;
	srv->nclients++;
	admitted = srv->nadmitted < atomic_load(&srv->limits.max_clients);
	if (admitted)
		srv->nadmitted++;
	c->admitted = admitted;
	pthread_mutex_unlock(&srv->clients_lock);
	return admitted;
}

void
rbd_server_unregister(rbd_server *srv, rbd_conn *c)
{
	pthread_mutex_lock(&srv->clients_lock);
	if (c->reg_prev != NULL)
		c->reg_prev->reg_next = c->reg_next;
	else
		srv->clients = c->reg_next;
	if (c->reg_next != NULL)
		c->reg_next->reg_prev = c->reg_prev;
	srv->nclients--;
	if (c->admitted)
		srv->nadmitted--;
	pthread_mutex_unlock(&srv->clients_lock);
}

/* Owner and auth state are read by STATS on other threads. */
void
rbd_server_set_identity(rbd_server *srv, rbd_conn *c, const char *owner,
						size_t owner_len, bool authenticated)
{
	pthread_mutex_lock(&srv->clients_lock);
	memcpy(c->owner, owner, owner_len);
	c->owner[owner_len] = '\0';
	c->owner_len = (uint16_t) owner_len;
	c->authenticated = authenticated;
	pthread_mutex_unlock(&srv->clients_lock);
}

void
rbd_server_tick_rates(rbd_server *srv, uint64_t now)
{
	uint64_t	r = rbd_counter_get(&srv->ops_read);
	uint64_t	w = rbd_counter_get(&srv->ops_write);
	uint64_t	dt = now - srv->rate_last_ms;

	if (dt < 1000)
		return;
	atomic_store_explicit(&srv->read_ops_per_sec,
						  (r - srv->rate_last_read) * 1000 / dt, memory_order_relaxed);
	atomic_store_explicit(&srv->write_ops_per_sec,
						  (w - srv->rate_last_write) * 1000 / dt, memory_order_relaxed);
	srv->rate_last_ms = now;
	srv->rate_last_read = r;
	srv->rate_last_write = w;
}

size_t
rbd_server_stats_size(rbd_server *srv, uint32_t *max_leases,
					  uint32_t *max_clients)
{
	uint64_t	c[RB_SF__COUNT];
	uint64_t	nl;
	uint64_t	nc;

	/* Slack for what appears meanwhile; the rest is cut off. */
	rbd_store_counters(srv->store, c);
	nl = c[RB_SF_LEASES] + 16;
	pthread_mutex_lock(&srv->clients_lock);
	nc = (uint64_t) srv->nclients + 16;
	pthread_mutex_unlock(&srv->clients_lock);
	*max_leases = (uint32_t) (nl < RB_MAX_STATS_LIST ? nl : RB_MAX_STATS_LIST);
	*max_clients = (uint32_t) (nc < RB_MAX_STATS_LIST ? nc : RB_MAX_STATS_LIST);
	return RB_STATS_FIXED_SIZE + 8 +
		(size_t) *max_leases * RB_STATS_LEASE_REC +
		(size_t) *max_clients * RB_STATS_CLIENT_REC;
}

size_t
rbd_server_stats(rbd_server *srv, uint8_t *buf, uint32_t max_leases,
				 uint32_t max_clients)
{
	uint64_t	c[RB_SF__COUNT];
	uint64_t	now = rbd_mono_ms();
	uint32_t	nleases;
	uint32_t	nclients = 0;
	size_t		off;

	memset(c, 0, sizeof(c));
	rbd_store_counters(srv->store, c);
	c[RB_SF_UPTIME_MS] = now - srv->started_at;
	c[RB_SF_OPS_READ] = rbd_counter_get(&srv->ops_read);
	c[RB_SF_OPS_WRITE] = rbd_counter_get(&srv->ops_write);
	c[RB_SF_BYTES_READ] = rbd_counter_get(&srv->bytes_read);
	c[RB_SF_BYTES_WRITTEN] = rbd_counter_get(&srv->bytes_written);
	c[RB_SF_AUTH_FAILURES] = rbd_counter_get(&srv->auth_failures);
	c[RB_SF_PROTOCOL_ERRORS] = rbd_counter_get(&srv->protocol_errors);
	c[RB_SF_REJECTED] = rbd_counter_get(&srv->rejected);
	c[RB_SF_READ_OPS_PER_SEC] = rbd_counter_get(&srv->read_ops_per_sec);
	c[RB_SF_WRITE_OPS_PER_SEC] = rbd_counter_get(&srv->write_ops_per_sec);

	off = RB_STATS_FIXED_SIZE + 8;
	nleases = rbd_store_stats_leases(srv->store, now, buf + off, max_leases);
	off += (size_t) nleases * RB_STATS_LEASE_REC;

	pthread_mutex_lock(&srv->clients_lock);
	c[RB_SF_CLIENTS] = srv->nclients;
	for (rbd_conn *cl = srv->clients; cl != NULL && nclients < max_clients;
		 cl = cl->reg_next)
	{
		uint8_t    *p = buf + off;

		memset(p, 0, RB_STATS_CLIENT_REC);
		memcpy(p, cl->owner, cl->owner_len);
		memcpy(p + 64, cl->peer, strnlen(cl->peer, 47));
		rb_put_u64(p + 112, now > cl->connected_at ? now - cl->connected_at : 0);
		rb_put_u64(p + 120, rbd_counter_get(&cl->ops));
		rb_put_u32(p + 128, cl->authenticated ? 1 : 0);
		off += RB_STATS_CLIENT_REC;
		nclients++;
	}
	pthread_mutex_unlock(&srv->clients_lock);

	for (int i = 0; i < RB_SF__COUNT; i++)
		rb_put_u64(buf + 8 * i, c[i]);
	rb_put_u32(buf + RB_STATS_FIXED_SIZE, nleases);
	rb_put_u32(buf + RB_STATS_FIXED_SIZE + 4, nclients);
	return off;
}
