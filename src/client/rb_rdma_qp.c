/*-------------------------------------------------------------------------
 *
 * rb_rdma_qp.c
 *	  Client library for rbufd, RDMA transport: setting up and tearing down
 *	  a connection's queue pair (RDMA CM address/route resolution, the
 *	  ticket from RDMA_INFO in the connect request, protection domain,
 *	  completion queue and channel, the registered bounce buffer).  The
 *	  data path that uses it is rb_transport_rdma.c.
 *
 * Every CM step waits on the event channel with ppoll() bounded by the
 * operation's deadline; every error path releases what was set up so far
 * (rbc_rdma_qp_down), so a failed attempt leaves nothing behind.
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

/* Release every verbs/CM resource of the queue pair (any subset). */
void
rbc_rdma_qp_down(rb_rdma *r)
{
	if (r->id != NULL && r->up)
		rdma_disconnect(r->id);
	r->up = false;
	if (r->id != NULL && r->id->qp != NULL)
		rdma_destroy_qp(r->id);
	if (r->mr != NULL)
		ibv_dereg_mr(r->mr);
	if (r->cq != NULL)
		ibv_destroy_cq(r->cq);	/* every event was acked when taken */
	if (r->cc != NULL)
		ibv_destroy_comp_channel(r->cc);
	if (r->pd != NULL)
		ibv_dealloc_pd(r->pd);
	if (r->id != NULL)
		rdma_destroy_id(r->id);
	if (r->ch != NULL)
		rdma_destroy_event_channel(r->ch);
	r->mr = NULL;
	r->cq = NULL;
	r->cc = NULL;
	r->pd = NULL;
	r->id = NULL;
	r->ch = NULL;
	r->info.qp_num = 0;
	r->info.remote_qp_num = 0;
}

