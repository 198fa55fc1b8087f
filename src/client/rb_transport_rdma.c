/*-------------------------------------------------------------------------
 *
 * rb_transport_rdma.c
 *	  Client library for rbufd, part 3: the RDMA data path.  Page reads
 *	  and writes become one-sided RDMA READ / WRITE work requests straight
 *	  into the lease's memory region on the server; the control operations
 *	  stay on the TCP connection.
 *
 * Per connection: one RC queue pair (RDMA CM, lazily re-created after an
 * error), one completion queue with a completion channel, and a small
 * registered bounce buffer (RB_RDMA_BOUNCE): caller buffers are not
 * registered, so pages are copied through it.  A batch posts up to
 * RB_RDMA_MAX_WR work requests in one ibv_post_send() and waits for all of
 * their completions.
 *
 * Finding the lease: READ/WRITE need the lease's remote address and rkey,
 * which the server sends in lease_info (acquire, renew, list) on the
 * authenticated TCP connection.  The connection caches them per lease; an
 * unknown lease triggers one LEASE_LIST.  Leases without an rkey (the
 * server could not register them), entries too large for the bounce
 * buffer, and a queue pair that cannot be re-created right now go over
 * TCP (rbc_tcp_ops), with what is left of the operation's deadline.
 *
 * Deadlines: completions are polled for a few microseconds, then waited
 * for on the completion channel with ppoll() bounded by the operation's
 * deadline (io_timeout_ms) -- never an unbounded busy loop.  When the
 * deadline passes with work requests outstanding, the queue pair is
 * destroyed before we return (so the device stops writing into the bounce
 * buffer) and the whole connection is closed, like a TCP timeout.
 *
 * Errors: a remote access error (the device refused the rkey: the lease
 * expired or was released and its region deregistered) is RB_E_REMOTE_ACCESS
 * -- never data; the lease is dropped from the cache and the queue pair,
 * now in the error state, is re-created at the next operation.  Retry
 * exhaustion (peer gone) closes the connection: RB_E_DISCONNECTED.
 *
 * Queue pair set-up and tear-down live in rb_rdma_qp.c, the types both
 * files share in rb_rdma_int.h.
 *
 * Allocation: setting up the queue pair allocates (librdmacm, libibverbs,
 * the bounce buffer) -- like name resolution, only inside rb_connect or a
 * re-connect; posting and polling do not allocate.
 *
 *-------------------------------------------------------------------------
 */
#include "rb_rdma_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* ---------- device presence ---------- */

bool
rb_rdma_device_present(void)
{
	/* -1 unknown, 0 no, 1 yes; a benign race only repeats the lookup. */
	static int	present = -1;
	int			p = __atomic_load_n(&present, __ATOMIC_RELAXED);

	if (p < 0)
	{
		int			n = 0;
		struct ibv_device **l = ibv_get_device_list(&n);

		p = (l != NULL && n > 0) ? 1 : 0;
		if (l != NULL)
			ibv_free_device_list(l);
		__atomic_store_n(&present, p, __ATOMIC_RELAXED);
	}
	return p == 1;
}

void
rb_rdma_get_info(const rb_conn *c, rb_rdma_info *info)
{
	memset(info, 0, sizeof(*info));
	if (c != NULL && c->rdma != NULL)
		*info = c->rdma->info;
}

/* ---------- lease cache ---------- */

static rdma_lease *
lease_find(rb_rdma *r, uint64_t id)
{
	for (int i = 0; i < RB_RDMA_MAX_LEASES; i++)
		if (r->leases[i].id == id && id != 0)
			return &r->leases[i];
	return NULL;
}

void
rbc_rdma_note_lease(rb_conn *c, const rb_lease_info *li)
{
	rb_rdma    *r = c->rdma;
	rdma_lease *l;

	if (r == NULL || li->lease_id == 0)
		return;
	l = lease_find(r, li->lease_id);
	for (int i = 0; l == NULL && i < RB_RDMA_MAX_LEASES; i++)
		if (r->leases[i].id == 0)
			l = &r->leases[i];
	if (l == NULL)
	{
		l = &r->leases[r->victim];
		r->victim = (r->victim + 1) % RB_RDMA_MAX_LEASES;
	}
	l->id = li->lease_id;
	l->addr = li->remote_addr;
	l->bytes = li->bytes;
	l->rkey = li->rkey;
}

