/*-------------------------------------------------------------------------
 *
 * conn.c
 *	  Per-connection buffers and framing.
 *
 * Input: a header is decoded and checked (magic, length, and what the
 * session state allows) as soon as its 24 bytes are in, before the buffer
 * is grown to hold the payload, so garbage cannot make us allocate more
 * than RB_MAX_PAYLOAD (and unauthenticated peers much less).  Complete
 * frames are dispatched in order, so pipelined requests are answered in
 * order.
 *
 * Output: replies are appended to one buffer.  Once RBD_OUT_HIGH bytes
 * are pending, no further frames are dispatched and the loop stops reading
 * the socket until the peer has taken some: a client that sends but never
 * reads cannot grow our memory without bound.
 *
 *-------------------------------------------------------------------------
 */
#include "conn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proto.h"

rbd_conn *
rbd_conn_create(rbd_server *srv, const char *peer)
{
	rbd_conn   *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->in = malloc(RBD_IN_DEFAULT);
	if (c->in == NULL)
	{
		free(c);
		return NULL;
	}
	c->in_cap = RBD_IN_DEFAULT;
	c->srv = srv;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	c->connected_at = rbd_mono_ms();
	c->last_active = c->connected_at;
	c->state = RBD_CS_NEW;
	rbd_server_register(srv, c);
	return c;
}

void
rbd_conn_destroy(rbd_conn *c)
{
	if (c == NULL)
		return;
	rbd_server_unregister(c->srv, c);
	free(c->in);
	free(c->out);
	free(c);
}

size_t
rbd_conn_in_space(rbd_conn *c, uint8_t **p)
{
	*p = c->in + c->in_len;
	return c->in_cap - c->in_len;
}

void
rbd_conn_in_commit(rbd_conn *c, size_t n)
{
	c->in_len += n;
}

bool
rbd_conn_want_input(const rbd_conn *c)
{
	return !c->closing && !c->failed &&
		c->out_len - c->out_off < RBD_OUT_HIGH &&
		c->in_len < c->in_cap;
}

/*
 * After dispatching: move the unconsumed tail to the front and size the
 * buffer for the frame in progress (growing only for a header that has
 * already been checked, shrinking back after a large frame).
 */
static void
in_prepare(rbd_conn *c, size_t need)
{
	size_t		avail = c->in_len - c->in_off;
	size_t		want = need > RBD_IN_DEFAULT ? need : RBD_IN_DEFAULT;

	if (c->in_off > 0)
	{
		if (avail > 0)
			memmove(c->in, c->in + c->in_off, avail);
		c->in_off = 0;
		c->in_len = avail;
	}
	if (want > c->in_cap || (c->in_cap > 4 * (size_t) RBD_IN_DEFAULT && want == RBD_IN_DEFAULT &&
							 avail <= RBD_IN_DEFAULT))
	{
		uint8_t    *n = realloc(c->in, want);

		if (n == NULL)
		{
			c->failed = true;
			return;
		}
		c->in = n;
		c->in_cap = want;
	}
}

void
rbd_conn_process(rbd_conn *c)
{
	size_t		need = RB_HDR_SIZE;

	while (!c->closing && !c->failed)
	{
		size_t		avail = c->in_len - c->in_off;
		rb_hdr		h;

		need = RB_HDR_SIZE;
		if (avail < RB_HDR_SIZE)
			break;
		rb_hdr_decode(c->in + c->in_off, &h);
		if (!rbd_proto_check_header(c, &h))
			break;
		need = RB_HDR_SIZE + (size_t) h.length;
		if (avail < need)
			break;
		/* Replies pile up faster than the peer reads them: wait. */
		if (c->out_len - c->out_off >= RBD_OUT_HIGH)
			break;
		rbd_proto_dispatch(c, &h, c->in + c->in_off + RB_HDR_SIZE);
		c->in_off += need;
		need = RB_HDR_SIZE;
	}
	if (!c->closing && !c->failed)
		in_prepare(c, need);
}

size_t
rbd_conn_out_pending(const rbd_conn *c, const uint8_t **p)
{
	if (c->out == NULL)
	{
		*p = NULL;
		return 0;
	}
	*p = c->out + c->out_off;
	return c->out_len - c->out_off;
}

void
rbd_conn_out_consume(rbd_conn *c, size_t n)
{
	c->out_off += n;
	if (c->out_off < c->out_len)
		return;
	c->out_off = c->out_len = 0;
	/* Do not keep a big buffer around for one large reply. */
	if (c->out_cap > RBD_OUT_KEEP)
	{
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
}

static bool
out_reserve(rbd_conn *c, size_t extra)
{
	size_t		pending = c->out_len - c->out_off;
	size_t		cap;
	uint8_t    *n;

	if (c->out_cap - c->out_len >= extra)
		return true;
	if (c->out_off > 0)
	{
		memmove(c->out, c->out + c->out_off, pending);
		c->out_off = 0;
		c->out_len = pending;
		if (c->out_cap - c->out_len >= extra)
			return true;
	}
	cap = c->out_cap ? c->out_cap : 64 * 1024;
	while (cap - pending < extra)
		cap *= 2;
	n = realloc(c->out, cap);
	if (n == NULL)
	{
		c->failed = true;
		return false;
	}
	c->out = n;
	c->out_cap = cap;
	return true;
}

uint8_t *
rbd_conn_reply_begin(rbd_conn *c, const rb_hdr *req, size_t maxlen)
{
	if (!out_reserve(c, RB_HDR_SIZE + maxlen))
		return NULL;
	c->reply_at = c->out_len;
	c->reply_op = req->opcode;
	c->reply_req = req->req_id;
	return c->out + c->reply_at + RB_HDR_SIZE;
}

void
rbd_conn_reply_end(rbd_conn *c, uint32_t status, size_t len)
{
	rb_hdr_encode(c->out + c->reply_at, c->reply_op, RB_FLAG_REPLY, status,
				  (uint32_t) len, c->reply_req);
	c->out_len = c->reply_at + RB_HDR_SIZE + len;
}

void
rbd_conn_reply_cancel(rbd_conn *c)
{
	/* Nothing was committed: out_len still marks the end. */
	(void) c;
}

void
rbd_conn_reply(rbd_conn *c, const rb_hdr *req, uint32_t status,
			   const void *payload, size_t len)
{
	uint8_t    *p = rbd_conn_reply_begin(c, req, len);

	if (p == NULL)
		return;
	if (len > 0)
		memcpy(p, payload, len);
	rbd_conn_reply_end(c, status, len);
}

void
rbd_conn_reply_error(rbd_conn *c, const rb_hdr *req, uint32_t status,
					 const char *fmt,...)
{
	char		msg[RB_MAX_ERRMSG + 1];
	uint8_t    *p;
	size_t		n;
	int			r;
	va_list		ap;

	if (fmt == NULL)
		r = snprintf(msg, sizeof(msg), "%s", rb_status_name(status));
	else
	{
		va_start(ap, fmt);
		r = vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	n = r < 0 ? 0 : (size_t) r;
	if (n > RB_MAX_ERRMSG)
		n = RB_MAX_ERRMSG;
	p = rbd_conn_reply_begin(c, req, 2 + n);
	if (p == NULL)
		return;
	rb_put_u16(p, (uint16_t) n);
	memcpy(p + 2, msg, n);
	rbd_conn_reply_end(c, status, 2 + n);
}
