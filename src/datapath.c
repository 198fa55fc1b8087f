/*-------------------------------------------------------------------------
 *
 * datapath.c
 *	  Remote reads and admissions of the remote_buffer data path, and the
 *	  per-process connections they use.
 *
 * Each process lazily opens its own connection to a peer the first time it
 * needs one (rb_conn lives in static storage; the client library allocates
 * nothing).  A connection that fails is closed and the peer is quarantined
 * for this process with exponential backoff, so a dead peer costs one
 * bounded attempt per backoff period rather than one per page.  The shared
 * secret is re-read before every connection attempt, which picks up a
 * changed remote_buffer.secret_file after a reload.
 *
 * Remote I/O is reported as the wait event Extension.
 *
 * The functions at the end are the wrappers' side (intercept.c): the read
 * path (remote hit, or storage read and admission) and the invalidations
 * around writes, extensions, truncations and unlinks.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <time.h>

#include "pgstat.h"
#include "utils/wait_event.h"

#include "rb_client.h"

#include "datapath.h"
#include "guc.h"
#include "intercept.h"
#include "shmem.h"
#include "stats.h"

#define RB_BACKOFF_MIN_MS	100
#define RB_BACKOFF_MAX_MS	10000

typedef struct RbDpConn
{
	rb_conn		conn;
	bool		initialized;
	char		name[RB_PEER_NAME_LEN]; /* peer this connection is for */
	int64		retry_at_ms;	/* quarantined until then */
	int			backoff_ms;
	int			mode;			/* rb_transport_mode it was opened with */
} RbDpConn;

static RbDpConn rb_conns[RB_MAX_PEERS];
static RbSecret rb_dp_secret;
static char rb_dp_owner[RB_OWNER_LEN];

static int64
rb_dp_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Quarantine a peer for this process after a failure. */
static void
rb_dp_quarantine(RbDpConn *c)
{
	c->backoff_ms = c->backoff_ms == 0 ? RB_BACKOFF_MIN_MS :
		Min(c->backoff_ms * 2, RB_BACKOFF_MAX_MS);
	c->retry_at_ms = rb_dp_now_us() / 1000 + c->backoff_ms;
	if (rb_connected(&c->conn))
		rb_close(&c->conn);
}

/* Count a failed remote operation; quarantine when the connection died. */
static void
rb_dp_failed(RbDpConn *c, rb_error e)
{
	rb_stat_add(RB_STAT_FALLBACKS, 1);
	if (e == RB_E_TIMEOUT)
		rb_stat_add(RB_STAT_TIMEOUTS, 1);
	if (!rb_connected(&c->conn) || e == RB_E_NO_LEASE ||
		e == RB_E_LEASE_EXPIRED || e == RB_E_REMOTE_ACCESS)
		rb_dp_quarantine(c);
}

/*
 * Publish the data path this process got for peer p in the peers view, if
 * it differs from what is shown (the lease worker's guess).
 */
static void
rb_dp_note_transport(int p, const rb_conn *conn)
{
	int			t = strcmp(rb_conn_transport(conn), "rdma") == 0 ?
		RB_TRANSPORT_RDMA : RB_TRANSPORT_TCP;

	if (rb_ctl->peers[p].transport == t)	/* unlocked peek: an int */
		return;
	LWLockAcquire(rb_ctl->lock, LW_EXCLUSIVE);
	rb_ctl->peers[p].transport = t;
	LWLockRelease(rb_ctl->lock);
}

/*
 * A connected rb_conn for peer index p, or NULL (quarantined, not
 * connected by the lease manager, or the attempt failed).
 */
