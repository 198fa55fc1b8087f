/*-------------------------------------------------------------------------
 *
 * lease_worker.c
 *	  The lease manager: a background worker that keeps
 *	  min(size, max_size) / lease_size segments of the remote tier backed
 *	  by one rbufd lease each, spread over the healthy peers.
 *
 * One round (rb_round) does, in this order: release segments beyond the
 * wanted number; (re)connect peers whose quarantine is over, re-attaching
 * to what the peer still holds for our owner; renew leases a third of
 * their TTL after they were last granted or renewed (dropping those past
 * their deadline); acquire leases for empty wanted segments on the
 * connected peer holding the fewest; ping connected peers.  Between rounds
 * it sleeps on its latch until the next deadline (at most a second).
 *
 * Failure handling: any error that closes a peer's connection (timeout,
 * disconnect, protocol or authentication failure) drops every segment on
 * that peer (their generations move) and quarantines the peer for 1 s,
 * doubling up to 60 s, before the next connection attempt.  An error the
 * server reports for one lease drops only that segment.  Dropped segments
 * are acquired again, on any connected peer, in the same round.
 *
 * Every network call is bounded: remote_buffer.io_timeout per request,
 * twice that to connect.  Shared memory is locked only between network
 * calls, never across one.  SIGTERM releases all leases within a few
 * seconds at most, then exits; SIGHUP re-reads the configuration.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "lease_worker.h"
#include "rb_client.h"
#include "shmem.h"

#define RB_BACKOFF_MIN_MS	1000	/* first quarantine */
#define RB_BACKOFF_MAX_MS	60000	/* longest quarantine */
#define RB_PING_INTERVAL_MS 1000
#define RB_FULL_RETRY_MS	5000	/* after "no space" or a limit */
#define RB_MAX_SLEEP_MS		1000
#define RB_LIST_MAX			1024	/* leases read back per LEASE_LIST */
#define RB_SHUTDOWN_MAX_MS	5000	/* budget for releasing at SIGTERM */
#define RB_MIN_GRANT_TTL_MS 100		/* shorter grants are handed back */

/* Worker-local state of one peer, same index as rb_ctl->peers[] */
typedef struct RbPeerConn
{
	RbPeerAddr	addr;
	rb_conn		conn;
	int			backoff_ms;		/* length of the next quarantine */
	int64		retry_at_ms;	/* no connection attempt before */
	int64		ping_at_ms;		/* next PING */
	int64		full_until_ms;	/* no LEASE_ACQUIRE before */
	bool		reauth;			/* reconnect: the secret changed */
} RbPeerConn;

static RbPeerConn *pc;			/* [RB_MAX_PEERS] */
static int	npeers;
static int	wanted;				/* segments to keep */
static char owner[RB_OWNER_LEN];
static rb_lease_info *listbuf;	/* [RB_LIST_MAX] */

static RbSecret secret;

static int64
rb_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool
rb_peer_up(int i)
{
	return rb_connected(&pc[i].conn) &&
		rb_ctl->peers[i].state == RB_PEER_CONNECTED;
}

/* Record an error on peer i without changing its state. */
static void
rb_peer_note_error(int i, const char *msg)
{
	RbPeer	   *sh = &rb_ctl->peers[i];

	LWLockAcquire(rb_ctl->lock, LW_EXCLUSIVE);
	strlcpy(sh->last_error, msg, sizeof(sh->last_error));
	sh->last_error_at = GetCurrentTimestamp();
	LWLockRelease(rb_ctl->lock);
}

static void
rb_peer_set_state(int i, RbPeerState state)
{
	LWLockAcquire(rb_ctl->lock, LW_EXCLUSIVE);
	rb_ctl->peers[i].state = state;
	if (state != RB_PEER_CONNECTED)
		rb_ctl->peers[i].rtt_us = -1;
	LWLockRelease(rb_ctl->lock);
}

/*
 * Peer i failed with rc (its connection is, or is now, closed): drop its
 * segments, record the error, quarantine it.
 */
