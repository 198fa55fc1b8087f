/*-------------------------------------------------------------------------
 *
 * rb_transport.c
 *	  Client library for rbufd, part 1: connection set-up (resolve,
 *	  nonblocking connect, HELLO, mutual HMAC AUTH) and the framed,
 *	  deadline-bounded send/receive machinery the operations use.
 *
 * Rules the client library keeps, because it runs inside PostgreSQL
 * backends:
 *	- nothing is allocated: every buffer is the caller's or on the stack;
 *	- signals: EINTR is retried, sends use MSG_NOSIGNAL, no disposition is
 *	  ever changed;
 *	- one deadline (CLOCK_MONOTONIC) per operation; the socket is
 *	  nonblocking and every wait is a ppoll() bounded by what is left, so a
 *	  stalled server makes the call fail with RB_E_TIMEOUT on time;
 *	- no global mutable state: a connection is used by one thread at once.
 *
 * Name resolution: numeric IPv4/IPv6 addresses are parsed without any
 * lookup.  A host name goes through getaddrinfo(), which is NOT bounded by
 * connect_timeout_ms (the resolver has no deadline parameter) and allocates
 * memory inside libc; use numeric addresses where that matters.  libcrypto
 * (nonces and HMACs during rb_connect) may allocate internally as well.
 *
 * If the server does not require authentication but we have a secret, we
 * proceed unauthenticated: the operator chose --insecure-no-auth for that
 * daemon and the secret proves nothing to us then.
 *
 *-------------------------------------------------------------------------
 */
#include "rb_client_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int64_t
rbc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Thread-safe strerror without allocation. */
static const char *
rb_strerror(int err, char *buf, size_t len)
{
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
	return strerror_r(err, buf, len);
#else
	if (strerror_r(err, buf, len) != 0)
		snprintf(buf, len, "error %d", err);
	return buf;
#endif
}

/* Record an error (and close the connection if asked); returns e. */
rb_error
rbc_fail(rb_conn *c, rb_error e, bool close_conn, const char *fmt,...)
{
	va_list		ap;

	if (close_conn)
		rb_close(c);
	va_start(ap, fmt);
	vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
	va_end(ap);
	return e;
}

void
rb_conn_init(rb_conn *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->next_req_id = 1;
	c->io_timeout_ms = RB_DEFAULT_TIMEOUT_MS;
	snprintf(c->server, sizeof(c->server), "(not connected)");
}

