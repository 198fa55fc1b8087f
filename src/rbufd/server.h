/*-------------------------------------------------------------------------
 *
 * server.h
 *	  State shared by all rbufd threads apart from the lease store: the
 *	  reloadable limits, the shared secret, statistics counters and the
 *	  registry of client connections (for STATS and --max-clients).
 *
 *-------------------------------------------------------------------------
 */
#ifndef RBD_SERVER_H
#define RBD_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "rb_auth.h"
#include "rb_protocol.h"
#include "util.h"

struct rbd_store;
struct rbd_conn;
struct rbd_config;

/* Settings that SIGHUP may change while I/O threads read them. */
typedef struct rbd_limits
{
	_Atomic uint32_t max_clients;
	_Atomic uint32_t max_leases_per_owner;
	_Atomic uint32_t min_ttl_ms;
	_Atomic uint32_t max_ttl_ms;
	_Atomic uint32_t default_ttl_ms;
	_Atomic uint32_t auth_timeout_ms;
	_Atomic uint32_t idle_timeout_ms;
} rbd_limits;

typedef struct rbd_server
{
	struct rbd_store *store;
	rbd_limits	limits;
	bool		auth_required;	/* fixed at start */
	uint64_t	instance;		/* random per start, sent in HELLO */
	uint64_t	started_at;		/* monotonic ms */
	bool		fixed_nonce;	/* fuzzing only: predictable nonces */
	uint64_t	clock_offset;	/* fuzzing only: added to the lease clock */

	pthread_mutex_t secret_lock;
	uint8_t		secret[RB_SECRET_MAX_LEN];
	size_t		secret_len;

	/* Counters not kept by the store (RB_SF_*). */
	rbd_counter ops_read;
	rbd_counter ops_write;
	rbd_counter bytes_read;
	rbd_counter bytes_written;
	rbd_counter auth_failures;
	rbd_counter protocol_errors;
	rbd_counter rejected;
	rbd_counter read_ops_per_sec;
	rbd_counter write_ops_per_sec;

	/* --test-corrupt-reads (testing only): fixed at start */
	uint32_t	corrupt_permille;
	rbd_counter corrupt_seen;	/* page replies considered */
	rbd_counter corrupt_done;	/* page replies with a bit flipped */
	/* housekeeping thread only */
	uint64_t	rate_last_ms;
	uint64_t	rate_last_read;
	uint64_t	rate_last_write;

	/*
	 * RDMA (rdma.c); NULL when off.  server_caps goes into HELLO replies;
	 * rdma_ticket issues a one-use ticket for an RDMA CM connection of an
	 * authenticated owner (RDMA_INFO).
	 */
	void	   *rdma;
	uint32_t	server_caps;
	bool		(*rdma_ticket) (void *rdma, const char *owner, size_t owner_len,
								uint8_t *ticket, uint16_t *port);

	/* Client registry. */
	pthread_mutex_t clients_lock;
	struct rbd_conn *clients;	/* doubly linked via reg_prev/reg_next */
	uint32_t	nclients;
	uint32_t	nadmitted;		/* within --max-clients */
} rbd_server;

extern bool rbd_server_init(rbd_server *srv, struct rbd_store *store,
							const struct rbd_config *cfg);
extern void rbd_server_destroy(rbd_server *srv);
extern void rbd_server_set_limits(rbd_server *srv, const struct rbd_config *cfg);
extern void rbd_server_set_secret(rbd_server *srv, const uint8_t *secret,
								  size_t len);
extern size_t rbd_server_get_secret(rbd_server *srv,
									uint8_t buf[RB_SECRET_MAX_LEN]);

/* Registry: returns whether the connection is within --max-clients. */
extern bool rbd_server_register(rbd_server *srv, struct rbd_conn *c);
extern void rbd_server_unregister(rbd_server *srv, struct rbd_conn *c);
extern void rbd_server_set_identity(rbd_server *srv, struct rbd_conn *c,
									const char *owner, size_t owner_len,
									bool authenticated);

/*
 * --test-corrupt-reads: called with every page about to be sent in a
 * READ/READV reply; flips one bit in corrupt_permille of every 1000 of
 * them (and logs it).  A no-op when the flag is 0.
 */
extern void rbd_server_test_corrupt(rbd_server *srv, uint8_t *data,
									uint32_t len, uint64_t lease_id,
									uint64_t offset);

/* Once a second from the housekeeping thread: ops/s. */
extern void rbd_server_tick_rates(rbd_server *srv, uint64_t now);

/*
 * STATS reply payload.  Reserve rbd_server_stats_size() bytes (a little
 * more than the current lists need), then rbd_server_stats() fills at
 * most that and returns the length used.
 */
extern size_t rbd_server_stats_size(rbd_server *srv, uint32_t *max_leases,
									uint32_t *max_clients);
extern size_t rbd_server_stats(rbd_server *srv, uint8_t *buf,
							   uint32_t max_leases, uint32_t max_clients);

#endif							/* RBD_SERVER_H */
