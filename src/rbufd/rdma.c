/*-------------------------------------------------------------------------
 *
 * rdma.c
 *	  rbufd's RDMA side (rdma.h): memory regions per lease, tickets, and the
 *	  RDMA CM listener thread.
 *
 * Memory regions.  Every lease is registered as its own region with remote
 * read and write access, so the rkey handed to the client reaches exactly
 * that lease's bytes; the device enforces the bounds.  The store calls
 * mr_reg when it grants a lease and mr_dereg when it reclaims one, before
 * the memory is zeroed (store.c, reclaim_finish): after that the old rkey
 * is refused by the device (the client sees a remote access error, never
 * data).  All regions and queue pairs share one protection domain: owner
 * isolation rests on rkeys, which only authenticated connections of the
 * owner ever receive, and on queue pairs being created only for holders of
 * a ticket (below) -- the same trust model as the TCP side (docs/rbufd.md,
 * "Security model").
 *
 * Tickets.  RDMA_INFO, answered only on authenticated connections, hands
 * out a random 16-byte ticket.  A connect request must carry one in its
 * private data; it is used up, and expires after RB_RDMA_TICKET_TTL_MS.
 *
 * The listener thread waits on the CM event channel and a stop pipe with
 * poll(); it creates a queue pair for each admitted connect request and
 * destroys it when the client disconnects.  rbufd never posts work
 * requests: the queue pairs only answer the clients' one-sided operations.
 *
 *-------------------------------------------------------------------------
 */
#include "rdma.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include "config.h"
#include "log.h"
#include "rb_auth.h"
#include "rb_protocol.h"
#include "server.h"
#include "store.h"
#include "util.h"

#define MAX_TICKETS		256
#define LISTEN_BACKLOG	128
#define SERVER_CQ_SIZE	64

typedef struct ticket
{
	uint8_t		bytes[RB_RDMA_TICKET_LEN];
	uint64_t	expires_at;		/* monotonic ms; 0 = free slot */
	uint16_t	owner_len;
	char		owner[RB_MAX_OWNER_LEN + 1];
} ticket;

/* One accepted (or being accepted) client queue pair. */
typedef struct rconn
{
	struct rconn *next;
	struct rdma_cm_id *id;
	char		owner[RB_MAX_OWNER_LEN + 1];
	char		peer[64];
	bool		established;
} rconn;

struct rbd_rdma
{
	struct rdma_event_channel *ch;
	struct rdma_cm_id *listen_id;
	struct ibv_context *ctx;	/* owned by librdmacm */
	struct ibv_pd *pd;
	struct ibv_cq *cq;			/* shared by all server queue pairs */
	int			max_rd_atom;
	int			port;
	int			numa_node;
	char		device[64];

	pthread_t	thread;
	bool		running;
	int			stop_pipe[2];

	pthread_mutex_t lock;		/* tickets */
	ticket		tickets[MAX_TICKETS];

	rconn	   *conns;			/* listener thread only */
	uint32_t	nconns;
	_Atomic uint64_t mrs;		/* registered lease regions */
};

/* ---------- memory regions ---------- */

static void *
mr_reg(void *ctx, void *addr, uint64_t len, uint32_t *rkey)
{
	rbd_rdma   *r = ctx;
	struct ibv_mr *mr;

	mr = ibv_reg_mr(r->pd, addr, (size_t) len,
					IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ |
					IBV_ACCESS_REMOTE_WRITE);
	if (mr == NULL)
	{
		/* The lease is still granted; clients use TCP for it. */
		rbd_warning("could not register %" PRIu64 " bytes of lease memory for RDMA: %s; the lease is served over TCP only",
					len, strerror(errno));
		return NULL;
	}
	*rkey = mr->rkey;
	atomic_fetch_add(&r->mrs, 1);
	rbd_info("registered RDMA memory region of %" PRIu64 " bytes at 0x%" PRIxPTR " (rkey 0x%08x)",
			 len, (uintptr_t) addr, mr->rkey);
	return mr;
}

static void
mr_dereg(void *ctx, void *handle)
{
	rbd_rdma   *r = ctx;
	struct ibv_mr *mr = handle;
	uint32_t	rkey = mr->rkey;
	int			rc;

	rc = ibv_dereg_mr(mr);
	atomic_fetch_sub(&r->mrs, 1);
	if (rc != 0)
		rbd_error("could not deregister RDMA memory region (rkey 0x%08x): %s",
				  rkey, strerror(rc));
	else
		rbd_info("deregistered RDMA memory region (rkey 0x%08x)", rkey);
}