void
rbc_rdma_forget_lease(rb_conn *c, uint64_t lease_id)
{
	rdma_lease *l;

	if (c->rdma != NULL && (l = lease_find(c->rdma, lease_id)) != NULL)
		memset(l, 0, sizeof(*l));
}

/* ---------- data path ---------- */

/*
 * Wait for n completions into wc, or the deadline.  Returns how many
 * arrived (n, or fewer at the deadline), -1 on a verbs failure.  Busy
 * polling is bounded by RB_RDMA_SPIN_NS, then we sleep on the completion
 * channel with ppoll() bounded by the deadline.
 */
static int
wait_cq(rb_rdma *r, struct ibv_wc *wc, int n, int64_t deadline_ns)
{
	int64_t		spin_end = rbc_now_ns() + RB_RDMA_SPIN_NS;
	bool		armed = false;
	int			got = 0;

	while (got < n)
	{
		int			k = ibv_poll_cq(r->cq, n - got, wc + got);
		int64_t		now;

		if (k < 0)
			return -1;
		if (k > 0)
		{
			got += k;
			continue;
		}
		now = rbc_now_ns();
		if (now >= deadline_ns)
			break;
		if (now < spin_end)
			continue;
		if (!armed)
		{
			/* Arm, then poll once more: a completion may have slipped in. */
			if (ibv_req_notify_cq(r->cq, 0) != 0)
				return -1;
			armed = true;
			continue;
		}
		{
			struct pollfd pfd;
			struct timespec ts;
			int64_t		left = deadline_ns - now;
			struct ibv_cq *ecq;
			void	   *ectx;

			pfd.fd = r->cc->fd;
			pfd.events = POLLIN;
			pfd.revents = 0;
			ts.tv_sec = (time_t) (left / 1000000000);
			ts.tv_nsec = (long) (left % 1000000000);
			if (ppoll(&pfd, 1, &ts, NULL) > 0 &&
				ibv_get_cq_event(r->cc, &ecq, &ectx) == 0)
			{
				ibv_ack_cq_events(ecq, 1);
				armed = false;
			}
		}
	}
	return got;
}

/* Queue pair usable?  Re-create it if it broke (not too often). */
static bool
ensure_qp(rb_conn *c, rb_rdma *r, int64_t deadline_ns)
{
	char		saved[sizeof(c->errmsg)];

	if (r->up)
		return true;
	if (rbc_now_ns() < r->retry_at_ns || c->fd < 0)
		return false;
	memcpy(saved, c->errmsg, sizeof(saved));
	rbc_rdma_qp_down(r);
	if (rbc_rdma_qp_connect_retry(c, r, deadline_ns) != RB_OK)
	{
		/* RDMA_INFO may have broken (closed) the connection: r is gone. */
		if (c->rdma != r)
			return false;
		/* Keep the reason for rb_errmsg if the TCP fallback works. */
		snprintf(c->rdma_note, sizeof(c->rdma_note), "%s", c->errmsg);
		memcpy(c->errmsg, saved, sizeof(saved));
		r->retry_at_ns = rbc_now_ns() + RB_RDMA_RETRY_NS;
		return false;
	}
	r->info.reconnects++;
	return true;
}

/* The cached region of a lease, asking the server once if unknown. */
static rdma_lease *
resolve_lease(rb_conn *c, rb_rdma *r, uint64_t id, int64_t deadline_ns)
{
	rdma_lease *l = lease_find(r, id);
	int			saved_timeout;
	uint32_t	n;

	if (l != NULL || c->fd < 0)
		return l;
	saved_timeout = c->io_timeout_ms;
	c->io_timeout_ms = rbc_rdma_ms_left(deadline_ns);
	(void) rb_lease_list(c, NULL, 0, &n);
	c->io_timeout_ms = saved_timeout;
	/* rb_lease_list may have closed the connection (and freed r). */
	if (c->rdma != r)
		return NULL;
	return lease_find(r, id);
}