void
rb_close(rb_conn *c)
{
	/* The queue pair first: it depends on nothing but may still DMA. */
	if (c->rdma != NULL)
		rbc_rdma_free(c);
	c->ops = NULL;
	/* close() is not retried on EINTR: on Linux the fd is gone anyway. */
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

const char *
rb_conn_transport(const rb_conn *c)
{
	return c != NULL && c->ops != NULL ? c->ops->name : "tcp";
}

bool
rb_connected(const rb_conn *c)
{
	return c != NULL && c->fd >= 0;
}

const char *
rb_errmsg(const rb_conn *c)
{
	return c->errmsg;
}

void
rb_set_timeout(rb_conn *c, int io_timeout_ms)
{
	c->io_timeout_ms = io_timeout_ms > 0 ? io_timeout_ms : RB_DEFAULT_TIMEOUT_MS;
}

const char *
rb_error_name(rb_error e)
{
	switch (e)
	{
		case RB_OK:
			return "ok";
		case RB_E_CONNECT:
			return "connection failed";
		case RB_E_DISCONNECTED:
			return "disconnected";
		case RB_E_TIMEOUT:
			return "timeout";
		case RB_E_AUTH:
			return "authentication failed";
		case RB_E_PROTOCOL:
			return "protocol error";
		case RB_E_NO_LEASE:
			return "no such lease";
		case RB_E_LEASE_EXPIRED:
			return "lease expired";
		case RB_E_OUT_OF_RANGE:
			return "out of range";
		case RB_E_NO_SPACE:
			return "no space";
		case RB_E_LIMIT:
			return "server limit reached";
		case RB_E_TOO_LARGE:
			return "too large";
		case RB_E_SERVER:
			return "server error";
		case RB_E_INVALID:
			return "invalid argument";
		case RB_E_SYSTEM:
			return "system error";
		case RB_E_REMOTE_ACCESS:
			return "remote access error";
	}
	return "unknown error";
}

/*
 * Map a server status to our error code; *fatal says whether the server
 * closes the connection after such a reply (or the stream is suspect).
 */
rb_error
rbc_map_status(uint32_t st, bool *fatal)
{
	*fatal = false;
	switch (st)
	{
		case RB_ST_OK:
			return RB_OK;
		case RB_ST_NO_LEASE:
			return RB_E_NO_LEASE;
		case RB_ST_LEASE_EXPIRED:
			return RB_E_LEASE_EXPIRED;
		case RB_ST_OUT_OF_RANGE:
			return RB_E_OUT_OF_RANGE;
		case RB_ST_NO_SPACE:
			return RB_E_NO_SPACE;
		case RB_ST_LIMIT:
			return RB_E_LIMIT;
		case RB_ST_TOO_LARGE:
			return RB_E_TOO_LARGE;
		case RB_ST_AUTH_REQUIRED:
		case RB_ST_AUTH_FAILED:
			*fatal = true;
			return RB_E_AUTH;
		case RB_ST_BAD_FRAME:
		case RB_ST_VERSION:
			*fatal = true;
			return RB_E_PROTOCOL;
		case RB_ST_UNKNOWN_OP:
			return RB_E_PROTOCOL;
		case RB_ST_SHUTTING_DOWN:
			*fatal = true;
			return RB_E_SERVER;
		default:
			return RB_E_SERVER;
	}
}

static rb_error
rb_timeout(rb_conn *c, rb_op *op)
{
	return rbc_fail(c, RB_E_TIMEOUT, true,
				   "rbufd at %s did not complete %s within %d ms; connection closed",
				   c->server, op->name, op->timeout_ms);
}

/* Wait until the socket is ready for events, or fail at the deadline. */
static rb_error
rb_wait(rb_conn *c, rb_op *op, short events)
{
	for (;;)
	{
		int64_t		left = op->deadline_ns - rbc_now_ns();
		struct pollfd pfd;
		struct timespec ts;
		int			rc;
		char		eb[128];

		if (left <= 0)
			return rb_timeout(c, op);
		pfd.fd = c->fd;
		pfd.events = events;
		pfd.revents = 0;
		ts.tv_sec = (time_t) (left / 1000000000);
		ts.tv_nsec = (long) (left % 1000000000);
		rc = ppoll(&pfd, 1, &ts, NULL);
		if (rc > 0)
			return RB_OK;		/* ready, or error/hangup: the I/O call says */
		if (rc < 0 && errno != EINTR)
			return rbc_fail(c, RB_E_SYSTEM, true,
						   "could not poll connection to rbufd at %s: %s",
						   c->server, rb_strerror(errno, eb, sizeof(eb)));
	}
}

static rb_error
rb_io_error(rb_conn *c, rb_op *op, const char *what, int err)
{
	char		eb[128];

	return rbc_fail(c, RB_E_DISCONNECTED, true,
				   "could not %s rbufd at %s during %s: %s; connection closed",
				   what, c->server, op->name, rb_strerror(err, eb, sizeof(eb)));
}


/* Drop the first n bytes from iov[0..cnt): whole entries, then a part. */
static void
rb_iov_advance(struct iovec **iovp, int *cntp, size_t n)
{
	struct iovec *iov = *iovp;
	int			cnt = *cntp;

	while (cnt > 0 && n >= iov->iov_len)
	{
		n -= iov->iov_len;
		iov++;
		cnt--;
	}
	if (cnt > 0)
	{
		iov->iov_base = (char *) iov->iov_base + n;
		iov->iov_len -= n;
	}
	*iovp = iov;
	*cntp = cnt;
}

/* Send all of iov[0..cnt) (modified in place). */
rb_error
rbc_send_iov(rb_conn *c, rb_op *op, struct iovec *iov, int cnt)
{
	while (cnt > 0 && iov->iov_len == 0)
	{
		iov++;
		cnt--;
	}
	while (cnt > 0)
	{
		struct msghdr msg;
		ssize_t		n;

		if (rbc_now_ns() >= op->deadline_ns)
			return rb_timeout(c, op);
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t) cnt;
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0)
		{
			rb_error	rc;

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return rb_io_error(c, op, "send to", errno);
			if ((rc = rb_wait(c, op, POLLOUT)) != RB_OK)
				return rc;
			continue;
		}
		rb_iov_advance(&iov, &cnt, (size_t) n);
	}
	return RB_OK;
}