/* ---------- tickets ---------- */

static bool
ticket_issue(void *arg, const char *owner, size_t owner_len, uint8_t *out,
			 uint16_t *port)
{
	rbd_rdma   *r = arg;
	uint64_t	now = rbd_mono_ms();
	ticket	   *t = NULL;

	if (owner_len > RB_MAX_OWNER_LEN || !rb_random_bytes(out, RB_RDMA_TICKET_LEN))
		return false;
	pthread_mutex_lock(&r->lock);
	for (int i = 0; i < MAX_TICKETS; i++)
		if (r->tickets[i].expires_at <= now)
		{
			t = &r->tickets[i];
			break;
		}
	if (t != NULL)
	{
		memcpy(t->bytes, out, RB_RDMA_TICKET_LEN);
		t->expires_at = now + RB_RDMA_TICKET_TTL_MS;
		memcpy(t->owner, owner, owner_len);
		t->owner[owner_len] = '\0';
		t->owner_len = (uint16_t) owner_len;
	}
	pthread_mutex_unlock(&r->lock);
	*port = (uint16_t) r->port;
	return t != NULL;
}

/* Constant time: a timing probe must not find a ticket byte by byte. */
static bool
ticket_equal(const uint8_t *a, const uint8_t *b)
{
	uint8_t		d = 0;

	for (int i = 0; i < RB_RDMA_TICKET_LEN; i++)
		d |= (uint8_t) (a[i] ^ b[i]);
	return d == 0;
}