static void
rb_peer_failed(int i, rb_error rc, const char *msg, bool was_connected)
{
	RbPeerConn *p = &pc[i];
	RbPeer	   *sh = &rb_ctl->peers[i];
	TimestampTz now = GetCurrentTimestamp();
	bool		same_error;
	int			dropped;

	rb_close(&p->conn);
	p->reauth = false;
	p->retry_at_ms = rb_mono_ms() + p->backoff_ms;

	LWLockAcquire(rb_ctl->lock, LW_EXCLUSIVE);
	dropped = rb_seg_clear_peer(i);
	same_error = strcmp(sh->last_error, msg) == 0;
	if (was_connected)
		sh->disconnects++;
	strlcpy(sh->last_error, msg, sizeof(sh->last_error));
	sh->last_error_at = now;
	sh->state = rc == RB_E_AUTH ? RB_PEER_AUTH_FAILED : RB_PEER_QUARANTINED;
	sh->rtt_us = -1;
	sh->quarantine_until = TimestampTzPlusMilliseconds(now, p->backoff_ms);
	LWLockRelease(rb_ctl->lock);

	/* repeated identical connection failures only at DEBUG1 */
	ereport(was_connected || dropped > 0 || !same_error ? WARNING : DEBUG1,
			(errmsg("remote_buffer peer %s failed: %s", p->addr.name, msg),
			 errdetail("%d segments dropped; next connection attempt in %d ms.",
					   dropped, p->backoff_ms)));

	p->backoff_ms = Min(p->backoff_ms * 2, RB_BACKOFF_MAX_MS);
}

/* Handle a failed request on peer i; true if the connection is gone. */
static bool
rb_request_failed(int i, rb_error rc)
{
	if (rb_connected(&pc[i].conn))
		return false;
	rb_peer_failed(i, rc, rb_errmsg(&pc[i].conn), true);
	return true;
}

/* Set a segment's timers from a grant or renewal started at t0/w0. */
static void
rb_seg_set_times(RbSegment *seg, int64 t0, TimestampTz w0, uint32 ttl_ms)
{
	seg->renew_at_ms = t0 + ttl_ms / 3;
	seg->deadline_ms = t0 + ttl_ms;
	seg->expires_at = TimestampTzPlusMilliseconds(w0, ttl_ms);
}

/*
 * After connecting to peer i: keep our segments whose lease the peer still
 * has (renewing them at once), drop those it has not, and release leases
 * of our owner that no segment uses: left over from an earlier incarnation
 * of this server or of this worker, or granted while a reply got lost.
 * Their contents are never trusted, so nothing is adopted.
 */
static bool
rb_reattach(int i)
{
	RbPeerConn *p = &pc[i];
	uint32		n = 0;
	int			lost = 0;
	int			released = 0;
	rb_error	rc;

	rc = rb_lease_list(&p->conn, listbuf, RB_LIST_MAX, &n);
	if (rc != RB_OK)
	{
		rb_peer_failed(i, rc, rb_errmsg(&p->conn), false);
		return false;
	}

	LWLockAcquire(rb_ctl->lock, LW_EXCLUSIVE);
	for (int s = 0; s < rb_ctl->nsegments; s++)
	{
		RbSegment  *seg = &rb_ctl->segments[s];
		bool		found = false;

		if (seg->state != RB_SEG_ACTIVE || seg->peer != i)
			continue;
		for (uint32 k = 0; k < n && !found; k++)
			if (listbuf[k].lease_id == seg->lease_id)
			{
				listbuf[k].lease_id = 0;	/* accounted for */
				found = true;
			}
		if (found)
			seg->renew_at_ms = 0;
		else
		{
			rb_seg_clear(seg);
			lost++;
		}
	}
	LWLockRelease(rb_ctl->lock);

	for (uint32 k = 0; k < n; k++)
	{
		if (listbuf[k].lease_id == 0)
			continue;
		rc = rb_lease_release(&p->conn, listbuf[k].lease_id);
		if (rc == RB_OK)
			released++;
		else if (rb_request_failed(i, rc))
			return false;
	}
	if (lost > 0 || released > 0)
		ereport(LOG,
				(errmsg("remote_buffer peer %s: %d leases lost, %d leftover leases released",
						p->addr.name, lost, released)));
	return true;
}

