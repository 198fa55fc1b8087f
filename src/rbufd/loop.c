/*-------------------------------------------------------------------------
 *
 * loop.c
 *	  rbufd networking.
 *
 * One accept thread waits on the listening sockets and hands each new
 * connection, round-robin, to one of --threads I/O threads through a
 * mutex-protected queue and an eventfd.  Each I/O thread owns its
 * connections outright (no locking on them) and runs its own level-
 * triggered epoll: EPOLLIN while the connection wants input, EPOLLOUT
 * while it has output pending.  Sockets are nonblocking with TCP_NODELAY.
 *
 * After a fatal reply (bad frame, failed auth...) the reply is flushed,
 * our side shut down, and input discarded until the peer closes or a
 * short deadline passes: closing at once with unread input would send a
 * RST that can destroy the reply before the client reads it.
 *
 *-------------------------------------------------------------------------
 */
#include "loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"

#define MAX_LISTEN		8
#define READ_BUDGET		(4 * 1024 * 1024)	/* per wakeup, for fairness */
#define DRAIN_MS		2000	/* linger after a fatal reply */
#define DRAIN_MAX		(1024 * 1024)
#define CLOSING_MS		5000	/* give up flushing a fatal reply */
#define SWEEP_MS		200

typedef struct io_thread io_thread;

typedef struct io_conn
{
	rbd_conn   *c;
	int			fd;
	uint32_t	events;			/* current epoll interest */
	bool		eof;			/* peer shut down its side */
	bool		draining;		/* fatal reply sent, discarding input */
	uint64_t	deadline;		/* draining/closing: close by then */
	size_t		drained;
	struct io_conn *prev;
	struct io_conn *next;
} io_conn;

struct io_thread
{
	rbd_loop   *loop;
	int			index;
	pthread_t	tid;
	bool		started;
	int			epfd;
	int			wakefd;
	pthread_mutex_t qlock;
	io_conn    *queue;			/* handed over, not yet adopted */
	io_conn    *conns;
	_Atomic bool stop;
};

struct rbd_loop
{
	rbd_server *srv;
	int			nlisten;
	int			listen_fds[MAX_LISTEN];
	int			port;
	char		addresses[512];

	int			accept_epfd;
	int			accept_wakefd;
	pthread_t	accept_tid;
	bool		accept_started;
	_Atomic bool stop;

	int			nthreads;
	io_thread  *threads;
	unsigned	next_thread;
};

static void
format_addr(const struct sockaddr *sa, char *buf, size_t len, bool with_port)
{
	char		host[INET6_ADDRSTRLEN];
	int			port = 0;

	host[0] = '\0';
	if (sa->sa_family == AF_INET)
	{
		const struct sockaddr_in *in = (const struct sockaddr_in *) sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		if (with_port)
			snprintf(buf, len, "%s:%d", host, port);
		else
			snprintf(buf, len, "%s", host);
	}
	else if (sa->sa_family == AF_INET6)
	{
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		if (with_port)
			snprintf(buf, len, "[%s]:%d", host, port);
		else
			snprintf(buf, len, "%s", host);
	}
	else
		snprintf(buf, len, "(unknown address family %d)", sa->sa_family);
}

