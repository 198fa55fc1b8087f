/*-------------------------------------------------------------------------
 *
 * rb_client.h
 *	  Client library for rbufd: connect and authenticate, lease memory,
 *	  read and write pages, batched I/O, stats.
 *
 * Used by the remote_buffer extension (inside smgr wrappers: so it never
 * allocates memory after rb_connect, never exits or aborts, and never
 * blocks past the caller's deadline), by rbufctl, and by tests/benchmarks.
 * No PostgreSQL includes.
 *
 * A connection is a caller-owned rb_conn (static or stack storage is fine;
 * the library allocates nothing).  One connection must not be used by two
 * threads at once.  Every call is bounded by the connection's io_timeout_ms
 * (one deadline for the whole operation: send, server work and reply).
 *
 * Errors that leave the byte stream in an unknown state (timeout,
 * disconnect, protocol violation, failed authentication) close the
 * connection; rb_connected() then returns false and the caller reconnects.
 * Errors the server reports for one operation (no such lease, out of
 * range, no space, ...) leave the connection usable.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RB_CLIENT_H
#define RB_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rb_protocol.h"
#include "rb_auth.h"

typedef enum rb_error
{
	RB_OK = 0,
	RB_E_CONNECT,				/* could not resolve/connect */
	RB_E_DISCONNECTED,			/* peer closed or reset the connection */
	RB_E_TIMEOUT,				/* deadline passed */
	RB_E_AUTH,					/* authentication failed (either side) */
	RB_E_PROTOCOL,				/* malformed or unexpected reply */
	RB_E_NO_LEASE,				/* unknown lease, or another owner's */
	RB_E_LEASE_EXPIRED,
	RB_E_OUT_OF_RANGE,			/* access outside the lease */
	RB_E_NO_SPACE,				/* server has not enough free memory */
	RB_E_LIMIT,					/* server limit: clients, leases */
	RB_E_TOO_LARGE,				/* request exceeds a protocol limit */
	RB_E_SERVER,				/* any other error status from the server */
	RB_E_INVALID,				/* bad argument from the caller */
	RB_E_SYSTEM,				/* local system call failure */
	RB_E_REMOTE_ACCESS			/* RDMA: the device refused the lease's
								 * rkey (lease expired or released) */
} rb_error;

/*
 * Data path of a connection (rb_client_opts.transport).  The control
 * operations (leases, stats, ping) always use the TCP connection; page
 * reads and writes go through the chosen transport's ops table.
 */
typedef enum rb_transport_mode
{
	RB_XPORT_TCP = 0,			/* default (zeroed opts) */
	RB_XPORT_AUTO,				/* RDMA if a local device exists and the
								 * server offers it, else TCP */
	RB_XPORT_RDMA				/* RDMA or rb_connect fails */
} rb_transport_mode;

struct rb_data_ops;
struct rb_rdma;

typedef struct rb_client_opts
{
	const char *host;			/* name or address */
	int			port;
	const uint8_t *secret;		/* NULL/0 = server must run without auth */
	size_t		secret_len;
	const char *owner;			/* lease owner name, see rb_protocol.h */
	int			connect_timeout_ms; /* connect + HELLO + AUTH */
	int			io_timeout_ms;	/* every later operation */
	rb_transport_mode transport;	/* data path; 0 = TCP */
} rb_client_opts;

typedef struct rb_conn
{
	int			fd;				/* -1 when not connected */
	uint64_t	next_req_id;
	int			io_timeout_ms;
	uint16_t	version;		/* negotiated protocol version */
	uint32_t	server_caps;
	uint64_t	server_instance;
	uint64_t	server_mem_total;
	uint32_t	last_status;	/* RB_ST_* of the last server reply */
	char		errmsg[256];	/* last error, a full sentence */
	char		server[64];		/* "host:port", for error messages */
	const struct rb_data_ops *ops;	/* page I/O; NULL = TCP */
	struct rb_rdma *rdma;		/* RDMA state (rb_transport_rdma.c) or NULL */
	int			connect_timeout_ms;
	char		rdma_note[256]; /* why RB_XPORT_AUTO chose TCP, or "" */
} rb_conn;