/* One entry of a chunk to run. */
typedef struct rdma_ent
{
	rdma_lease *lease;
	uint64_t	offset;
	uint32_t	length;
	uint32_t	bounce_off;
	int			index;			/* caller's entry */
} rdma_ent;

/*
 * Post the chunk's work requests in one call and wait for every
 * completion.  RB_OK: all succeeded.  RB_FALLBACK: nothing was posted, use
 * TCP.  Otherwise an error with errmsg set (and the queue pair, or the
 * whole connection, torn down as the header comment says).
 */
static rb_error
run_chunk(rb_conn *c, rb_rdma *r, rdma_ent *e, int n, bool write,
		  int64_t deadline_ns, const char *what)
{
	struct ibv_send_wr wr[RB_RDMA_MAX_WR];
	struct ibv_sge sge[RB_RDMA_MAX_WR];
	struct ibv_wc wc[RB_RDMA_MAX_WR];
	struct ibv_send_wr *bad = NULL;
	int			got;
	int			timeout_ms = c->io_timeout_ms;

	for (int i = 0; i < n; i++)
	{
		sge[i].addr = (uint64_t) (uintptr_t) (r->bounce + e[i].bounce_off);
		sge[i].length = e[i].length;
		sge[i].lkey = r->mr->lkey;
		memset(&wr[i], 0, sizeof(wr[i]));
		wr[i].wr_id = (uint64_t) i;
		wr[i].sg_list = &sge[i];
		wr[i].num_sge = 1;
		wr[i].opcode = write ? IBV_WR_RDMA_WRITE : IBV_WR_RDMA_READ;
		wr[i].send_flags = IBV_SEND_SIGNALED;
		wr[i].wr.rdma.remote_addr = e[i].lease->addr + e[i].offset;
		wr[i].wr.rdma.rkey = e[i].lease->rkey;
		wr[i].next = i + 1 < n ? &wr[i + 1] : NULL;
	}
	if (ibv_post_send(r->id->qp, wr, &bad) != 0)
	{
		/*
		 * Some may have been posted before the failing one: the queue pair
		 * goes, which also stops them; the operation then runs over TCP.
		 */
		rbc_rdma_qp_down(r);
		r->retry_at_ns = 0;
		if (bad != NULL && bad != wr)
			return rbc_fail(c, RB_E_DISCONNECTED, false,
							"could not post RDMA %s to rbufd at %s", what, c->server);
		return RB_FALLBACK;
	}
	got = wait_cq(r, wc, n, deadline_ns);
	if (got < n)
	{
		/* Destroy the queue pair before the bounce buffer is reused. */
		rbc_rdma_qp_down(r);
		if (got < 0)
			return rbc_fail(c, RB_E_SYSTEM, true,
							"could not poll RDMA completions for rbufd at %s; connection closed",
							c->server);
		return rbc_fail(c, RB_E_TIMEOUT, true,
						"rbufd at %s did not complete RDMA %s within %d ms (%d of %d completions); connection closed",
						c->server, what, timeout_ms, got, n);
	}
	for (int i = 0; i < n; i++)
	{
		enum ibv_wc_status st = wc[i].status;
		int			k = (int) wc[i].wr_id;

		if (st == IBV_WC_SUCCESS)
			continue;
		/* Flushed requests follow the one that failed: report that one. */
		if (st == IBV_WC_WR_FLUSH_ERR)
		{
			for (int j = i + 1; j < n; j++)
				if (wc[j].status != IBV_WC_SUCCESS &&
					wc[j].status != IBV_WC_WR_FLUSH_ERR)
				{
					st = wc[j].status;
					k = (int) wc[j].wr_id;
					break;
				}
		}
		rbc_rdma_qp_down(r);	/* it is in the error state now */
		r->retry_at_ns = 0;
		if (st == IBV_WC_REM_ACCESS_ERR && k >= 0 && k < n)
		{
			uint64_t	id = e[k].lease->id;

			memset(e[k].lease, 0, sizeof(*e[k].lease));
			return rbc_fail(c, RB_E_REMOTE_ACCESS, false,
							"rbufd at %s refused RDMA %s of lease %016llx: %s (the lease expired or was released)",
							c->server, what, (unsigned long long) id,
							ibv_wc_status_str(st));
		}
		if (st == IBV_WC_WR_FLUSH_ERR)
			return rbc_fail(c, RB_E_DISCONNECTED, false,
							"RDMA %s to rbufd at %s was flushed: the queue pair failed; it will be re-created",
							what, c->server);
		return rbc_fail(c, RB_E_DISCONNECTED, true,
						"RDMA %s to rbufd at %s failed: %s; connection closed",
						what, c->server, ibv_wc_status_str(st));
	}
	for (int i = 0; i < n; i++)
		if (write)
			r->info.writes++;
		else
			r->info.reads++;
	return RB_OK;
}