/* Use up a ticket; returns whether it was valid, and its owner. */
static bool
ticket_take(rbd_rdma *r, const uint8_t *bytes, char *owner)
{
	uint64_t	now = rbd_mono_ms();
	bool		ok = false;

	pthread_mutex_lock(&r->lock);
	for (int i = 0; i < MAX_TICKETS; i++)
	{
		ticket	   *t = &r->tickets[i];

		if (t->expires_at > now && ticket_equal(t->bytes, bytes))
		{
			memcpy(owner, t->owner, (size_t) t->owner_len + 1);
			memset(t, 0, sizeof(*t));
			ok = true;
			break;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return ok;
}

/* ---------- open / close ---------- */

static int
device_numa_node(const char *dev)
{
	char		path[256];
	FILE	   *f;
	int			node = -1;

	snprintf(path, sizeof(path), "/sys/class/infiniband/%s/device/numa_node", dev);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	if (fscanf(f, "%d", &node) != 1)
		node = -1;
	fclose(f);
	return node;
}

/* The listen address for the RDMA listener: --listen's first address. */
static bool
listen_addr(const rbd_config *cfg, struct sockaddr_storage *ss, char *err,
			size_t errlen)
{
	struct addrinfo hints;
	struct addrinfo *res = NULL;
	char		portstr[16];
	const char *host = strcmp(cfg->listen, "*") == 0 ? NULL : cfg->listen;
	int			rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", cfg->rdma_port);
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0 || res == NULL)
	{
		snprintf(err, errlen, "could not resolve listen address \"%s\" for RDMA: %s",
				 cfg->listen, rc != 0 ? gai_strerror(rc) : "no address");
		return false;
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return true;
}

/* Pick the verbs context: the listen address's device, or by name/first. */
static struct ibv_context *
pick_device(rbd_rdma *r, const rbd_config *cfg, char *err, size_t errlen)
{
	struct ibv_context **devs;
	struct ibv_context *ctx = NULL;
	int			n = 0;

	if (r->listen_id->verbs != NULL)
	{
		ctx = r->listen_id->verbs;
		if (cfg->rdma_device[0] != '\0' &&
			strcmp(ibv_get_device_name(ctx->device), cfg->rdma_device) != 0)
		{
			snprintf(err, errlen,
					 "listen address \"%s\" belongs to RDMA device %s, not --rdma-device %s",
					 cfg->listen, ibv_get_device_name(ctx->device), cfg->rdma_device);
			return NULL;
		}
		return ctx;
	}
	devs = rdma_get_devices(&n);
	for (int i = 0; devs != NULL && i < n && ctx == NULL; i++)
		if (cfg->rdma_device[0] == '\0' ||
			strcmp(ibv_get_device_name(devs[i]->device), cfg->rdma_device) == 0)
			ctx = devs[i];
	if (devs != NULL)
		rdma_free_devices(devs);	/* the contexts stay open in librdmacm */
	if (ctx == NULL)
		snprintf(err, errlen, "RDMA device %s not found",
				 cfg->rdma_device[0] ? cfg->rdma_device : "(any)");
	return ctx;
}

rbd_rdma *
rbd_rdma_open(const rbd_config *cfg, bool *unavailable, char *err,
			  size_t errlen)
{
	rbd_rdma   *r;
	struct ibv_context **devs;
	struct ibv_device_attr attr;
	struct sockaddr_storage ss;
	int			ndev = 0;
	int			flags;

	*unavailable = false;
	devs = rdma_get_devices(&ndev);
	if (devs != NULL)
		rdma_free_devices(devs);
	if (devs == NULL || ndev == 0)
	{
		*unavailable = true;
		snprintf(err, errlen, "no RDMA device found");
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
	{
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->stop_pipe[0] = r->stop_pipe[1] = -1;
	pthread_mutex_init(&r->lock, NULL);

	if (!listen_addr(cfg, &ss, err, errlen))
		goto fail;
	r->ch = rdma_create_event_channel();
	if (r->ch == NULL)
	{
		snprintf(err, errlen, "could not create RDMA CM event channel: %s", strerror(errno));
		goto fail;
	}
	flags = fcntl(r->ch->fd, F_GETFL);
	if (flags < 0 || fcntl(r->ch->fd, F_SETFL, flags | O_NONBLOCK) < 0)
	{
		snprintf(err, errlen, "could not make RDMA CM event channel nonblocking: %s",
				 strerror(errno));
		goto fail;
	}
	if (rdma_create_id(r->ch, &r->listen_id, r, RDMA_PS_TCP) != 0)
	{
		snprintf(err, errlen, "could not create RDMA CM id: %s", strerror(errno));
		goto fail;
	}
	if (rdma_bind_addr(r->listen_id, (struct sockaddr *) &ss) != 0)
	{
		/* Typically: the listen address is on no RDMA device. */
		*unavailable = errno == ENODEV || errno == EADDRNOTAVAIL;
		snprintf(err, errlen, "could not bind RDMA listener to \"%s\" port %d: %s",
				 cfg->listen, cfg->rdma_port, strerror(errno));
		goto fail;
	}
	r->ctx = pick_device(r, cfg, err, errlen);
	if (r->ctx == NULL)
		goto fail;
	snprintf(r->device, sizeof(r->device), "%s", ibv_get_device_name(r->ctx->device));
	r->numa_node = device_numa_node(r->device);
	if (ibv_query_device(r->ctx, &attr) != 0)
	{
		snprintf(err, errlen, "could not query RDMA device %s", r->device);
		goto fail;
	}
	r->max_rd_atom = attr.max_qp_rd_atom;
	r->pd = ibv_alloc_pd(r->ctx);
	if (r->pd == NULL)
	{
		snprintf(err, errlen, "could not allocate protection domain on %s: %s",
				 r->device, strerror(errno));
		goto fail;
	}
	r->cq = ibv_create_cq(r->ctx, SERVER_CQ_SIZE, NULL, NULL, 0);
	if (r->cq == NULL)
	{
		snprintf(err, errlen, "could not create completion queue on %s: %s",
				 r->device, strerror(errno));
		goto fail;
	}
	if (rdma_listen(r->listen_id, LISTEN_BACKLOG) != 0)
	{
		snprintf(err, errlen, "could not listen for RDMA connections: %s", strerror(errno));
		goto fail;
	}
	r->port = ntohs(rdma_get_src_port(r->listen_id));
	return r;

fail:
	rbd_rdma_close(r);
	return NULL;
}

int
rbd_rdma_numa_node(const rbd_rdma *r)
{
	return r->numa_node;
}

const char *
rbd_rdma_device(const rbd_rdma *r)
{
	return r->device;
}

int
rbd_rdma_port(const rbd_rdma *r)
{
	return r->port;
}

void
rbd_rdma_attach(rbd_rdma *r, rbd_server *srv, rbd_store *store)
{
	rbd_store_mr_hooks h;

	h.reg = mr_reg;
	h.dereg = mr_dereg;
	h.ctx = r;
	rbd_store_set_mr_hooks(store, &h);
	srv->rdma = r;
	srv->rdma_ticket = ticket_issue;
	srv->server_caps |= RB_CAP_RDMA;
}

/* ---------- the listener thread ---------- */

static void
conn_destroy(rbd_rdma *r, rconn *rc)
{
	rconn	  **pp;

	for (pp = &r->conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == rc)
		{
			*pp = rc->next;
			r->nconns--;
			break;
		}
	if (rc->id->qp != NULL)
		rdma_destroy_qp(rc->id);
	rdma_destroy_id(rc->id);
	free(rc);
}

static void
peer_name(struct rdma_cm_id *id, char *buf, size_t len)
{
	struct sockaddr *sa = rdma_get_peer_addr(id);
	char		host[64] = "?";

	if (sa != NULL && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *) sa)->sin_addr, host, sizeof(host));
	else if (sa != NULL && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *) sa)->sin6_addr, host, sizeof(host));
	snprintf(buf, len, "%s", host);
}