static bool
is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *) sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6)
	{
		const struct in6_addr *a = &((const struct sockaddr_in6 *) sa)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) ||
			(IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

static bool
listen_all(rbd_loop *l, const rbd_config *cfg, bool *bad_config,
		   char *err, size_t errlen)
{
	struct addrinfo hints;
	struct addrinfo *res;
	struct addrinfo *ai;
	char		portstr[16];
	const char *host = strcmp(cfg->listen, "*") == 0 ? NULL : cfg->listen;
	char		lasterr[256] = "";
	int			r;
	size_t		n = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", cfg->port);
	r = getaddrinfo(host, portstr, &hints, &res);
	if (r != 0)
	{
		snprintf(err, errlen, "could not resolve listen address \"%s\": %s",
				 cfg->listen, gai_strerror(r));
		return false;
	}
	if (cfg->insecure_no_auth)
		for (ai = res; ai != NULL; ai = ai->ai_next)
			if (!is_loopback(ai->ai_addr))
			{
				char		a[INET6_ADDRSTRLEN + 8];

				format_addr(ai->ai_addr, a, sizeof(a), false);
				snprintf(err, errlen,
						 "--insecure-no-auth only allows loopback listen addresses, but --listen \"%s\" includes %s",
						 cfg->listen, a);
				*bad_config = true;
				freeaddrinfo(res);
				return false;
			}

	l->port = cfg->port;
	for (ai = res; ai != NULL && l->nlisten < MAX_LISTEN; ai = ai->ai_next)
	{
		int			fd;
		int			one = 1;
		char		a[INET6_ADDRSTRLEN + 8];

		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		/* With --port 0, every address gets the port the first one got. */
		if (ai->ai_family == AF_INET)
			((struct sockaddr_in *) ai->ai_addr)->sin_port = htons((uint16_t) l->port);
		else
			((struct sockaddr_in6 *) ai->ai_addr)->sin6_port = htons((uint16_t) l->port);
		format_addr(ai->ai_addr, a, sizeof(a), false);

		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
		{
			snprintf(lasterr, sizeof(lasterr), "could not create socket for %s: %s",
					 a, strerror(errno));
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0)
		{
			snprintf(lasterr, sizeof(lasterr), "could not bind to %s port %d: %s",
					 a, l->port, strerror(errno));
			close(fd);
			continue;
		}
		if (listen(fd, 1024) != 0)
		{
			snprintf(lasterr, sizeof(lasterr), "could not listen on %s port %d: %s",
					 a, l->port, strerror(errno));
			close(fd);
			continue;
		}
		if (l->port == 0)
		{
			struct sockaddr_storage ss;
			socklen_t	sl = sizeof(ss);

			if (getsockname(fd, (struct sockaddr *) &ss, &sl) == 0)
				l->port = ntohs(ss.ss_family == AF_INET ?
								((struct sockaddr_in *) &ss)->sin_port :
								((struct sockaddr_in6 *) &ss)->sin6_port);
		}
		l->listen_fds[l->nlisten++] = fd;
		r = snprintf(l->addresses + n, sizeof(l->addresses) - n, "%s%s",
					 n ? ", " : "", a);
		if (r > 0 && (size_t) r < sizeof(l->addresses) - n)
			n += (size_t) r;
	}
	freeaddrinfo(res);
	if (l->nlisten == 0)
	{
		snprintf(err, errlen, "%s", lasterr[0] ? lasterr :
				 "could not listen: no usable address");
		return false;
	}
	if (lasterr[0])
		rbd_warning("%s", lasterr);
	return true;
}

rbd_loop *
rbd_loop_create(rbd_server *srv, const rbd_config *cfg, bool *bad_config,
				char *err, size_t errlen)
{
	rbd_loop   *l = calloc(1, sizeof(*l));

	if (l == NULL)
	{
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->srv = srv;
	l->accept_epfd = -1;
	l->accept_wakefd = -1;
	l->nthreads = cfg->threads;
	*bad_config = false;
	if (!listen_all(l, cfg, bad_config, err, errlen))
	{
		free(l);
		return NULL;
	}
	return l;
}

int
rbd_loop_port(const rbd_loop *l)
{
	return l->port;
}

const char *
rbd_loop_addresses(const rbd_loop *l)
{
	return l->addresses;
}

/* ---------- I/O threads ---------- */

static void
conn_close(io_thread *t, io_conn *ic, const char *why)
{
	if (why != NULL)
		rbd_debug("connection from %s closed: %s", ic->c->peer, why);
	if (ic->prev != NULL)
		ic->prev->next = ic->next;
	else
		t->conns = ic->next;
	if (ic->next != NULL)
		ic->next->prev = ic->prev;
	close(ic->fd);				/* also leaves the epoll set */
	rbd_conn_destroy(ic->c);
	free(ic);
}

static bool
set_interest(io_thread *t, io_conn *ic, uint32_t ev)
{
	struct epoll_event e;

	if (ev == ic->events)
		return true;
	e.events = ev;
	e.data.ptr = ic;
	if (epoll_ctl(t->epfd, EPOLL_CTL_MOD, ic->fd, &e) != 0)
		return false;
	ic->events = ev;
	return true;
}

/* Returns false if the connection is gone. */
static bool
do_read(io_thread *t, io_conn *ic)
{
	size_t		budget = READ_BUDGET;

	while (budget > 0 && !ic->eof)
	{
		uint8_t		scratch[16384];
		uint8_t    *p;
		size_t		space;
		ssize_t		n;

		if (ic->draining || ic->c->closing)
		{
			p = scratch;
			space = sizeof(scratch);
		}
		else if (rbd_conn_want_input(ic->c))
			space = rbd_conn_in_space(ic->c, &p);
		else
			break;
		n = read(ic->fd, p, space);
		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_close(t, ic, strerror(errno));
			return false;
		}
		if (n == 0)
		{
			ic->eof = true;
			break;
		}
		budget -= (size_t) n < budget ? (size_t) n : budget;
		if (ic->draining || ic->c->closing)
		{
			ic->drained += (size_t) n;
			if (ic->drained > DRAIN_MAX)
			{
				conn_close(t, ic, "peer kept sending after a fatal error");
				return false;
			}
			continue;
		}
		rbd_conn_in_commit(ic->c, (size_t) n);
		rbd_conn_process(ic->c);
	}
	return true;
}

/* Returns false if the connection is gone. */
static bool
do_write(io_thread *t, io_conn *ic)
{
	for (;;)
	{
		const uint8_t *p;
		size_t		len = rbd_conn_out_pending(ic->c, &p);
		ssize_t		n;

		if (len == 0)
		{
			/* Room again: handle requests that were held back. */
			if (ic->c->closing || ic->c->failed)
				return true;
			rbd_conn_process(ic->c);
			if (rbd_conn_out_pending(ic->c, &p) == 0)
				return true;
			continue;
		}
		n = send(ic->fd, p, len, MSG_NOSIGNAL);
		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			conn_close(t, ic, strerror(errno));
			return false;
		}
		rbd_conn_out_consume(ic->c, (size_t) n);
		if (!ic->c->closing && !ic->c->failed &&
			rbd_conn_out_pending(ic->c, &p) < RBD_OUT_HIGH)
			rbd_conn_process(ic->c);
	}
}

