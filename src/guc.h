/*-------------------------------------------------------------------------
 *
 * guc.h
 *	  Configuration parameters of remote_buffer (remote_buffer.*), the
 *	  parser for the peers list, and the values derived from them.
 *
 * Every parameter is defined by rb_guc_define(), called from _PG_init.
 * See docs/extension.md for the reference.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RB_GUC_H
#define RB_GUC_H

/* at most this many peers in remote_buffer.peers */
#define RB_MAX_PEERS		16

/* longest host part of a peer (a DNS name is at most 253 bytes) */
#define RB_HOST_MAXLEN		255

/* "[" host "]:" port NUL */
#define RB_PEER_NAME_LEN	(RB_HOST_MAXLEN + 10)

/* upper bound on max_size / lease_size, which sizes shared memory */
#define RB_MAX_SEGMENTS		65536

/* values of remote_buffer.transport */
typedef enum RbTransport
{
	RB_TRANSPORT_AUTO = 0,
	RB_TRANSPORT_TCP,
	RB_TRANSPORT_RDMA
} RbTransport;

/* one parsed entry of remote_buffer.peers */
typedef struct RbPeerAddr
{
	char		host[RB_HOST_MAXLEN + 1];	/* without brackets */
	int			port;
	char		name[RB_PEER_NAME_LEN]; /* canonical "host:port" */
} RbPeerAddr;

/* the parameters (remote_buffer.enabled lives in intercept.c) */
extern char *rb_guc_peers;
extern int	rb_guc_size_mb;
extern int	rb_guc_max_size_mb;
extern int	rb_guc_lease_size_mb;
extern int	rb_guc_transport;
extern int	rb_guc_lease_ttl_ms;
extern int	rb_guc_io_timeout_ms;
extern char *rb_guc_secret_file;
extern char *rb_guc_owner;

/* the shared secret, as last read from remote_buffer.secret_file */
typedef struct RbSecret
{
	uint8		bytes[256];		/* RB_SECRET_MAX_LEN */
	size_t		len;			/* 0 = connect without a secret */
	bool		ok;				/* false: the file could not be loaded */
	char		err[256];		/* why, when !ok */
} RbSecret;

extern void rb_guc_define(void);

/*
 * (Re)read remote_buffer.secret_file into *secret, logging a WARNING when
 * it cannot be loaded.  Returns true if a different secret than before is
 * now in effect.
 */
extern bool rb_secret_reload(RbSecret *secret);

/*
 * Parse a peers list into out[RB_MAX_PEERS].  Returns false with a full
 * sentence in err if the list is invalid.  Never allocates or throws.
 */
extern bool rb_parse_peers(const char *value, RbPeerAddr *out, int *npeers,
						   char *err, size_t errlen);

/* The client library's data-path mode for remote_buffer.transport */
extern int	rb_client_transport_mode(void);

/* Effective transport name for a remote_buffer.transport value */
extern const char *rb_transport_name(int transport);

/* Bytes of one segment (= one lease) */
extern uint64 rb_segment_bytes(void);

/* Number of segment entries in shared memory: max_size / lease_size */
extern int	rb_segments_max(void);

/* Segments the lease manager keeps: min(size, max_size) / lease_size */
extern int	rb_segments_wanted(void);

/* Connect timeout derived from io_timeout (connect, HELLO and AUTH) */
extern int	rb_connect_timeout_ms(void);

/*
 * The owner name presented to rbufd: remote_buffer.owner, or when that is
 * empty "pg-<system identifier>-<hash of host:port:data directory>".
 * Needs the control file (shared memory) for the system identifier.
 */
extern void rb_owner_name(char *buf, size_t len);

#endif							/* RB_GUC_H */