/* Run a TCP operation with what is left of the deadline. */
#define TCP_FALLBACK(call) \
	do { \
		int			saved_ = c->io_timeout_ms; \
		rb_error	rc_; \
		r->info.fallbacks++; \
		c->io_timeout_ms = rbc_rdma_ms_left(deadline_ns); \
		rc_ = (call); \
		c->io_timeout_ms = saved_; \
		return rc_; \
	} while (0)

static rb_error
rdma_rw(rb_conn *c, uint64_t lease_id, uint64_t offset, void *buf,
		uint32_t length, bool write)
{
	rb_rdma    *r = c->rdma;
	int64_t		deadline_ns = rbc_now_ns() + (int64_t) c->io_timeout_ms * 1000000;
	rdma_ent	e;
	rb_error	rc;

	if (r == NULL || c->fd < 0 || buf == NULL || length == 0 ||
		length > RB_RDMA_BOUNCE)
		return write ? rbc_tcp_ops.write(c, lease_id, offset, buf, length)
			: rbc_tcp_ops.read(c, lease_id, offset, buf, length);
	c->errmsg[0] = '\0';
	e.lease = resolve_lease(c, r, lease_id, deadline_ns);
	if (c->rdma != r)			/* the connection broke meanwhile */
		return RB_E_DISCONNECTED;
	if (e.lease == NULL || e.lease->addr == 0 || !ensure_qp(c, r, deadline_ns))
	{
		if (write)
			TCP_FALLBACK(rbc_tcp_ops.write(c, lease_id, offset, buf, length));
		TCP_FALLBACK(rbc_tcp_ops.read(c, lease_id, offset, buf, length));
	}
	if (!rb_range_ok(offset, length, e.lease->bytes))
		return rbc_fail(c, RB_E_OUT_OF_RANGE, false,
						"offset %llu length %u outside lease %016llx of %llu bytes",
						(unsigned long long) offset, length,
						(unsigned long long) lease_id,
						(unsigned long long) e.lease->bytes);
	e.offset = offset;
	e.length = length;
	e.bounce_off = 0;
	e.index = 0;
	if (write)
		memcpy(r->bounce, buf, length);
	rc = run_chunk(c, r, &e, 1, write, deadline_ns, write ? "WRITE" : "READ");
	if (rc == RB_FALLBACK)
	{
		if (write)
			TCP_FALLBACK(rbc_tcp_ops.write(c, lease_id, offset, buf, length));
		TCP_FALLBACK(rbc_tcp_ops.read(c, lease_id, offset, buf, length));
	}
	if (rc == RB_OK && !write)
		memcpy(buf, r->bounce, length);
	return rc;
}

static rb_error
rdma_read(rb_conn *c, uint64_t lease_id, uint64_t offset, void *buf,
		  uint32_t length)
{
	return rdma_rw(c, lease_id, offset, buf, length, false);
}

static rb_error
rdma_write(rb_conn *c, uint64_t lease_id, uint64_t offset, const void *buf,
		   uint32_t length)
{
	return rdma_rw(c, lease_id, offset, (void *) buf, length, true);
}

/*
 * Batches: entries go out in chunks of up to RB_RDMA_MAX_WR work requests
 * and RB_RDMA_BOUNCE bytes, each chunk posted with one call.  Like the
 * TCP batch, the result is RB_OK with a status per entry (out-of-range
 * entries are refused locally), or an error for the whole batch.
 */