/* Handle readiness, then decide the connection's next state. */
static void
conn_event(io_thread *t, io_conn *ic, uint32_t events)
{
	const uint8_t *p;
	uint32_t	want = 0;

	if (events & EPOLLERR)
	{
		conn_close(t, ic, "socket error");
		return;
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) && !do_read(t, ic))
		return;
	if (!do_write(t, ic))
		return;
	if (ic->c->failed)
	{
		rbd_error("closing connection from %s: out of memory", ic->c->peer);
		conn_close(t, ic, NULL);
		return;
	}
	if (ic->c->closing && !ic->draining)
	{
		if (ic->deadline == 0)
			ic->deadline = rbd_mono_ms() + CLOSING_MS;
		if (rbd_conn_out_pending(ic->c, &p) == 0)
		{
			/* Reply is out: half-close, then wait for the peer's FIN. */
			shutdown(ic->fd, SHUT_WR);
			ic->draining = true;
			ic->deadline = rbd_mono_ms() + DRAIN_MS;
		}
	}
	if (ic->eof && (ic->draining || rbd_conn_out_pending(ic->c, &p) == 0))
	{
		conn_close(t, ic, "closed by peer");
		return;
	}
	if (!ic->eof && (ic->draining || ic->c->closing || rbd_conn_want_input(ic->c)))
		want |= EPOLLIN | EPOLLRDHUP;
	if (rbd_conn_out_pending(ic->c, &p) > 0)
		want |= EPOLLOUT;
	if (!set_interest(t, ic, want))
		conn_close(t, ic, strerror(errno));
}

static void
adopt_queue(io_thread *t)
{
	io_conn    *q;

	pthread_mutex_lock(&t->qlock);
	q = t->queue;
	t->queue = NULL;
	pthread_mutex_unlock(&t->qlock);

	while (q != NULL)
	{
		io_conn    *ic = q;
		struct epoll_event e;

		q = q->next;
		ic->prev = NULL;
		ic->next = t->conns;
		if (t->conns != NULL)
			t->conns->prev = ic;
		t->conns = ic;
		ic->events = EPOLLIN | EPOLLRDHUP;
		e.events = ic->events;
		e.data.ptr = ic;
		if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, ic->fd, &e) != 0)
		{
			rbd_error("could not add connection from %s to epoll: %s",
					  ic->c->peer, strerror(errno));
			conn_close(t, ic, NULL);
		}
	}
}