/*
 * A connect request: check the ticket, create the queue pair, accept.
 * Returns false if the id must be destroyed (after the event is acked).
 */
static bool
on_connect_request(rbd_rdma *r, struct rdma_cm_event *ev)
{
	struct rdma_cm_id *id = ev->id;
	const uint8_t *pd = ev->param.conn.private_data;
	struct ibv_qp_init_attr qa;
	struct rdma_conn_param cp;
	rconn	   *rc;
	char		owner[RB_MAX_OWNER_LEN + 1];
	char		peer[64];

	peer_name(id, peer, sizeof(peer));
	if (id->verbs != r->ctx)
	{
		rbd_warning("rejecting RDMA connection from %s: it arrived on another RDMA device than %s",
					peer, r->device);
		rdma_reject(id, NULL, 0);
		return false;
	}
	if (pd == NULL || ev->param.conn.private_data_len < RB_RDMA_PRIV_SIZE ||
		rb_get_u32(pd) != RB_RDMA_PRIV_MAGIC || !ticket_take(r, pd + 8, owner))
	{
		rbd_warning("rejecting RDMA connection from %s: no valid ticket (get one with RDMA_INFO over an authenticated connection)",
					peer);
		rdma_reject(id, NULL, 0);
		return false;
	}
	rc = calloc(1, sizeof(*rc));
	if (rc == NULL)
	{
		rdma_reject(id, NULL, 0);
		return false;
	}
	memset(&qa, 0, sizeof(qa));
	qa.send_cq = r->cq;
	qa.recv_cq = r->cq;
	qa.qp_type = IBV_QPT_RC;
	qa.cap.max_send_wr = 1;
	qa.cap.max_recv_wr = 1;
	qa.cap.max_send_sge = 1;
	qa.cap.max_recv_sge = 1;
	if (rdma_create_qp(id, r->pd, &qa) != 0)
	{
		rbd_error("could not create RDMA queue pair for %s: %s", peer, strerror(errno));
		rdma_reject(id, NULL, 0);
		free(rc);
		return false;
	}
	memset(&cp, 0, sizeof(cp));
	/*
	 * Serve as many outstanding RDMA READs as the client wants, if we can.
	 * The event's parameters are already from our side's point of view:
	 * its responder_resources is the client's initiator depth.
	 */
	cp.responder_resources = ev->param.conn.responder_resources;
	if (cp.responder_resources > r->max_rd_atom)
		cp.responder_resources = (uint8_t) r->max_rd_atom;
	cp.initiator_depth = 0;
	cp.rnr_retry_count = 7;
	if (rdma_accept(id, &cp) != 0)
	{
		rbd_error("could not accept RDMA connection from %s: %s", peer, strerror(errno));
		rdma_destroy_qp(id);
		free(rc);
		return false;
	}
	rc->id = id;
	snprintf(rc->owner, sizeof(rc->owner), "%s", owner);
	snprintf(rc->peer, sizeof(rc->peer), "%s", peer);
	id->context = rc;
	rc->next = r->conns;
	r->conns = rc;
	r->nconns++;
	return true;
}