/* One entry of a batched read or write. */
typedef struct rb_iov
{
	uint64_t	lease_id;
	uint64_t	offset;
	uint32_t	length;
	void	   *buf;			/* read: filled; write: source */
	rb_error	status;			/* per-entry result */
} rb_iov;

typedef struct rb_stats_lease
{
	rb_lease_info info;
	char		owner[RB_MAX_OWNER_LEN + 1];
} rb_stats_lease;

typedef struct rb_stats_client
{
	char		owner[RB_MAX_OWNER_LEN + 1];
	char		addr[49];
	uint64_t	connected_ms;
	uint64_t	ops;
	bool		authenticated;
} rb_stats_client;

typedef struct rb_stats
{
	uint64_t	v[RB_SF__COUNT];	/* indexed by rb_stats_field */
} rb_stats;

extern void rb_conn_init(rb_conn *c);
extern rb_error rb_connect(rb_conn *c, const rb_client_opts *opts);
extern void rb_close(rb_conn *c);
extern bool rb_connected(const rb_conn *c);
extern const char *rb_errmsg(const rb_conn *c);
extern const char *rb_error_name(rb_error e);
extern void rb_set_timeout(rb_conn *c, int io_timeout_ms);

/* "tcp" or "rdma": the data path this connection's page I/O uses now. */
extern const char *rb_conn_transport(const rb_conn *c);

/* Is there an RDMA device on this host?  (Looked up once per process.) */
extern bool rb_rdma_device_present(void);

/* RDMA diagnostics (all 0 when the connection has no RDMA). */
typedef struct rb_rdma_info
{
	uint32_t	qp_num;			/* local queue pair number, 0 = none */
	uint32_t	remote_qp_num;
	uint64_t	reads;			/* RDMA READ work requests completed */
	uint64_t	writes;			/* RDMA WRITE work requests completed */
	uint64_t	fallbacks;		/* page ops served over TCP instead */
	uint32_t	reconnects;		/* queue pairs re-created after errors */
	char		device[64];
} rb_rdma_info;
extern void rb_rdma_get_info(const rb_conn *c, rb_rdma_info *info);

extern rb_error rb_ping(rb_conn *c, uint32_t *rtt_us);

extern rb_error rb_lease_acquire(rb_conn *c, uint64_t bytes, uint64_t min_bytes,
								 uint32_t ttl_ms, rb_lease_info *out);
extern rb_error rb_lease_renew(rb_conn *c, uint64_t lease_id, uint32_t ttl_ms,
							   rb_lease_info *out);
extern rb_error rb_lease_release(rb_conn *c, uint64_t lease_id);
extern rb_error rb_lease_list(rb_conn *c, rb_lease_info *out, uint32_t max,
							  uint32_t *count);

extern rb_error rb_read(rb_conn *c, uint64_t lease_id, uint64_t offset,
						void *buf, uint32_t length);
extern rb_error rb_write(rb_conn *c, uint64_t lease_id, uint64_t offset,
						 const void *buf, uint32_t length);

/*
 * Batched I/O: one request, one reply.  Returns RB_OK if the batch as a
 * whole was carried out (then see each iov[i].status), else the error that
 * stopped it.  n is 1..RB_MAX_BATCH, total length <= RB_MAX_BATCH_BYTES.
 */
extern rb_error rb_readv(rb_conn *c, rb_iov *iov, int n);
extern rb_error rb_writev(rb_conn *c, rb_iov *iov, int n);

/*
 * Server statistics.  leases/clients may be NULL (then max_* is ignored);
 * *nleases / *nclients get the number of records stored (<= max_*).
 */
extern rb_error rb_stats_get(rb_conn *c, rb_stats *out,
							 rb_stats_lease *leases, uint32_t max_leases,
							 uint32_t *nleases,
							 rb_stats_client *clients, uint32_t max_clients,
							 uint32_t *nclients);

#endif							/* RB_CLIENT_H */