/*
 * Receive exactly the bytes described by iov[0..cnt) (modified in place).
 * wait_first skips the recv that would almost surely say EAGAIN right
 * after a request was sent.
 */
rb_error
rbc_recv_iov(rb_conn *c, rb_op *op, struct iovec *iov, int cnt, bool wait_first)
{
	rb_error	rc;

	while (cnt > 0 && iov->iov_len == 0)
	{
		iov++;
		cnt--;
	}
	if (cnt > 0 && wait_first && (rc = rb_wait(c, op, POLLIN)) != RB_OK)
		return rc;
	while (cnt > 0)
	{
		struct msghdr msg;
		ssize_t		n;

		if (rbc_now_ns() >= op->deadline_ns)
			return rb_timeout(c, op);
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t) cnt;
		n = recvmsg(c->fd, &msg, MSG_DONTWAIT);
		if (n == 0)
			return rbc_fail(c, RB_E_DISCONNECTED, true,
						   "rbufd at %s closed the connection during %s",
						   c->server, op->name);
		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return rb_io_error(c, op, "receive from", errno);
			if ((rc = rb_wait(c, op, POLLIN)) != RB_OK)
				return rc;
			continue;
		}
		rb_iov_advance(&iov, &cnt, (size_t) n);
	}
	return RB_OK;
}

rb_error
rbc_recv(rb_conn *c, rb_op *op, void *buf, size_t len)
{
	struct iovec iov;

	iov.iov_base = buf;
	iov.iov_len = len;
	return rbc_recv_iov(c, op, &iov, 1, false);
}

rb_error
rbc_protocol_error(rb_conn *c, rb_op *op, const char *what, uint64_t got,
				  uint64_t want)
{
	return rbc_fail(c, RB_E_PROTOCOL, true,
				   "rbufd at %s sent an invalid reply to %s (%s: got %llu, "
				   "expected %llu); connection closed",
				   c->server, op->name, what, (unsigned long long) got,
				   (unsigned long long) want);
}

/* Start an operation on an established connection. */
rb_error
rbc_begin(rb_conn *c, rb_op *op, uint16_t opcode, const char *name)
{
	op->name = name;
	op->opcode = opcode;
	if (c->fd < 0)
		return rbc_fail(c, RB_E_DISCONNECTED, false,
					   "not connected to rbufd (last server %s); reconnect first",
					   c->server);
	op->timeout_ms = c->io_timeout_ms;
	op->deadline_ns = rbc_now_ns() + (int64_t) op->timeout_ms * 1000000;
	op->req_id = c->next_req_id++;
	c->errmsg[0] = '\0';
	return RB_OK;
}

/* Encode the request header into hdr (RB_HDR_SIZE bytes) and send iov. */
rb_error
rbc_send_request(rb_conn *c, rb_op *op, uint8_t *hdr, uint32_t payload_len,
				struct iovec *iov, int cnt)
{
	rb_hdr_encode(hdr, op->opcode, 0, 0, payload_len, op->req_id);
	return rbc_send_iov(c, op, iov, cnt);
}

/*
 * Receive and check a reply header.  An error status is consumed here
 * (message text into errmsg) and returned as an rb_error; on RB_OK the
 * caller reads h->length payload bytes.
 */