static bool
set_nonblock(int fd)
{
	int			fl = fcntl(fd, F_GETFL);

	return fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

int
rbc_rdma_ms_left(int64_t deadline_ns)
{
	int64_t		left = (deadline_ns - rbc_now_ns()) / 1000000;

	return left < 1 ? 1 : (left > 60000 ? 60000 : (int) left);
}

/* Wait for the next CM event, which must be `want`; bounded. */
static rb_error
cm_wait(rb_conn *c, rb_rdma *r, enum rdma_cm_event_type want,
		int64_t deadline_ns)
{
	for (;;)
	{
		struct rdma_cm_event *ev;
		struct pollfd pfd;
		struct timespec ts;
		int64_t		left;

		if (rdma_get_cm_event(r->ch, &ev) == 0)
		{
			enum rdma_cm_event_type got = ev->event;
			int			status = ev->status;

			rdma_ack_cm_event(ev);
			if (got == want)
				return RB_OK;
			return rbc_fail(c, RB_E_CONNECT, false,
							"RDMA connection to rbufd at %s failed: %s (status %d) while waiting for %s",
							c->server, rdma_event_str(got), status,
							rdma_event_str(want));
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return rbc_fail(c, RB_E_SYSTEM, false,
							"could not read RDMA CM event for rbufd at %s: %s",
							c->server, strerror(errno));
		left = deadline_ns - rbc_now_ns();
		if (left <= 0)
			return rbc_fail(c, RB_E_TIMEOUT, false,
							"RDMA connection to rbufd at %s timed out waiting for %s",
							c->server, rdma_event_str(want));
		pfd.fd = r->ch->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		ts.tv_sec = (time_t) (left / 1000000000);
		ts.tv_nsec = (long) (left % 1000000000);
		(void) ppoll(&pfd, 1, &ts, NULL);
	}
}

#define QP_FAIL(what) \
	do { \
		rc = rbc_fail(c, RB_E_CONNECT, false, \
					  "could not %s for RDMA to rbufd at %s: %s", \
					  (what), c->server, strerror(errno)); \
		goto fail; \
	} while (0)

/*
 * Get a ticket over TCP and connect a queue pair to the server's RDMA CM
 * port at the TCP peer's address.  On failure everything is released and
 * the TCP connection is left as it is (closed only if RDMA_INFO broke it).
 */
static rb_error
qp_connect(rb_conn *c, rb_rdma *r, int64_t deadline_ns)
{
	uint8_t		reply[RB_RDMA_INFO_SIZE];
	uint8_t		priv[RB_RDMA_PRIV_SIZE];
	struct sockaddr_storage dst;
	socklen_t	dlen = sizeof(dst);
	struct ibv_device_attr dattr;
	struct ibv_qp_init_attr qa;
	struct ibv_qp_attr qattr;
	struct rdma_conn_param cp;
	rb_op		op;
	rb_error	rc;
	uint16_t	port;

	if ((rc = rbc_begin(c, &op, RB_OP_RDMA_INFO, "RDMA_INFO")) != RB_OK)
		return rc;
	if (op.deadline_ns > deadline_ns)
		op.deadline_ns = deadline_ns;
	if ((rc = rbc_simple_call(c, &op, NULL, 0, reply, sizeof(reply))) != RB_OK)
		return rc;
	port = rb_get_u16(reply);
	rb_put_u32(priv, RB_RDMA_PRIV_MAGIC);
	rb_put_u32(priv + 4, 0);
	memcpy(priv + 8, reply + 8, RB_RDMA_TICKET_LEN);

	/* The RDMA listener is at the address we reached over TCP. */
	if (getpeername(c->fd, (struct sockaddr *) &dst, &dlen) != 0)
		return rbc_fail(c, RB_E_SYSTEM, false,
						"could not get the address of rbufd at %s: %s",
						c->server, strerror(errno));
	if (dst.ss_family == AF_INET)
		((struct sockaddr_in *) &dst)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *) &dst)->sin6_port = htons(port);

	r->ch = rdma_create_event_channel();
	if (r->ch == NULL)
		QP_FAIL("create an RDMA CM event channel");
	if (!set_nonblock(r->ch->fd))
		QP_FAIL("make the RDMA CM event channel nonblocking");
	if (rdma_create_id(r->ch, &r->id, NULL, RDMA_PS_TCP) != 0)
		QP_FAIL("create an RDMA CM id");
	if (rdma_resolve_addr(r->id, NULL, (struct sockaddr *) &dst, rbc_rdma_ms_left(deadline_ns)) != 0)
		QP_FAIL("resolve the RDMA address");
	if ((rc = cm_wait(c, r, RDMA_CM_EVENT_ADDR_RESOLVED, deadline_ns)) != RB_OK)
		goto fail;
	if (rdma_resolve_route(r->id, rbc_rdma_ms_left(deadline_ns)) != 0)
		QP_FAIL("resolve the RDMA route");
	if ((rc = cm_wait(c, r, RDMA_CM_EVENT_ROUTE_RESOLVED, deadline_ns)) != RB_OK)
		goto fail;
	if (ibv_query_device(r->id->verbs, &dattr) != 0)
		QP_FAIL("query the RDMA device");
	r->pd = ibv_alloc_pd(r->id->verbs);
	if (r->pd == NULL)
		QP_FAIL("allocate a protection domain");
	r->cc = ibv_create_comp_channel(r->id->verbs);
	if (r->cc == NULL)
		QP_FAIL("create a completion channel");
	if (!set_nonblock(r->cc->fd))
		QP_FAIL("make the completion channel nonblocking");
	r->cq = ibv_create_cq(r->id->verbs, RB_RDMA_MAX_WR * 2, NULL, r->cc, 0);
	if (r->cq == NULL)
		QP_FAIL("create a completion queue");
	memset(&qa, 0, sizeof(qa));
	qa.send_cq = r->cq;
	qa.recv_cq = r->cq;
	qa.qp_type = IBV_QPT_RC;
	qa.cap.max_send_wr = RB_RDMA_MAX_WR;
	qa.cap.max_recv_wr = 1;
	qa.cap.max_send_sge = 1;
	qa.cap.max_recv_sge = 1;
	qa.sq_sig_all = 1;
	if (rdma_create_qp(r->id, r->pd, &qa) != 0)
		QP_FAIL("create a queue pair");
	r->mr = ibv_reg_mr(r->pd, r->bounce, RB_RDMA_BOUNCE, IBV_ACCESS_LOCAL_WRITE);
	if (r->mr == NULL)
		QP_FAIL("register the bounce buffer");

	memset(&cp, 0, sizeof(cp));
	cp.private_data = priv;
	cp.private_data_len = sizeof(priv);
	cp.initiator_depth = (uint8_t) (dattr.max_qp_init_rd_atom < RB_RDMA_MAX_RD_ATOM ?
									dattr.max_qp_init_rd_atom : RB_RDMA_MAX_RD_ATOM);
	cp.responder_resources = 0;
	/* A few transport retries: a dead peer must become an error soon. */
	cp.retry_count = 3;
	cp.rnr_retry_count = 0;
	if (rdma_connect(r->id, &cp) != 0)
		QP_FAIL("start the RDMA connection");
	if ((rc = cm_wait(c, r, RDMA_CM_EVENT_ESTABLISHED, deadline_ns)) != RB_OK)
		goto fail;
	r->up = true;
	r->info.qp_num = r->id->qp->qp_num;
	memset(&qattr, 0, sizeof(qattr));
	if (ibv_query_qp(r->id->qp, &qattr, IBV_QP_DEST_QPN, &qa) == 0)
		r->info.remote_qp_num = qattr.dest_qp_num;
	snprintf(r->info.device, sizeof(r->info.device), "%s",
			 ibv_get_device_name(r->id->verbs->device));
	return RB_OK;

fail:
	rbc_rdma_qp_down(r);
	return rc;
}