static void
sweep(io_thread *t, uint64_t now)
{
	rbd_server *srv = t->loop->srv;
	uint32_t	auth_ms = atomic_load(&srv->limits.auth_timeout_ms);
	uint32_t	idle_ms = atomic_load(&srv->limits.idle_timeout_ms);
	io_conn    *ic = t->conns;

	while (ic != NULL)
	{
		io_conn    *next = ic->next;
		rbd_conn   *c = ic->c;
		const uint8_t *p;

		if (ic->deadline != 0 && now >= ic->deadline)
			conn_close(t, ic, ic->draining ? "linger time over" :
					   "peer does not read the error reply");
		else if (!c->closing && c->state != RBD_CS_READY &&
				 now - c->connected_at >= auth_ms)
		{
			rbd_warning("closing connection from %s: not authenticated within %u ms",
						c->peer, auth_ms);
			conn_close(t, ic, NULL);
		}
		else if (!c->closing && c->state == RBD_CS_READY && idle_ms > 0 &&
				 now - c->last_active >= idle_ms &&
				 rbd_conn_out_pending(c, &p) == 0)
		{
			rbd_info("closing connection from %s (owner \"%s\"): idle for %u ms",
					 c->peer, c->owner, idle_ms);
			conn_close(t, ic, NULL);
		}
		ic = next;
	}
}