rb_error
rbc_recv_reply(rb_conn *c, rb_op *op, rb_hdr *h)
{
	uint8_t		hb[RB_HDR_SIZE];
	uint8_t		eb[2 + RB_MAX_ERRMSG];
	struct iovec iov;
	rb_error	rc;
	rb_error	err;
	bool		fatal;
	uint16_t	mlen;
	char		text[RB_MAX_ERRMSG + 1];

	iov.iov_base = hb;
	iov.iov_len = sizeof(hb);
	if ((rc = rbc_recv_iov(c, op, &iov, 1, true)) != RB_OK)
		return rc;
	rb_hdr_decode(hb, h);
	if (h->magic != RB_MAGIC)
		return rbc_protocol_error(c, op, "magic", h->magic, RB_MAGIC);
	if (!(h->flags & RB_FLAG_REPLY))
		return rbc_protocol_error(c, op, "reply flag", 0, 1);
	if (h->opcode != op->opcode)
		return rbc_protocol_error(c, op, "opcode", h->opcode, op->opcode);
	if (h->req_id != op->req_id)
		return rbc_protocol_error(c, op, "request id", h->req_id, op->req_id);
	if (h->length > RB_MAX_PAYLOAD)
		return rbc_protocol_error(c, op, "payload length", h->length,
								 RB_MAX_PAYLOAD);
	c->last_status = h->status;
	if (h->status == RB_ST_OK)
		return RB_OK;

	/* Error reply: u16 length, then that much text. */
	if (h->length < 2 || h->length > sizeof(eb))
		return rbc_protocol_error(c, op, "error reply length", h->length, 2);
	if ((rc = rbc_recv(c, op, eb, h->length)) != RB_OK)
		return rc;
	mlen = rb_get_u16(eb);
	if ((uint32_t) mlen + 2 != h->length)
		return rbc_protocol_error(c, op, "error message length", mlen,
								 h->length - 2);
	for (uint16_t i = 0; i < mlen; i++)
	{
		unsigned char ch = eb[2 + i];

		text[i] = (ch >= 0x20 && ch <= 0x7e) ? (char) ch : '?';
	}
	text[mlen] = '\0';
	err = rbc_map_status(h->status, &fatal);
	return rbc_fail(c, err, fatal, "rbufd at %s: %s%s", c->server,
				   mlen > 0 ? text : rb_status_name(h->status),
				   fatal ? " (connection closed)" : "");
}

/* Receive a reply whose OK payload must be exactly len bytes into buf. */
rb_error
rbc_recv_fixed(rb_conn *c, rb_op *op, void *buf, uint32_t len)
{
	rb_hdr		h;
	rb_error	rc;

	if ((rc = rbc_recv_reply(c, op, &h)) != RB_OK)
		return rc;
	if (h.length != len)
		return rbc_protocol_error(c, op, "payload length", h.length, len);
	return rbc_recv(c, op, buf, len);
}

/* One request (header + fixed payload) and a fixed-size reply. */
rb_error
rbc_simple_call(rb_conn *c, rb_op *op, const uint8_t *req, uint32_t req_len,
			   void *reply, uint32_t reply_len)
{
	uint8_t		hdr[RB_HDR_SIZE];
	struct iovec iov[2];
	rb_error	rc;

	iov[0].iov_base = hdr;
	iov[0].iov_len = RB_HDR_SIZE;
	iov[1].iov_base = (void *) req;
	iov[1].iov_len = req_len;
	if ((rc = rbc_send_request(c, op, hdr, req_len, iov, 2)) != RB_OK)
		return rc;
	return rbc_recv_fixed(c, op, reply, reply_len);
}

/* ---------- connection set-up ---------- */