static RbDpConn *
rb_dp_conn(int p)
{
	RbDpConn   *c;
	char		name[RB_PEER_NAME_LEN];
	RbPeerState state;
	RbPeerAddr	addrs[1];
	int			n = 0;
	char		err[64];
	rb_client_opts opts;
	rb_error	e;

	if (p < 0 || p >= RB_MAX_PEERS)
		return NULL;
	c = &rb_conns[p];
	if (!c->initialized)
	{
		rb_conn_init(&c->conn);
		c->initialized = true;
		c->name[0] = '\0';
	}

	LWLockAcquire(rb_ctl->lock, LW_SHARED);
	strlcpy(name, rb_ctl->peers[p].name, sizeof(name));
	state = rb_ctl->peers[p].state;
	if (rb_dp_owner[0] == '\0')
		strlcpy(rb_dp_owner, rb_ctl->owner, sizeof(rb_dp_owner));
	LWLockRelease(rb_ctl->lock);

	/* the peer table changed under us: this connection is for another */
	if (strcmp(name, c->name) != 0)
	{
		if (rb_connected(&c->conn))
			rb_close(&c->conn);
		strlcpy(c->name, name, sizeof(c->name));
		c->retry_at_ms = 0;
		c->backoff_ms = 0;
	}
	/* remote_buffer.transport changed (reload): reopen with the new one */
	if (rb_connected(&c->conn) && c->mode != rb_client_transport_mode())
		rb_close(&c->conn);
	if (rb_connected(&c->conn))
		return c;
	if (state != RB_PEER_CONNECTED || rb_dp_owner[0] == '\0')
		return NULL;
	if (rb_dp_now_us() / 1000 < c->retry_at_ms)
		return NULL;

	/* one entry of the peers syntax: "host:port" or "[v6]:port" */
	if (!rb_parse_peers(name, addrs, &n, err, sizeof(err)) || n != 1)
	{
		rb_dp_quarantine(c);
		return NULL;
	}

	(void) rb_secret_reload(&rb_dp_secret);
	if (!rb_dp_secret.ok)
	{
		rb_dp_quarantine(c);
		return NULL;
	}

	memset(&opts, 0, sizeof(opts));
	opts.host = addrs[0].host;
	opts.port = addrs[0].port;
	opts.secret = rb_dp_secret.len > 0 ? rb_dp_secret.bytes : NULL;
	opts.secret_len = rb_dp_secret.len;
	opts.owner = rb_dp_owner;
	opts.connect_timeout_ms = rb_connect_timeout_ms();
	opts.io_timeout_ms = rb_guc_io_timeout_ms;
	opts.transport = (rb_transport_mode) rb_client_transport_mode();
	c->mode = opts.transport;

	pgstat_report_wait_start(PG_WAIT_EXTENSION);
	e = rb_connect(&c->conn, &opts);
	pgstat_report_wait_end();
	if (e != RB_OK)
	{
		if (e == RB_E_TIMEOUT)
			rb_stat_add(RB_STAT_TIMEOUTS, 1);
		rb_dp_quarantine(c);
		return NULL;
	}
	c->backoff_ms = 0;
	rb_dp_note_transport(p, &c->conn);
	return c;
}

bool
rb_dp_read(const RbPageTag *tag, char *buffer)
{
	RbDirRef	ref;
	RbDpConn   *c;
	rb_error	e;
	int64		t0;
	bool		crc_failed;

	if (!rb_dir_lookup(tag, &ref))
		return false;
	c = rb_dp_conn(ref.peer);
	if (c == NULL)
		return false;

	rb_set_timeout(&c->conn, rb_guc_io_timeout_ms);
	t0 = rb_dp_now_us();
	pgstat_report_wait_start(PG_WAIT_EXTENSION);
	e = rb_read(&c->conn, ref.lease_id, ref.offset, buffer, BLCKSZ);
	pgstat_report_wait_end();
	rb_stat_latency(RB_HIST_REMOTE_READ, (uint64) (rb_dp_now_us() - t0));
	if (e != RB_OK)
	{
		rb_dp_failed(c, e);
		return false;
	}
	rb_stat_add(RB_STAT_BYTES_READ, BLCKSZ);

	if (!rb_dir_recheck(tag, &ref, buffer, &crc_failed))
	{
		if (crc_failed)
			rb_stat_add(RB_STAT_VERIFY_FAILURES, 1);
		return false;
	}
	return true;
}

void
rb_dp_admit(const RbPageTag *tag, const RbDirSnapshot *snap, uint64 blk_gen,
			const char *page)
{
	RbDirRef	ref;
	RbDpConn   *c;
	rb_error	e;
	int64		t0;

	/*
	 * Send and checksum one private snapshot of the page.  A buffer being
	 * flushed can still change under us: without data checksums PostgreSQL
	 * writes straight from the shared buffer, and other backends may set
	 * hint bits in it under a share lock meanwhile.  Hashing the live buffer
	 * after sending it let remote bytes and CRC disagree (caught by the
	 * read-side check as a verify failure, seen once in the core regression
	 * suite).
	 */
	static PGAlignedBlock copy;

	memcpy(copy.data, page, BLCKSZ);
	page = copy.data;

	if (!rb_dir_claim(&ref))
		return;
	c = rb_dp_conn(ref.peer);
	if (c == NULL)
	{
		rb_dir_abandon(&ref);
		return;
	}

	rb_set_timeout(&c->conn, rb_guc_io_timeout_ms);
	t0 = rb_dp_now_us();
	pgstat_report_wait_start(PG_WAIT_EXTENSION);
	e = rb_write(&c->conn, ref.lease_id, ref.offset, page, BLCKSZ);
	pgstat_report_wait_end();
	rb_stat_latency(RB_HIST_REMOTE_WRITE, (uint64) (rb_dp_now_us() - t0));
	if (e != RB_OK)
	{
		rb_dp_failed(c, e);
		rb_dir_abandon(&ref);
		return;
	}
	rb_stat_add(RB_STAT_BYTES_WRITTEN, BLCKSZ);
	rb_dir_publish(tag, &ref, snap, blk_gen, page);
	rb_stat_add(RB_STAT_ADMISSIONS, 1);
}