/* Connect (or reconnect) peer i, then re-attach and measure the RTT. */
static void
rb_peer_connect(int i)
{
	RbPeerConn *p = &pc[i];
	RbPeer	   *sh = &rb_ctl->peers[i];
	bool		was_connected = rb_connected(&p->conn);
	rb_client_opts opts;
	rb_error	rc;
	uint32		rtt = 0;

	if (!secret.ok)
	{
		(void) rb_secret_reload(&secret);	/* the file may have been fixed */
		if (!secret.ok)
		{
			char		msg[RB_ERRMSG_LEN];

			snprintf(msg, sizeof(msg),
					 "could not load remote_buffer.secret_file: %s", secret.err);
			rb_peer_failed(i, RB_E_AUTH, msg, false);
			return;
		}
	}

	/* a quarantined peer keeps showing why until it is back */
	if (sh->state == RB_PEER_IDLE)
		rb_peer_set_state(i, RB_PEER_CONNECTING);
	memset(&opts, 0, sizeof(opts));
	opts.host = p->addr.host;
	opts.port = p->addr.port;
	opts.secret = secret.len > 0 ? secret.bytes : NULL;
	opts.secret_len = secret.len;
	opts.owner = owner;
	opts.connect_timeout_ms = rb_connect_timeout_ms();
	opts.io_timeout_ms = rb_guc_io_timeout_ms;

	p->reauth = false;
	rc = rb_connect(&p->conn, &opts);
	if (rc != RB_OK)
	{
		rb_peer_failed(i, rc, rb_errmsg(&p->conn), was_connected);
		return;
	}
	if (!rb_reattach(i))
		return;
	rc = rb_ping(&p->conn, &rtt);
	if (rc != RB_OK && rb_request_failed(i, rc))
		return;

	/*
	 * This control connection is TCP; show what the backends' data path
	 * will use (they correct it if their set-up ends differently).
	 */
	LWLockAcquire(rb_ctl->lock, LW_EXCLUSIVE);
	sh->state = RB_PEER_CONNECTED;
	sh->transport = rb_guc_transport != RB_TRANSPORT_TCP &&
		(p->conn.server_caps & RB_CAP_RDMA) && rb_rdma_device_present() ?
		RB_TRANSPORT_RDMA : RB_TRANSPORT_TCP;
	if (rb_guc_transport == RB_TRANSPORT_RDMA && sh->transport != RB_TRANSPORT_RDMA)
	{
		/* backends will not use this peer: say why */
		snprintf(sh->last_error, sizeof(sh->last_error),
				 "remote_buffer.transport is rdma, but %s",
				 !(p->conn.server_caps & RB_CAP_RDMA) ?
				 "the peer does not offer RDMA" :
				 "this host has no RDMA device");
		sh->last_error_at = GetCurrentTimestamp();
	}
	sh->rtt_us = rc == RB_OK ? (int64) rtt : -1;
	sh->server_instance = p->conn.server_instance;
	sh->quarantine_until = 0;
	LWLockRelease(rb_ctl->lock);

	p->backoff_ms = RB_BACKOFF_MIN_MS;
	p->ping_at_ms = rb_mono_ms() + RB_PING_INTERVAL_MS;
	p->full_until_ms = 0;
	ereport(was_connected ? DEBUG1 : LOG,
			(errmsg("remote_buffer connected to peer %s", p->addr.name),
			 errdetail("Owner \"%s\", round trip %u us.", owner, rtt)));
}

/* Release (or, if its peer is unreachable, just forget) segment s. */
static void
rb_seg_release(int s)
{
	RbSegment  *seg = &rb_ctl->segments[s];
	int			i = seg->peer;
	rb_error	rc;

	if (rb_connected(&pc[i].conn))
	{
		rc = rb_lease_release(&pc[i].conn, seg->lease_id);
		if (rc != RB_OK && rb_request_failed(i, rc))
			return;				/* the peer's segments are gone already */
	}
	LWLockAcquire(rb_ctl->lock, LW_EXCLUSIVE);
	rb_seg_clear(seg);
	LWLockRelease(rb_ctl->lock);
}

/*
 * Peer i leaves the configuration: release its leases (bounded by the
 * request timeout), drop its segments and close its connection.
 */
