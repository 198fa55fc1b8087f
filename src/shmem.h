/*-------------------------------------------------------------------------
 *
 * shmem.h
 *	  Shared memory of remote_buffer's remote tier: the segment table, the
 *	  peer table and the lease manager's identity.
 *
 * The remote tier is cut into segments of remote_buffer.lease_size bytes;
 * there are max_size / lease_size segment entries.  An ACTIVE segment is
 * backed by exactly one rbufd lease on one peer.  Only the lease manager
 * (lease_worker.c) changes the tables, holding rb_ctl->lock exclusively
 * and never across network I/O; everyone else reads them in shared mode.
 *
 * Generations.  Every segment has a generation counter that is bumped
 * (under the exclusive lock) whenever the lease behind it changes: when a
 * lease is installed and when it is dropped (lost, expired, released,
 * moved).  So one generation value belongs to at most one lease, and a page
 * stored under (segment, generation g) is valid only while the segment is
 * ACTIVE with generation g.  Generations are never reset while the server
 * runs; they start again at 1 after a crash restart, along with everything
 * else in shared memory.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RB_SHMEM_H
#define RB_SHMEM_H

#include "datatype/timestamp.h"
#include "port/atomics.h"
#include "storage/latch.h"
#include "storage/lwlock.h"

#include "guc.h"

#define RB_ERRMSG_LEN		256
#define RB_OWNER_LEN		65	/* RB_MAX_OWNER_LEN + 1 */

typedef enum RbPeerState
{
	RB_PEER_CONNECTING = 0,		/* not connected yet, attempt due */
	RB_PEER_CONNECTED,
	RB_PEER_QUARANTINED,		/* failed; waiting before the next attempt */
	RB_PEER_AUTH_FAILED,		/* authentication failed; waiting as well */
	RB_PEER_IDLE				/* remote tier off (size 0): not connected */
} RbPeerState;

typedef struct RbPeer
{
	char		name[RB_PEER_NAME_LEN]; /* "host:port" as configured */
	RbPeerState state;
	int			transport;		/* RbTransport in use */
	int64		rtt_us;			/* last PING round trip, -1 = none yet */
	uint64		used_bytes;		/* filled by the page directory (later) */
	uint64		disconnects;	/* established connections lost */
	uint64		server_instance;	/* rbufd instance of the last connection */
	char		last_error[RB_ERRMSG_LEN];	/* "" = none */
	TimestampTz last_error_at;
	TimestampTz quarantine_until;
} RbPeer;

typedef enum RbSegState
{
	RB_SEG_EMPTY = 0,
	RB_SEG_ACTIVE
} RbSegState;

typedef struct RbSegment
{
	pg_atomic_uint64 generation;	/* see the header comment */
	RbSegState	state;
	int			peer;			/* index into rb_ctl->peers, -1 if EMPTY */
	uint64		lease_id;
	uint64		bytes;			/* granted, >= the segment size */
	uint64		renewals;		/* successful renewals of this lease */
	TimestampTz expires_at;		/* our conservative estimate */
	int64		renew_at_ms;	/* CLOCK_MONOTONIC ms: renew from then */
	int64		deadline_ms;	/* CLOCK_MONOTONIC ms: lease gone from then */
} RbSegment;

typedef struct RbControl
{
	LWLock	   *lock;			/* protects everything but generations */
	int			nsegments;		/* entries in segments[] */
	uint64		segment_bytes;	/* remote_buffer.lease_size at start */
	int			wanted;			/* segments the lease manager aims for */
	int			npeers;			/* entries in use in peers[] */
	pid_t		worker_pid;		/* lease manager, 0 if not running */
	Latch	   *worker_latch;	/* set it to wake the lease manager */
	char		owner[RB_OWNER_LEN];	/* "" until the lease manager ran */
	RbPeer		peers[RB_MAX_PEERS];	/* in remote_buffer.peers order */
	RbSegment	segments[FLEXIBLE_ARRAY_MEMBER];
} RbControl;

/* NULL unless loaded via shared_preload_libraries */
extern RbControl *rb_ctl;

extern void rb_shmem_request(void);
extern void rb_shmem_init(void);

/* Segment transitions; the caller holds rb_ctl->lock exclusively. */
extern void rb_seg_install(RbSegment *seg, int peer, uint64 lease_id,
						   uint64 bytes);
extern void rb_seg_clear(RbSegment *seg);
extern int	rb_seg_clear_peer(int peer);	/* all of peer's; returns how many */

/*
 * Replace the peer table by peers[0..npeers): entry j keeps the state of
 * old entry from[j], or starts afresh if from[j] is -1; segments follow
 * their peer to its new index.  Old entries no one takes over must have
 * no segments left.  Also sets rb_ctl->wanted.  Takes the lock.
 */
extern void rb_shmem_set_peers(const RbPeerAddr *peers, int npeers,
							   const int *from, int wanted);

extern const char *rb_peer_state_name(RbPeerState state);

#endif							/* RB_SHMEM_H */