/* Nonblocking connect to one address, bounded by op's deadline. */
static rb_error
rb_try_connect(rb_conn *c, rb_op *op, const struct sockaddr *sa,
			   socklen_t salen)
{
	char		eb[128];
	int			fd;
	int			one = 1;
	int			soerr = 0;
	socklen_t	slen = sizeof(soerr);

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return rbc_fail(c, RB_E_SYSTEM, false,
					   "could not create socket for rbufd at %s: %s",
					   c->server, rb_strerror(errno, eb, sizeof(eb)));
	c->fd = fd;
	/* EINTR on a nonblocking connect: it goes on in the background. */
	if (connect(fd, sa, salen) < 0 && errno != EINPROGRESS && errno != EINTR)
		return rbc_fail(c, RB_E_CONNECT, true,
					   "could not connect to rbufd at %s: %s",
					   c->server, rb_strerror(errno, eb, sizeof(eb)));
	for (;;)
	{
		int64_t		left = op->deadline_ns - rbc_now_ns();
		struct pollfd pfd;
		struct timespec ts;
		int			rc;

		if (left <= 0)
			return rbc_fail(c, RB_E_TIMEOUT, true,
						   "timed out after %d ms connecting to rbufd at %s",
						   op->timeout_ms, c->server);
		pfd.fd = fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		ts.tv_sec = (time_t) (left / 1000000000);
		ts.tv_nsec = (long) (left % 1000000000);
		rc = ppoll(&pfd, 1, &ts, NULL);
		if (rc > 0)
			break;
		if (rc < 0 && errno != EINTR)
			return rbc_fail(c, RB_E_SYSTEM, true,
						   "could not poll connection to rbufd at %s: %s",
						   c->server, rb_strerror(errno, eb, sizeof(eb)));
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) < 0)
		soerr = errno;
	if (soerr != 0)
		return rbc_fail(c, RB_E_CONNECT, true,
					   "could not connect to rbufd at %s: %s",
					   c->server, rb_strerror(soerr, eb, sizeof(eb)));
	/* Pages are latency-bound small messages: never wait for Nagle. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		return rbc_fail(c, RB_E_SYSTEM, true,
					   "could not set TCP_NODELAY for rbufd at %s: %s",
					   c->server, rb_strerror(errno, eb, sizeof(eb)));
	return RB_OK;
}

/* Resolve host and connect to the first address that answers. */
static rb_error
rb_tcp_connect(rb_conn *c, rb_op *op, const char *host, int port)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct addrinfo hints;
	struct addrinfo *res = NULL;
	char		portstr[16];
	rb_error	rc = RB_E_CONNECT;
	int			gai;

	/* Numeric addresses: no resolver, no allocation. */
	memset(&sin, 0, sizeof(sin));
	if (inet_pton(AF_INET, host, &sin.sin_addr) == 1)
	{
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t) port);
		return rb_try_connect(c, op, (struct sockaddr *) &sin, sizeof(sin));
	}
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET6, host, &sin6.sin6_addr) == 1)
	{
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons((uint16_t) port);
		return rb_try_connect(c, op, (struct sockaddr *) &sin6, sizeof(sin6));
	}

	/* Scoped IPv6 literals still parse without a lookup; then names. */
	snprintf(portstr, sizeof(portstr), "%d", port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	gai = getaddrinfo(host, portstr, &hints, &res);
	if (gai == EAI_NONAME)
	{
		hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
		gai = getaddrinfo(host, portstr, &hints, &res);
	}
	if (gai != 0)
		return rbc_fail(c, RB_E_CONNECT, false,
					   "could not resolve rbufd host \"%s\": %s",
					   host, gai_strerror(gai));
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
	{
		rc = rb_try_connect(c, op, ai->ai_addr, ai->ai_addrlen);
		if (rc == RB_OK || rc == RB_E_TIMEOUT)
			break;
	}
	freeaddrinfo(res);
	return rc;
}

/* HELLO and, if the server wants it, mutual AUTH. */
static rb_error
rb_handshake(rb_conn *c, rb_op *op, const rb_client_opts *opts,
			 size_t owner_len)
{
	uint8_t		req[RB_HELLO_REQ_FIXED + RB_MAX_OWNER_LEN];
	uint8_t		rep[RB_HELLO_REPLY_SIZE];
	uint8_t		cnonce[RB_NONCE_LEN];
	uint8_t		snonce[RB_NONCE_LEN];
	uint8_t		mac[RB_MAC_LEN];
	uint8_t		smac[RB_MAC_LEN];
	uint16_t	auth_required;
	rb_error	rc;

	if (!rb_random_bytes(cnonce, sizeof(cnonce)))
		return rbc_fail(c, RB_E_SYSTEM, true,
					   "could not generate a random nonce to connect to rbufd at %s",
					   c->server);
	rb_put_u16(req, RB_PROTO_VERSION_MIN);
	rb_put_u16(req + 2, RB_PROTO_VERSION);
	rb_put_u16(req + 4, (uint16_t) owner_len);
	rb_put_u16(req + 6, 0);
	memcpy(req + 8, cnonce, RB_NONCE_LEN);
	memcpy(req + RB_HELLO_REQ_FIXED, opts->owner, owner_len);

	op->name = "HELLO";
	op->opcode = RB_OP_HELLO;
	op->req_id = c->next_req_id++;
	rc = rbc_simple_call(c, op, req, (uint32_t) (RB_HELLO_REQ_FIXED + owner_len),
						rep, RB_HELLO_REPLY_SIZE);
	if (rc != RB_OK)
		return rc;

	c->version = rb_get_u16(rep);
	auth_required = rb_get_u16(rep + 2);
	c->server_caps = rb_get_u32(rep + 4);
	c->server_instance = rb_get_u64(rep + 8);
	c->server_mem_total = rb_get_u64(rep + 16);
	memcpy(snonce, rep + 24, RB_NONCE_LEN);
	if (c->version < RB_PROTO_VERSION_MIN || c->version > RB_PROTO_VERSION)
		return rbc_protocol_error(c, op, "protocol version", c->version,
								 RB_PROTO_VERSION);
	if (auth_required > 1)
		return rbc_protocol_error(c, op, "auth_required", auth_required, 1);
	if (!auth_required)
		return RB_OK;

	if (opts->secret == NULL || opts->secret_len == 0)
		return rbc_fail(c, RB_E_AUTH, true,
					   "rbufd at %s requires authentication, but no shared "
					   "secret is configured for this client", c->server);
	if (!rb_auth_mac(opts->secret, opts->secret_len, RB_AUTH_LABEL_CLIENT,
					 snonce, cnonce, opts->owner, owner_len, mac))
		return rbc_fail(c, RB_E_SYSTEM, true,
					   "could not compute the authentication code for rbufd at %s",
					   c->server);
	op->name = "AUTH";
	op->opcode = RB_OP_AUTH;
	op->req_id = c->next_req_id++;
	rc = rbc_simple_call(c, op, mac, RB_MAC_LEN, smac, RB_MAC_LEN);
	if (rc == RB_E_AUTH)
		return rbc_fail(c, RB_E_AUTH, true,
					   "rbufd at %s rejected our authentication as owner \"%s\" "
					   "(is the shared secret the same on both sides?)",
					   c->server, opts->owner);
	if (rc != RB_OK)
		return rc;
	if (!rb_auth_mac(opts->secret, opts->secret_len, RB_AUTH_LABEL_SERVER,
					 cnonce, snonce, opts->owner, owner_len, mac))
		return rbc_fail(c, RB_E_SYSTEM, true,
					   "could not compute the authentication code for rbufd at %s",
					   c->server);
	if (!rb_auth_mac_equal(mac, smac))
		return rbc_fail(c, RB_E_AUTH, true,
					   "rbufd at %s could not prove that it knows the shared "
					   "secret; connection closed", c->server);
	return RB_OK;
}