static rb_error
rdma_batch(rb_conn *c, rb_iov *iov, int n, bool write)
{
	rb_rdma    *r = c->rdma;
	int64_t		deadline_ns = rbc_now_ns() + (int64_t) c->io_timeout_ms * 1000000;
	rdma_ent	ents[RB_RDMA_MAX_WR];
	const char *what = write ? "WRITEV" : "READV";
	int			nfail = 0;
	int			first_fail = -1;
	int			i = 0;

	if (r == NULL || c->fd < 0 || iov == NULL || n < 1 || (uint32_t) n > RB_MAX_BATCH)
		return write ? rbc_tcp_ops.writev(c, iov, n) : rbc_tcp_ops.readv(c, iov, n);
	for (int k = 0; k < n; k++)
		if (iov[k].buf == NULL || iov[k].length == 0 || iov[k].length > RB_RDMA_BOUNCE)
			return write ? rbc_tcp_ops.writev(c, iov, n) : rbc_tcp_ops.readv(c, iov, n);
	c->errmsg[0] = '\0';
	/* Every lease must have a region, else the whole batch goes by TCP. */
	for (int k = 0; k < n; k++)
	{
		rdma_lease *l = resolve_lease(c, r, iov[k].lease_id, deadline_ns);

		if (c->rdma != r)
		{
			for (int j = 0; j < n; j++)
				iov[j].status = RB_E_DISCONNECTED;
			return RB_E_DISCONNECTED;
		}
		if (l == NULL || l->addr == 0)
		{
			if (write)
				TCP_FALLBACK(rbc_tcp_ops.writev(c, iov, n));
			TCP_FALLBACK(rbc_tcp_ops.readv(c, iov, n));
		}
	}
	if (!ensure_qp(c, r, deadline_ns))
	{
		if (write)
			TCP_FALLBACK(rbc_tcp_ops.writev(c, iov, n));
		TCP_FALLBACK(rbc_tcp_ops.readv(c, iov, n));
	}

	while (i < n)
	{
		int			m = 0;
		uint32_t	used = 0;
		rb_error	rc;

		/* Fill one chunk. */
		for (; i < n && m < RB_RDMA_MAX_WR; i++)
		{
			rdma_lease *l = lease_find(r, iov[i].lease_id);

			if (used + iov[i].length > RB_RDMA_BOUNCE)
				break;
			if (l == NULL || !rb_range_ok(iov[i].offset, iov[i].length, l->bytes))
			{
				iov[i].status = l == NULL ? RB_E_NO_LEASE : RB_E_OUT_OF_RANGE;
				if (nfail++ == 0)
					first_fail = i;
				continue;
			}
			ents[m].lease = l;
			ents[m].offset = iov[i].offset;
			ents[m].length = iov[i].length;
			ents[m].bounce_off = used;
			ents[m].index = i;
			if (write)
				memcpy(r->bounce + used, iov[i].buf, iov[i].length);
			used += iov[i].length;
			m++;
		}
		if (m == 0)
			continue;
		rc = run_chunk(c, r, ents, m, write, deadline_ns, what);
		if (rc == RB_FALLBACK)
			rc = rbc_fail(c, RB_E_DISCONNECTED, false,
						  "RDMA queue pair to rbufd at %s failed during %s",
						  c->server, what);
		if (rc != RB_OK)
		{
			for (int j = 0; j < n; j++)
				iov[j].status = rc;
			return rc;
		}
		for (int j = 0; j < m; j++)
		{
			if (!write)
				memcpy(iov[ents[j].index].buf, r->bounce + ents[j].bounce_off,
					   ents[j].length);
			iov[ents[j].index].status = RB_OK;
		}
	}
	if (nfail > 0)
		snprintf(c->errmsg, sizeof(c->errmsg),
				 "rbufd at %s: %d of %d %s entries failed, the first (entry %d) with: %s",
				 c->server, nfail, n, what, first_fail,
				 rb_error_name(iov[first_fail].status));
	return RB_OK;
}

static rb_error
rdma_readv(rb_conn *c, rb_iov *iov, int n)
{
	return rdma_batch(c, iov, n, false);
}

static rb_error
rdma_writev(rb_conn *c, rb_iov *iov, int n)
{
	return rdma_batch(c, iov, n, true);
}

const rb_data_ops rbc_rdma_ops = {
	"rdma", rdma_read, rdma_write, rdma_readv, rdma_writev
};