static void
rb_peer_retire(int i, const char *name)
{
	int			released = 0;

	for (int s = 0; s < rb_ctl->nsegments; s++)
	{
		RbSegment  *seg = &rb_ctl->segments[s];

		if (seg->state == RB_SEG_ACTIVE && seg->peer == i)
		{
			rb_seg_release(s);
			released++;
		}
	}
	LWLockAcquire(rb_ctl->lock, LW_EXCLUSIVE);
	rb_seg_clear_peer(i);
	LWLockRelease(rb_ctl->lock);
	rb_close(&pc[i].conn);
	ereport(LOG,
			(errmsg("remote_buffer peer %s removed from remote_buffer.peers", name),
			 errdetail("%d segments given up.", released)));
}

/*
 * Apply the configuration: at start and after SIGHUP.  Peers that stay in
 * remote_buffer.peers keep their connection and state; the table follows
 * the order of the list.  A reload clears every quarantine, as the cause
 * may have been fixed.  A new secret makes every connection prove it.
 */
static void
rb_apply_config(void)
{
	RbPeerAddr	newp[RB_MAX_PEERS];
	int			from[RB_MAX_PEERS];
	RbPeerConn *oldpc;
	char		err[512];
	int			nnew;
	int			oldn = rb_ctl->npeers;

	if (!rb_parse_peers(rb_guc_peers, newp, &nnew, err, sizeof(err)))
	{
		/* the check hook accepted it, so this should not happen */
		ereport(WARNING,
				(errmsg("invalid remote_buffer.peers ignored"),
				 errdetail("%s", err)));
		nnew = 0;
	}

	/*
	 * The previous list is the one in shared memory: after a restart of
	 * this worker its segments may still point into it.  Peers that left
	 * it give their leases back first.
	 */
	for (int j = 0; j < nnew; j++)
	{
		from[j] = -1;
		for (int i = 0; i < oldn; i++)
			if (strcmp(rb_ctl->peers[i].name, newp[j].name) == 0)
				from[j] = i;
	}
	for (int i = 0; i < oldn; i++)
	{
		bool		kept = false;

		for (int j = 0; j < nnew; j++)
			kept |= from[j] == i;
		if (!kept)
			rb_peer_retire(i, rb_ctl->peers[i].name);
	}

	oldpc = palloc(sizeof(RbPeerConn) * RB_MAX_PEERS);
	memcpy(oldpc, pc, sizeof(RbPeerConn) * RB_MAX_PEERS);
	for (int j = 0; j < RB_MAX_PEERS; j++)
	{
		if (j < nnew && from[j] >= 0)
			pc[j] = oldpc[from[j]];
		else
		{
			memset(&pc[j], 0, sizeof(RbPeerConn));
			rb_conn_init(&pc[j].conn);
		}
		if (j >= nnew)
			continue;
		pc[j].addr = newp[j];
		pc[j].backoff_ms = RB_BACKOFF_MIN_MS;
		pc[j].retry_at_ms = 0;
		pc[j].full_until_ms = 0;
	}
	pfree(oldpc);
	npeers = nnew;
	wanted = nnew > 0 ? Min(rb_segments_wanted(), rb_ctl->nsegments) : 0;
	rb_shmem_set_peers(newp, nnew, from, wanted);

	if (rb_guc_size_mb > rb_guc_max_size_mb)
		ereport(WARNING,
				(errmsg("remote_buffer.size (%d MB) exceeds remote_buffer.max_size (%d MB)",
						rb_guc_size_mb, rb_guc_max_size_mb),
				 errdetail("The remote tier is limited to %d segments of %d MB.",
						   wanted, rb_guc_lease_size_mb),
				 errhint("Raising remote_buffer.max_size requires a restart.")));
	if (rb_guc_lease_ttl_ms < 3 * rb_guc_io_timeout_ms)
		ereport(WARNING,
				(errmsg("remote_buffer.lease_ttl (%d ms) is less than three times remote_buffer.io_timeout (%d ms)",
						rb_guc_lease_ttl_ms, rb_guc_io_timeout_ms),
				 errdetail("Leases are renewed after a third of their time to live; a renewal that takes as long as the timeout may come too late.")));

	if (rb_secret_reload(&secret))
		for (int j = 0; j < npeers; j++)
			pc[j].reauth = rb_connected(&pc[j].conn);
	for (int j = 0; j < npeers; j++)
		rb_set_timeout(&pc[j].conn, rb_guc_io_timeout_ms);
}