rb_error
rb_connect(rb_conn *c, const rb_client_opts *opts)
{
	rb_op		op;
	size_t		owner_len;
	int			ctimeout;
	rb_error	rc;

	if (c == NULL)
		return RB_E_INVALID;
	rb_close(c);
	c->errmsg[0] = '\0';
	if (opts == NULL || opts->host == NULL || opts->host[0] == '\0')
		return rbc_fail(c, RB_E_INVALID, false, "no rbufd host given");
	if (opts->port <= 0 || opts->port > 65535)
		return rbc_fail(c, RB_E_INVALID, false,
					   "invalid rbufd port %d", opts->port);
	if (opts->owner == NULL ||
		!rb_owner_valid(opts->owner, owner_len = strnlen(opts->owner,
														 RB_MAX_OWNER_LEN + 1)))
		return rbc_fail(c, RB_E_INVALID, false,
					   "invalid owner name: it must be 1 to %d printable "
					   "ASCII characters without spaces", RB_MAX_OWNER_LEN);
	if (opts->secret_len > 0 &&
		(opts->secret == NULL || opts->secret_len < RB_SECRET_MIN_LEN ||
		 opts->secret_len > RB_SECRET_MAX_LEN))
		return rbc_fail(c, RB_E_INVALID, false,
					   "the shared secret must be %d to %d bytes long",
					   RB_SECRET_MIN_LEN, RB_SECRET_MAX_LEN);

	if (strchr(opts->host, ':') != NULL)
		snprintf(c->server, sizeof(c->server), "[%s]:%d", opts->host, opts->port);
	else
		snprintf(c->server, sizeof(c->server), "%s:%d", opts->host, opts->port);
	rb_set_timeout(c, opts->io_timeout_ms);
	c->version = 0;
	c->server_caps = 0;
	c->server_instance = 0;
	c->server_mem_total = 0;
	c->last_status = RB_ST_OK;

	ctimeout = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms
		: RB_DEFAULT_TIMEOUT_MS;
	op.name = "connect";
	op.opcode = 0;
	op.req_id = 0;
	op.timeout_ms = ctimeout;
	op.deadline_ns = rbc_now_ns() + (int64_t) ctimeout * 1000000;

	c->connect_timeout_ms = ctimeout;
	c->rdma_note[0] = '\0';
	rc = rb_tcp_connect(c, &op, opts->host, opts->port);
	if (rc == RB_OK)
		rc = rb_handshake(c, &op, opts, owner_len);
	if (rc == RB_OK && opts->transport != RB_XPORT_TCP)
		rc = rbc_rdma_attach(c, opts->transport, op.deadline_ns);
	if (rc != RB_OK)
		rb_close(c);
	return rc;
}

