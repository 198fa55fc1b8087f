/*-------------------------------------------------------------------------
 *
 * shmem.c
 *	  Shared memory of the remote tier: sizing, initialization, the two
 *	  segment transitions that move a segment's generation, and the
 *	  rebuild of the peer table when remote_buffer.peers changes.
 *
 * The segment table is sized from remote_buffer.max_size and
 * remote_buffer.lease_size, both fixed at server start.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "storage/ipc.h"
#include "storage/shmem.h"

#include "shmem.h"

#define RB_LWLOCK_TRANCHE	"remote_buffer"

RbControl  *rb_ctl = NULL;

static Size
rb_shmem_size(void)
{
	return add_size(offsetof(RbControl, segments),
					mul_size(rb_segments_max(), sizeof(RbSegment)));
}

/* From the shmem_request hook (postmaster, before shared memory exists). */
void
rb_shmem_request(void)
{
	RequestAddinShmemSpace(rb_shmem_size());
	RequestNamedLWLockTranche(RB_LWLOCK_TRANCHE, 1);
}

/* From the shmem_startup hook: also after a crash restart. */
void
rb_shmem_init(void)
{
	bool		found;
	int			nseg = rb_segments_max();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	rb_ctl = ShmemInitStruct("remote_buffer control", rb_shmem_size(), &found);
	if (!found)
	{
		memset(rb_ctl, 0, offsetof(RbControl, segments));
		rb_ctl->lock = &(GetNamedLWLockTranche(RB_LWLOCK_TRANCHE))->lock;
		rb_ctl->nsegments = nseg;
		rb_ctl->segment_bytes = rb_segment_bytes();
		for (int i = 0; i < nseg; i++)
		{
			RbSegment  *seg = &rb_ctl->segments[i];

			memset(seg, 0, sizeof(RbSegment));
			pg_atomic_init_u64(&seg->generation, 1);
			seg->state = RB_SEG_EMPTY;
			seg->peer = -1;
		}
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * Make seg ACTIVE, backed by lease_id on peer.  The generation moves
 * after the fields are set: whoever sees the new generation also sees the
 * new lease (the atomic increment is a full barrier).
 */
void
rb_seg_install(RbSegment *seg, int peer, uint64 lease_id, uint64 bytes)
{
	Assert(LWLockHeldByMeInMode(rb_ctl->lock, LW_EXCLUSIVE));
	seg->state = RB_SEG_ACTIVE;
	seg->peer = peer;
	seg->lease_id = lease_id;
	seg->bytes = bytes;
	seg->renewals = 0;
	pg_atomic_fetch_add_u64(&seg->generation, 1);
}

/*
 * Make seg EMPTY.  The generation moves first: a page stored under the old
 * generation is invalid before the lease is forgotten.
 */
void
rb_seg_clear(RbSegment *seg)
{
	Assert(LWLockHeldByMeInMode(rb_ctl->lock, LW_EXCLUSIVE));
	if (seg->state == RB_SEG_EMPTY)
		return;
	pg_atomic_fetch_add_u64(&seg->generation, 1);
	seg->state = RB_SEG_EMPTY;
	seg->peer = -1;
	seg->lease_id = 0;
	seg->bytes = 0;
	seg->renewals = 0;
	seg->expires_at = 0;
	seg->renew_at_ms = 0;
	seg->deadline_ms = 0;
}

int
rb_seg_clear_peer(int peer)
{
	int			cleared = 0;

	for (int s = 0; s < rb_ctl->nsegments; s++)
	{
		RbSegment  *seg = &rb_ctl->segments[s];

		if (seg->state == RB_SEG_ACTIVE && seg->peer == peer)
		{
			rb_seg_clear(seg);
			cleared++;
		}
	}
	return cleared;
}

void
rb_shmem_set_peers(const RbPeerAddr *peers, int npeers, const int *from,
				   int wanted)
{
	RbPeer	   *old = palloc(sizeof(RbPeer) * RB_MAX_PEERS);
	int			to[RB_MAX_PEERS];

	for (int i = 0; i < RB_MAX_PEERS; i++)
		to[i] = -1;

	LWLockAcquire(rb_ctl->lock, LW_EXCLUSIVE);
	memcpy(old, rb_ctl->peers, sizeof(RbPeer) * RB_MAX_PEERS);
	memset(rb_ctl->peers, 0, sizeof(RbPeer) * RB_MAX_PEERS);
	for (int j = 0; j < npeers; j++)
	{
		RbPeer	   *p = &rb_ctl->peers[j];

		if (from[j] >= 0)
		{
			*p = old[from[j]];
			to[from[j]] = j;
			continue;
		}
		strlcpy(p->name, peers[j].name, sizeof(p->name));
		p->state = RB_PEER_CONNECTING;
		p->transport = RB_TRANSPORT_TCP;
		p->rtt_us = -1;
	}
	for (int s = 0; s < rb_ctl->nsegments; s++)
	{
		RbSegment  *seg = &rb_ctl->segments[s];

		if (seg->state != RB_SEG_ACTIVE)
			continue;
		if (seg->peer >= 0 && seg->peer < RB_MAX_PEERS && to[seg->peer] >= 0)
			seg->peer = to[seg->peer];
		else
			rb_seg_clear(seg);	/* its peer is gone */
	}
	rb_ctl->npeers = npeers;
	rb_ctl->wanted = wanted;
	LWLockRelease(rb_ctl->lock);
	pfree(old);
}

const char *
rb_peer_state_name(RbPeerState state)
{
	switch (state)
	{
		case RB_PEER_CONNECTING:
			return "connecting";
		case RB_PEER_CONNECTED:
			return "connected";
		case RB_PEER_QUARANTINED:
			return "quarantined";
		case RB_PEER_AUTH_FAILED:
			return "auth_failed";
		case RB_PEER_IDLE:
			return "idle";
	}
	return "unknown";
}