/* Connected peer for a new lease: fewest segments, rotating on ties. */
static int
rb_pick_peer(const int *nleases, int64 now)
{
	static int	rr = 0;
	int			best = -1;

	for (int k = 0; k < npeers; k++)
	{
		int			i = (rr + k) % npeers;

		if (!rb_peer_up(i) || pc[i].reauth || now < pc[i].full_until_ms)
			continue;
		if (best < 0 || nleases[i] < nleases[best])
			best = i;
	}
	if (best >= 0)
		rr = (best + 1) % npeers;
	return best;
}

/* Acquire leases for the empty segments below "wanted". */
static void
rb_fill(void)
{
	uint64		bytes = rb_ctl->segment_bytes;
	int			nleases[RB_MAX_PEERS] = {0};

	for (int s = 0; s < rb_ctl->nsegments; s++)
		if (rb_ctl->segments[s].state == RB_SEG_ACTIVE)
			nleases[rb_ctl->segments[s].peer]++;

	for (int s = 0; s < wanted && !ShutdownRequestPending; s++)
	{
		RbSegment  *seg = &rb_ctl->segments[s];

		while (seg->state == RB_SEG_EMPTY && !ShutdownRequestPending)
		{
			int64		t0 = rb_mono_ms();
			TimestampTz w0 = GetCurrentTimestamp();
			int			i = rb_pick_peer(nleases, t0);
			rb_lease_info li;
			rb_error	rc;

			if (i < 0)
				return;			/* no peer can take one now */
			rc = rb_lease_acquire(&pc[i].conn, bytes, bytes,
								  (uint32) rb_guc_lease_ttl_ms, &li);
			if (rc == RB_OK && li.ttl_ms < RB_MIN_GRANT_TTL_MS)
			{
				char		msg[RB_ERRMSG_LEN];

				/* could not be renewed in time: do not spin on it */
				snprintf(msg, sizeof(msg),
						 "rbufd at %s granted a lease for only %u ms (check its --max-ttl)",
						 pc[i].addr.name, li.ttl_ms);
				rc = rb_lease_release(&pc[i].conn, li.lease_id);
				if (rc != RB_OK && rb_request_failed(i, rc))
				{
					s = -1;
					break;
				}
				pc[i].full_until_ms = t0 + RB_FULL_RETRY_MS;
				rb_peer_note_error(i, msg);
			}
			else if (rc == RB_OK)
			{
				LWLockAcquire(rb_ctl->lock, LW_EXCLUSIVE);
				rb_seg_install(seg, i, li.lease_id, li.bytes);
				rb_seg_set_times(seg, t0, w0, li.ttl_ms);
				LWLockRelease(rb_ctl->lock);
				nleases[i]++;
				ereport(DEBUG1,
						(errmsg_internal("remote_buffer segment %d: lease %016llx on %s",
										 s, (unsigned long long) li.lease_id,
										 pc[i].addr.name)));
			}
			else if (rb_request_failed(i, rc))
			{
				/* its segments were dropped: start over from the first */
				nleases[i] = 0;
				s = -1;
				break;
			}
			else
			{
				/* no space, a limit, ...: leave this peer alone a while */
				pc[i].full_until_ms = t0 + RB_FULL_RETRY_MS;
				rb_peer_note_error(i, rb_errmsg(&pc[i].conn));
			}
		}
	}
}