static void
on_event(rbd_rdma *r, struct rdma_cm_event *ev)
{
	struct rdma_cm_id *id = ev->id;
	enum rdma_cm_event_type type = ev->event;
	rconn	   *rc = (id != r->listen_id) ? id->context : NULL;
	bool		keep;

	rbd_debug("RDMA CM event %s (status %d)", rdma_event_str(type), ev->status);

	switch (type)
	{
		case RDMA_CM_EVENT_CONNECT_REQUEST:
			keep = on_connect_request(r, ev);
			rdma_ack_cm_event(ev);
			/* The child id can only go once its event is acknowledged. */
			if (!keep)
				rdma_destroy_id(id);
			return;
		case RDMA_CM_EVENT_ESTABLISHED:
			if (rc != NULL)
			{
				rc->established = true;
				rbd_info("RDMA connection from %s established for owner \"%s\" (queue pair %u, %u RDMA connections)",
						 rc->peer, rc->owner, id->qp ? id->qp->qp_num : 0, r->nconns);
			}
			rdma_ack_cm_event(ev);
			return;
		case RDMA_CM_EVENT_DISCONNECTED:
		case RDMA_CM_EVENT_REJECTED:
		case RDMA_CM_EVENT_UNREACHABLE:
		case RDMA_CM_EVENT_CONNECT_ERROR:
			rdma_ack_cm_event(ev);
			if (rc != NULL)
			{
				rbd_info("RDMA connection from %s (owner \"%s\", queue pair %u) closed: %s",
						 rc->peer, rc->owner, id->qp ? id->qp->qp_num : 0,
						 rdma_event_str(type));
				conn_destroy(r, rc);
			}
			return;
		case RDMA_CM_EVENT_DEVICE_REMOVAL:
			rbd_error("RDMA device %s is being removed; RDMA clients will fall back to TCP",
					  r->device);
			rdma_ack_cm_event(ev);
			return;
		default:
			rbd_debug("RDMA CM event %s", rdma_event_str(type));
			rdma_ack_cm_event(ev);
			return;
	}
}

static void *
listener_main(void *arg)
{
	rbd_rdma   *r = arg;

	for (;;)
	{
		struct pollfd pfd[2];
		struct rdma_cm_event *ev;
		int			n;

		pfd[0].fd = r->ch->fd;
		pfd[0].events = POLLIN;
		pfd[0].revents = 0;
		pfd[1].fd = r->stop_pipe[0];
		pfd[1].events = POLLIN;
		pfd[1].revents = 0;
		n = poll(pfd, 2, -1);
		if (n < 0 && errno != EINTR)
		{
			rbd_error("RDMA listener: poll failed: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents != 0)
			break;
		/* The channel is nonblocking: drain what is there. */
		while (rdma_get_cm_event(r->ch, &ev) == 0)
			on_event(r, ev);
	}
	return NULL;
}

bool
rbd_rdma_start(rbd_rdma *r, char *err, size_t errlen)
{
	if (pipe2(r->stop_pipe, O_CLOEXEC) != 0)
	{
		snprintf(err, errlen, "could not create pipe: %s", strerror(errno));
		return false;
	}
	if (pthread_create(&r->thread, NULL, listener_main, r) != 0)
	{
		snprintf(err, errlen, "could not start RDMA listener thread");
		return false;
	}
	r->running = true;
	return true;
}

void
rbd_rdma_stop(rbd_rdma *r)
{
	if (r == NULL)
		return;
	if (r->running)
	{
		ssize_t		w;

		do
			w = write(r->stop_pipe[1], "x", 1);
		while (w < 0 && errno == EINTR);
		pthread_join(r->thread, NULL);
		r->running = false;
	}
	while (r->conns != NULL)
	{
		rdma_disconnect(r->conns->id);
		conn_destroy(r, r->conns);
	}
}

void
rbd_rdma_close(rbd_rdma *r)
{
	if (r == NULL)
		return;
	rbd_rdma_stop(r);
	if (r->listen_id != NULL)
		rdma_destroy_id(r->listen_id);
	/* Every lease region is gone by now (rbd_store_destroy). */
	if (r->cq != NULL)
		ibv_destroy_cq(r->cq);
	if (r->pd != NULL && ibv_dealloc_pd(r->pd) != 0)
		rbd_error("could not free RDMA protection domain (%" PRIu64 " regions left)",
				  (uint64_t) atomic_load(&r->mrs));
	if (r->ch != NULL)
		rdma_destroy_event_channel(r->ch);
	for (int i = 0; i < 2; i++)
		if (r->stop_pipe[i] >= 0)
			close(r->stop_pipe[i]);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