static void *
io_main(void *arg)
{
	io_thread  *t = arg;
	struct epoll_event ev[64];
	uint64_t	last_sweep = rbd_mono_ms();

	while (!atomic_load(&t->stop))
	{
		int			n = epoll_wait(t->epfd, ev, 64, SWEEP_MS);
		uint64_t	now;

		if (n < 0 && errno != EINTR)
		{
			rbd_error("epoll_wait failed in I/O thread %d: %s", t->index, strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++)
		{
			if (ev[i].data.ptr == NULL)
			{
				uint64_t	v;

				if (read(t->wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					rbd_error("could not read eventfd: %s", strerror(errno));
				adopt_queue(t);
				continue;
			}
			conn_event(t, ev[i].data.ptr, ev[i].events);
		}
		now = rbd_mono_ms();
		if (now - last_sweep >= SWEEP_MS)
		{
			sweep(t, now);
			last_sweep = now;
		}
	}

	/* Shutdown: drop everything this thread owns. */
	adopt_queue(t);
	while (t->conns != NULL)
		conn_close(t, t->conns, "server shutting down");
	return NULL;
}

/* ---------- accept thread ---------- */

static void
hand_over(rbd_loop *l, int fd, const char *peer)
{
	io_thread  *t = &l->threads[l->next_thread++ % (unsigned) l->nthreads];
	io_conn    *ic = calloc(1, sizeof(*ic));
	rbd_conn   *c = ic != NULL ? rbd_conn_create(l->srv, peer) : NULL;
	uint64_t	one = 1;

	if (c == NULL)
	{
		rbd_error("could not accept connection from %s: out of memory", peer);
		free(ic);
		close(fd);
		return;
	}
	ic->c = c;
	ic->fd = fd;
	pthread_mutex_lock(&t->qlock);
	ic->next = t->queue;
	t->queue = ic;
	pthread_mutex_unlock(&t->qlock);
	if (write(t->wakefd, &one, sizeof(one)) < 0)
		rbd_error("could not wake I/O thread: %s", strerror(errno));
	rbd_debug("accepted connection from %s (I/O thread %d)", peer, t->index);
}

static void *
accept_main(void *arg)
{
	rbd_loop   *l = arg;
	struct epoll_event ev[MAX_LISTEN + 1];
	uint64_t	last_complaint = 0;

	while (!atomic_load(&l->stop))
	{
		int			n = epoll_wait(l->accept_epfd, ev, MAX_LISTEN + 1, 1000);

		if (n < 0 && errno != EINTR)
		{
			rbd_error("epoll_wait failed in accept thread: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n && !atomic_load(&l->stop); i++)
		{
			int			lfd = ev[i].data.fd;

			if (lfd == l->accept_wakefd)
				continue;
			for (;;)
			{
				struct sockaddr_storage ss;
				socklen_t	sl = sizeof(ss);
				char		peer[RBD_PEER_LEN];
				int			one = 1;
				int			fd;

				fd = accept4(lfd, (struct sockaddr *) &ss, &sl,
							 SOCK_NONBLOCK | SOCK_CLOEXEC);
				if (fd < 0)
				{
					if (errno == EINTR || errno == ECONNABORTED)
						continue;
					if (errno == EAGAIN || errno == EWOULDBLOCK)
						break;
					if (rbd_mono_ms() - last_complaint > 10000)
					{
						rbd_warning("could not accept connection: %s", strerror(errno));
						last_complaint = rbd_mono_ms();
					}
					/* Out of descriptors or memory: back off briefly. */
					usleep(100 * 1000);
					break;
				}
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				format_addr((struct sockaddr *) &ss, peer, sizeof(peer), true);
				hand_over(l, fd, peer);
			}
		}
	}
	return NULL;
}

bool
rbd_loop_start(rbd_loop *l, char *err, size_t errlen)
{
	struct epoll_event e;

	l->threads = calloc((size_t) l->nthreads, sizeof(io_thread));
	if (l->threads == NULL)
	{
		snprintf(err, errlen, "out of memory");
		return false;
	}
	for (int i = 0; i < l->nthreads; i++)
	{
		l->threads[i].epfd = -1;
		l->threads[i].wakefd = -1;
		pthread_mutex_init(&l->threads[i].qlock, NULL);
	}
	for (int i = 0; i < l->nthreads; i++)
	{
		io_thread  *t = &l->threads[i];

		t->loop = l;
		t->index = i;
		t->epfd = epoll_create1(EPOLL_CLOEXEC);
		t->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (t->epfd < 0 || t->wakefd < 0)
		{
			snprintf(err, errlen, "could not create epoll instance: %s", strerror(errno));
			return false;
		}
		e.events = EPOLLIN;
		e.data.ptr = NULL;
		if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->wakefd, &e) != 0)
		{
			snprintf(err, errlen, "could not add eventfd to epoll: %s", strerror(errno));
			return false;
		}
		if (pthread_create(&t->tid, NULL, io_main, t) != 0)
		{
			snprintf(err, errlen, "could not start I/O thread");
			return false;
		}
		t->started = true;
	}

	l->accept_epfd = epoll_create1(EPOLL_CLOEXEC);
	l->accept_wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->accept_epfd < 0 || l->accept_wakefd < 0)
	{
		snprintf(err, errlen, "could not create epoll instance: %s", strerror(errno));
		return false;
	}
	for (int i = 0; i <= l->nlisten; i++)
	{
		e.events = EPOLLIN;
		e.data.fd = i < l->nlisten ? l->listen_fds[i] : l->accept_wakefd;
		if (epoll_ctl(l->accept_epfd, EPOLL_CTL_ADD, e.data.fd, &e) != 0)
		{
			snprintf(err, errlen, "could not add socket to epoll: %s", strerror(errno));
			return false;
		}
	}
	if (pthread_create(&l->accept_tid, NULL, accept_main, l) != 0)
	{
		snprintf(err, errlen, "could not start accept thread");
		return false;
	}
	l->accept_started = true;
	return true;
}

void
rbd_loop_shutdown(rbd_loop *l)
{
	uint64_t	one = 1;

	if (l == NULL)
		return;
	atomic_store(&l->stop, true);
	if (l->accept_started)
	{
		if (write(l->accept_wakefd, &one, sizeof(one)) < 0)
			rbd_error("could not wake accept thread: %s", strerror(errno));
		pthread_join(l->accept_tid, NULL);
	}
	for (int i = 0; i < l->nlisten; i++)
		close(l->listen_fds[i]);
	for (int i = 0; l->threads != NULL && i < l->nthreads; i++)
	{
		io_thread  *t = &l->threads[i];

		if (t->started)
		{
			atomic_store(&t->stop, true);
			if (write(t->wakefd, &one, sizeof(one)) < 0)
				rbd_error("could not wake I/O thread: %s", strerror(errno));
			pthread_join(t->tid, NULL);
		}
		if (t->epfd >= 0)
			close(t->epfd);
		if (t->wakefd >= 0)
			close(t->wakefd);
		pthread_mutex_destroy(&t->qlock);
	}
	if (l->accept_epfd >= 0)
		close(l->accept_epfd);
	if (l->accept_wakefd >= 0)
		close(l->accept_wakefd);
	free(l->threads);
	free(l);
}