/* Renew due leases; drop those past their deadline. */
static void
rb_renew(void)
{
	for (int s = 0; s < rb_ctl->nsegments && !ShutdownRequestPending; s++)
	{
		RbSegment  *seg = &rb_ctl->segments[s];
		int64		t0 = rb_mono_ms();
		TimestampTz w0;
		rb_lease_info li;
		rb_error	rc;
		int			i = seg->peer;
		char		msg[RB_ERRMSG_LEN];

		if (seg->state != RB_SEG_ACTIVE)
			continue;
		if (t0 >= seg->deadline_ms && seg->deadline_ms != 0)
		{
			snprintf(msg, sizeof(msg),
					 "lease %016llx of segment %d expired before it could be renewed",
					 (unsigned long long) seg->lease_id, s);
			LWLockAcquire(rb_ctl->lock, LW_EXCLUSIVE);
			rb_seg_clear(seg);
			LWLockRelease(rb_ctl->lock);
			rb_peer_note_error(i, msg);
			ereport(WARNING, (errmsg("remote_buffer %s", msg)));
			continue;
		}
		if (t0 < seg->renew_at_ms || !rb_peer_up(i))
			continue;

		w0 = GetCurrentTimestamp();
		rc = rb_lease_renew(&pc[i].conn, seg->lease_id,
							(uint32) rb_guc_lease_ttl_ms, &li);
		if (rc == RB_OK)
		{
			LWLockAcquire(rb_ctl->lock, LW_EXCLUSIVE);
			seg->renewals++;
			rb_seg_set_times(seg, t0, w0, li.ttl_ms);
			LWLockRelease(rb_ctl->lock);
		}
		else if (!rb_request_failed(i, rc))
		{
			snprintf(msg, sizeof(msg),
					 "could not renew lease %016llx of segment %d: %s",
					 (unsigned long long) seg->lease_id, s,
					 rb_errmsg(&pc[i].conn));
			LWLockAcquire(rb_ctl->lock, LW_EXCLUSIVE);
			rb_seg_clear(seg);
			LWLockRelease(rb_ctl->lock);
			rb_peer_note_error(i, msg);
			ereport(WARNING, (errmsg("remote_buffer %s", msg)));
		}
	}
}

/* One round of work; see the file header. */
static void
rb_round(void)
{
	int			released = 0;

	/* 1. shrink: release the highest segments first */
	for (int s = rb_ctl->nsegments - 1; s >= wanted && !ShutdownRequestPending; s--)
	{
		if (rb_ctl->segments[s].state != RB_SEG_ACTIVE)
			continue;
		rb_seg_release(s);
		released++;
	}
	if (released > 0)
		ereport(LOG,
				(errmsg("remote_buffer released %d leases, keeping %d segments",
						released, wanted)));

	/* 2. no remote tier: stay disconnected */
	if (wanted == 0)
	{
		for (int i = 0; i < npeers; i++)
		{
			rb_close(&pc[i].conn);
			if (rb_ctl->peers[i].state != RB_PEER_IDLE)
				rb_peer_set_state(i, RB_PEER_IDLE);
		}
		return;
	}

	/* 3. connect peers that are due, reconnect after a secret change */
	for (int i = 0; i < npeers && !ShutdownRequestPending; i++)
	{
		if (pc[i].reauth ||
			(!rb_connected(&pc[i].conn) && rb_mono_ms() >= pc[i].retry_at_ms))
			rb_peer_connect(i);
	}

	/* 4. renew, 5. grow, 6. ping */
	rb_renew();
	rb_fill();
	for (int i = 0; i < npeers && !ShutdownRequestPending; i++)
	{
		uint32		rtt;
		rb_error	rc;

		if (!rb_peer_up(i) || rb_mono_ms() < pc[i].ping_at_ms)
			continue;
		pc[i].ping_at_ms = rb_mono_ms() + RB_PING_INTERVAL_MS;
		rc = rb_ping(&pc[i].conn, &rtt);
		if (rc == RB_OK)
		{
			LWLockAcquire(rb_ctl->lock, LW_EXCLUSIVE);
			rb_ctl->peers[i].rtt_us = rtt;
			LWLockRelease(rb_ctl->lock);
		}
		else if (!rb_request_failed(i, rc))
			rb_peer_note_error(i, rb_errmsg(&pc[i].conn));
	}
}

/* Milliseconds until something is due, 1..RB_MAX_SLEEP_MS. */
static long
rb_sleep_ms(void)
{
	int64		now = rb_mono_ms();
	int64		next = now + RB_MAX_SLEEP_MS;
	bool		pending = false;

	for (int s = 0; s < rb_ctl->nsegments; s++)
	{
		RbSegment  *seg = &rb_ctl->segments[s];

		if (seg->state == RB_SEG_ACTIVE && rb_peer_up(seg->peer))
			next = Min(next, Min(seg->renew_at_ms, seg->deadline_ms));
		else if (seg->state == RB_SEG_ACTIVE)
			next = Min(next, seg->deadline_ms); /* peer not back yet */
		else if (s < wanted)
			pending = true;
	}
	for (int i = 0; i < npeers && wanted > 0; i++)
	{
		if (!rb_connected(&pc[i].conn))
			next = Min(next, pc[i].retry_at_ms);
		else
		{
			next = Min(next, pc[i].ping_at_ms);
			if (pending)
				next = Min(next, pc[i].full_until_ms);
		}
	}
	return (long) Max(1, next - now);
}