#undef QP_FAIL

/*
 * qp_connect, once more if the connect request was rejected before rbufd
 * saw it (seen now and then right after a device comes up) and time is
 * left: a fresh ticket, a fresh CM id.
 */
rb_error
rbc_rdma_qp_connect_retry(rb_conn *c, rb_rdma *r, int64_t deadline_ns)
{
	rb_error	rc = qp_connect(c, r, deadline_ns);

	if (rc == RB_E_CONNECT && c->rdma == r && c->fd >= 0 &&
		strstr(c->errmsg, "REJECTED") != NULL &&
		deadline_ns - rbc_now_ns() > INT64_C(100000000))
		rc = qp_connect(c, r, deadline_ns);
	return rc;
}

rb_error
rbc_rdma_attach(rb_conn *c, rb_transport_mode mode, int64_t deadline_ns)
{
	rb_rdma    *r;
	rb_error	rc;
	const char *why = NULL;
	int			saved_timeout;
	uint32_t	n;

	if (!(c->server_caps & RB_CAP_RDMA))
		why = "the server does not offer RDMA";
	else if (!rb_rdma_device_present())
		why = "there is no RDMA device on this host";
	if (why != NULL)
	{
		if (mode == RB_XPORT_RDMA)
			return rbc_fail(c, RB_E_CONNECT, true,
							"cannot use RDMA with rbufd at %s: %s", c->server, why);
		snprintf(c->rdma_note, sizeof(c->rdma_note), "%s", why);
		return RB_OK;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL || posix_memalign((void **) &r->bounce, 4096, RB_RDMA_BOUNCE) != 0)
	{
		free(r);
		return rbc_fail(c, RB_E_SYSTEM, true, "out of memory setting up RDMA");
	}
	c->rdma = r;
	rc = rbc_rdma_qp_connect_retry(c, r, deadline_ns);
	if (rc == RB_OK)
	{
		/* Learn this owner's leases (addresses and rkeys) right away. */
		saved_timeout = c->io_timeout_ms;
		c->io_timeout_ms = rbc_rdma_ms_left(deadline_ns);
		rc = rb_lease_list(c, NULL, 0, &n);
		c->io_timeout_ms = saved_timeout;
	}
	if (rc != RB_OK)
	{
		if (mode == RB_XPORT_AUTO && c->fd >= 0)
		{
			snprintf(c->rdma_note, sizeof(c->rdma_note), "%s", c->errmsg);
			c->errmsg[0] = '\0';
			rbc_rdma_free(c);
			return RB_OK;
		}
		return rc;
	}
	c->ops = &rbc_rdma_ops;
	return RB_OK;
}

void
rbc_rdma_free(rb_conn *c)
{
	rb_rdma    *r = c->rdma;

	if (r == NULL)
		return;
	c->rdma = NULL;
	rbc_rdma_qp_down(r);
	free(r->bounce);
	free(r);
}