/* Is the remote tier to be used for this relation at all? */
static inline bool
rb_tier_for(RelFileNodeBackend rnode)
{
	return !RelFileNodeBackendIsTemp(rnode) && rb_dir_any_active();
}

static inline void
rb_tag_init(RbPageTag *tag, RelFileNode rnode, ForkNumber forknum,
			BlockNumber blocknum)
{
	memset(tag, 0, sizeof(*tag));
	tag->rnode = rnode;
	tag->forknum = forknum;
	tag->blocknum = blocknum;
}

/*
 * Bump a relation's generation (all forks), keeping errno intact.  Only
 * the bump before the change is counted as an invalidation.
 */
void
rb_dp_inval_rel(RelFileNodeBackend rnode, bool count)
{
	int			save_errno = errno;

	if (!RelFileNodeBackendIsTemp(rnode))
	{
		rb_dir_invalidate_rel(rnode.node);
		if (count)
			rb_stat_add(RB_STAT_INVALIDATIONS, 1);
	}
	errno = save_errno;
}

void
rb_dp_inval_block(RelFileNodeBackend rnode, ForkNumber forknum,
				  BlockNumber blocknum, bool count)
{
	if (!RelFileNodeBackendIsTemp(rnode))
	{
		rb_dir_invalidate_block(rnode.node, forknum, blocknum);
		if (count)
			rb_stat_add(RB_STAT_INVALIDATIONS, 1);
	}
}

/*
 * After a block was written to storage: invalidate again (a concurrent
 * read may have admitted the previous contents), then admit the new one.
 */
void
rb_dp_after_write(SMgrRelation reln, ForkNumber forknum,
				  BlockNumber blocknum, const char *buffer)
{
	RbPageTag	tag;
	RbDirSnapshot snap;
	uint64		blk_gen;

	rb_dp_inval_block(reln->smgr_rnode, forknum, blocknum, false);
	if (!rb_intercept_enabled || !rb_tier_for(reln->smgr_rnode))
		return;
	rb_tag_init(&tag, reln->smgr_rnode.node, forknum, blocknum);
	rb_dir_snapshot(tag.rnode, &snap);
	blk_gen = rb_dir_block_gen(&tag);
	rb_dp_admit(&tag, &snap, blk_gen, buffer);
}

/*
 * A read in a wrapper: serve it from the remote tier, or read it from
 * storage with mdread and admit it.
 */
void
rb_dp_smgr_read(SMgrRelation reln, ForkNumber forknum, BlockNumber blocknum,
				char *buffer, rb_md_read_fn mdread)
{
	RbPageTag	tag;
	RbDirSnapshot snap;
	uint64		blk_gen;
	int64		t0;

	if (!rb_tier_for(reln->smgr_rnode))
	{
		mdread(reln, forknum, blocknum, buffer);
		return;
	}
	rb_tag_init(&tag, reln->smgr_rnode.node, forknum, blocknum);
	if (rb_dp_read(&tag, buffer))
	{
		rb_stat_add(RB_STAT_HITS, 1);
		return;
	}
	rb_stat_add(RB_STAT_MISSES, 1);

	/* generations first, then storage, then admission */
	rb_dir_snapshot(tag.rnode, &snap);
	blk_gen = rb_dir_block_gen(&tag);
	t0 = rb_dp_now_us();
	mdread(reln, forknum, blocknum, buffer);
	rb_stat_latency(RB_HIST_STORAGE_READ, (uint64) (rb_dp_now_us() - t0));
	rb_dp_admit(&tag, &snap, blk_gen, buffer);
}