/* SIGTERM: release every lease within RB_SHUTDOWN_MAX_MS at most. */
static void
rb_release_all(void)
{
	int64		end = rb_mono_ms() + RB_SHUTDOWN_MAX_MS;
	int			released = 0;
	int			active = 0;

	for (int s = 0; s < rb_ctl->nsegments; s++)
	{
		RbSegment  *seg = &rb_ctl->segments[s];
		int64		left = end - rb_mono_ms();
		int			i = seg->peer;

		if (seg->state != RB_SEG_ACTIVE)
			continue;
		active++;
		if (left <= 0 || !rb_connected(&pc[i].conn))
			continue;
		rb_set_timeout(&pc[i].conn, (int) Min(left, rb_guc_io_timeout_ms));
		if (rb_lease_release(&pc[i].conn, seg->lease_id) == RB_OK)
			released++;
	}
	LWLockAcquire(rb_ctl->lock, LW_EXCLUSIVE);
	for (int s = 0; s < rb_ctl->nsegments; s++)
		rb_seg_clear(&rb_ctl->segments[s]);
	for (int i = 0; i < npeers; i++)
	{
		rb_close(&pc[i].conn);
		rb_ctl->peers[i].state = RB_PEER_IDLE;
		rb_ctl->peers[i].rtt_us = -1;
	}
	LWLockRelease(rb_ctl->lock);
	ereport(LOG,
			(errmsg("remote_buffer lease manager shutting down"),
			 errdetail("Released %d of %d leases; the others expire on their own.",
					   released, active)));
}

static void
rb_worker_exit(int code, Datum arg)
{
	/* no lock: we may be exiting because of an error while holding it */
	rb_ctl->worker_latch = NULL;
	rb_ctl->worker_pid = 0;
}

void
rb_lease_worker_main(Datum main_arg)
{
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();

	if (rb_ctl == NULL)
		proc_exit(0);			/* not preloaded: nothing to manage */

	pc = MemoryContextAllocZero(TopMemoryContext,
								sizeof(RbPeerConn) * RB_MAX_PEERS);
	for (int i = 0; i < RB_MAX_PEERS; i++)
		rb_conn_init(&pc[i].conn);
	listbuf = MemoryContextAlloc(TopMemoryContext,
								 sizeof(rb_lease_info) * RB_LIST_MAX);
	rb_owner_name(owner, sizeof(owner));

	LWLockAcquire(rb_ctl->lock, LW_EXCLUSIVE);
	strlcpy(rb_ctl->owner, owner, sizeof(rb_ctl->owner));
	rb_ctl->worker_pid = MyProcPid;
	rb_ctl->worker_latch = MyLatch;
	/* a predecessor that died may have left states we no longer have */
	for (int i = 0; i < rb_ctl->npeers; i++)
		if (rb_ctl->peers[i].state == RB_PEER_CONNECTED)
			rb_ctl->peers[i].state = RB_PEER_CONNECTING;
	LWLockRelease(rb_ctl->lock);
	on_shmem_exit(rb_worker_exit, (Datum) 0);

	rb_apply_config();
	ereport(LOG,
			(errmsg("remote_buffer lease manager started"),
			 errdetail("Owner \"%s\"; %d of %d segments of %llu bytes wanted from %d peers.",
					   owner, wanted, rb_ctl->nsegments,
					   (unsigned long long) rb_ctl->segment_bytes, npeers)));

	while (!ShutdownRequestPending)
	{
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			rb_apply_config();
		}
		rb_round();
		if (ShutdownRequestPending || ConfigReloadPending)
			continue;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 rb_sleep_ms(), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}

	rb_release_all();

	/*
	 * Exit code 1: if someone else than the postmaster stopped us, we are
	 * started again after bgw_restart_time.
	 */
	proc_exit(1);
}
