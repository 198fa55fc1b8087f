/*-------------------------------------------------------------------------
 *
 * proto.c
 *	  Server side of every rbufd opcode.
 *
 * Rules (rb_protocol.h has the layouts):
 *	- A header with bad magic or length, or a payload whose size or
 *	  contents do not fit its opcode, is answered RB_ST_BAD_FRAME and the
 *	  connection closed: we can no longer trust where the next frame is.
 *	- Before HELLO only HELLO, before AUTH only HELLO/AUTH are accepted;
 *	  anything else is answered RB_ST_AUTH_REQUIRED and closed.
 *	- Well-framed requests with bad values (unknown opcode, sizes over the
 *	  protocol limits, invalid fields) get an error reply and the
 *	  connection stays usable.
 *	- Every data access is resolved under the store's read lock against
 *	  the caller's owner and checked with rb_range_ok().
 *
 *-------------------------------------------------------------------------
 */
#include "proto.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "rb_auth.h"
#include "store.h"

uint64_t
rbd_proto_now(const rbd_server *srv)
{
	return rbd_mono_ms() + srv->clock_offset;
}

static bool
is_protocol_error(uint32_t st)
{
	return st == RB_ST_BAD_FRAME || st == RB_ST_UNKNOWN_OP ||
		st == RB_ST_VERSION || st == RB_ST_AUTH_REQUIRED ||
		st == RB_ST_TOO_LARGE || st == RB_ST_BAD_REQUEST;
}

/*
 * Queue an error reply.  If close, the connection is closed after it (and
 * the event is logged as a warning, since a correct client never does
 * this).
 */
static void
proto_error(rbd_conn *c, const rb_hdr *h, uint32_t st, bool close,
			const char *fmt,...)
	__attribute__((format(printf, 5, 6)));

static void
proto_error(rbd_conn *c, const rb_hdr *h, uint32_t st, bool close,
			const char *fmt,...)
{
	char		msg[RB_MAX_ERRMSG + 1];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (is_protocol_error(st))
		rbd_counter_add(&c->srv->protocol_errors, 1);
	if (close)
	{
		rbd_warning("closing connection from %s: %s (opcode 0x%04x)",
					c->peer, msg, h->opcode);
		c->closing = true;
	}
	else
		rbd_debug("connection from %s: %s (opcode 0x%04x)",
				  c->peer, msg, h->opcode);
	rbd_conn_reply_error(c, h, st, "%s", msg);
}

bool
rbd_proto_check_header(rbd_conn *c, const rb_hdr *h)
{
	if (!rb_hdr_valid(h))
	{
		if (h->magic != RB_MAGIC)
			proto_error(c, h, RB_ST_BAD_FRAME, true, "invalid frame header: bad magic 0x%08x",
						h->magic);
		else
			proto_error(c, h, RB_ST_BAD_FRAME, true,
						"invalid frame header: payload length %u exceeds %u",
						h->length, RB_MAX_PAYLOAD);
		return false;
	}
	if (c->state == RBD_CS_READY)
		return true;
	if (c->state == RBD_CS_NEW && h->opcode != RB_OP_HELLO)
	{
		proto_error(c, h, RB_ST_AUTH_REQUIRED, true, "the first message must be HELLO");
		return false;
	}
	if (h->opcode != RB_OP_HELLO && h->opcode != RB_OP_AUTH)
	{
		proto_error(c, h, RB_ST_AUTH_REQUIRED, true, "authentication required");
		return false;
	}
	/* Keep what an unauthenticated peer can make us buffer small. */
	if (h->length > RBD_PREAUTH_MAX_PAYLOAD)
	{
		proto_error(c, h, RB_ST_BAD_FRAME, true, "payload of %u bytes too long for opcode",
					h->length);
		return false;
	}
	return true;
}

static void
bad_size(rbd_conn *c, const rb_hdr *h)
{
	proto_error(c, h, RB_ST_BAD_FRAME, true,
				"payload of %u bytes has the wrong size for opcode", h->length);
}

static uint32_t
clamp_ttl(rbd_server *srv, uint32_t ttl)
{
	uint32_t	mn = atomic_load_explicit(&srv->limits.min_ttl_ms, memory_order_relaxed);
	uint32_t	mx = atomic_load_explicit(&srv->limits.max_ttl_ms, memory_order_relaxed);

	if (ttl == 0)
		ttl = atomic_load_explicit(&srv->limits.default_ttl_ms, memory_order_relaxed);
	if (ttl > mx)
		ttl = mx;
	if (ttl < mn)
		ttl = mn;
	return ttl;
}

static void
op_hello(rbd_conn *c, const rb_hdr *h, const uint8_t *p)
{
	rbd_server *srv = c->srv;
	uint16_t	ver_min;
	uint16_t	ver_max;
	uint16_t	owner_len;
	uint16_t	version;
	uint8_t		reply[RB_HELLO_REPLY_SIZE];

	if (c->state != RBD_CS_NEW)
	{
		proto_error(c, h, RB_ST_BAD_REQUEST, true, "HELLO was already received");
		return;
	}
	if (h->length < RB_HELLO_REQ_FIXED)
	{
		bad_size(c, h);
		return;
	}
	ver_min = rb_get_u16(p);
	ver_max = rb_get_u16(p + 2);
	owner_len = rb_get_u16(p + 4);
	if (h->length != RB_HELLO_REQ_FIXED + (uint32_t) owner_len)
	{
		bad_size(c, h);
		return;
	}
	if (!rb_owner_valid((const char *) p + RB_HELLO_REQ_FIXED, owner_len))
	{
		proto_error(c, h, RB_ST_BAD_FRAME, true,
					"invalid owner name (1 to %d printable ASCII characters)",
					RB_MAX_OWNER_LEN);
		return;
	}
	if (ver_min > ver_max || ver_max < RB_PROTO_VERSION_MIN ||
		ver_min > RB_PROTO_VERSION)
	{
		proto_error(c, h, RB_ST_VERSION, true,
					"no common protocol version: client speaks %u to %u, server %u to %u",
					ver_min, ver_max, RB_PROTO_VERSION_MIN, RB_PROTO_VERSION);
		return;
	}
	if (!c->admitted)
	{
		rbd_counter_add(&srv->rejected, 1);
		rbd_warning("rejecting connection from %s: too many clients (max-clients %u)",
					c->peer, atomic_load(&srv->limits.max_clients));
		rbd_conn_reply_error(c, h, RB_ST_LIMIT, "too many clients (max-clients %u)",
							 atomic_load(&srv->limits.max_clients));
		c->closing = true;
		return;
	}
	version = ver_max < RB_PROTO_VERSION ? ver_max : RB_PROTO_VERSION;

	memcpy(c->client_nonce, p + 8, RB_NONCE_LEN);
	if (srv->fixed_nonce)
		memset(c->server_nonce, 0x5a, RB_NONCE_LEN);
	else if (!rb_random_bytes(c->server_nonce, RB_NONCE_LEN))
	{
		rbd_error("could not generate random nonce");
		rbd_conn_reply_error(c, h, RB_ST_INTERNAL, "could not generate random nonce");
		c->closing = true;
		return;
	}
	rbd_server_set_identity(srv, c, (const char *) p + RB_HELLO_REQ_FIXED, owner_len,
							!srv->auth_required);
	c->state = srv->auth_required ? RBD_CS_HELLO : RBD_CS_READY;

	rb_put_u16(reply, version);
	rb_put_u16(reply + 2, srv->auth_required ? 1 : 0);
	rb_put_u32(reply + 4, srv->server_caps);
	rb_put_u64(reply + 8, srv->instance);
	rb_put_u64(reply + 16, rbd_store_total(srv->store));
	memcpy(reply + 24, c->server_nonce, RB_NONCE_LEN);
	rbd_conn_reply(c, h, RB_ST_OK, reply, sizeof(reply));
	rbd_debug("connection from %s: HELLO from owner \"%s\", protocol version %u",
			  c->peer, c->owner, version);
}

static void
op_auth(rbd_conn *c, const rb_hdr *h, const uint8_t *p)
{
	rbd_server *srv = c->srv;
	uint8_t		secret[RB_SECRET_MAX_LEN];
	size_t		secret_len;
	uint8_t		expect[RB_MAC_LEN];
	uint8_t		mine[RB_MAC_LEN];
	bool		ok;

	if (c->state == RBD_CS_READY)
	{
		proto_error(c, h, RB_ST_BAD_REQUEST, false, "%s",
					srv->auth_required ? "already authenticated" :
					"server runs without authentication");
		return;
	}
	if (h->length != RB_AUTH_SIZE)
	{
		bad_size(c, h);
		return;
	}
	secret_len = rbd_server_get_secret(srv, secret);
	ok = rb_auth_mac(secret, secret_len, RB_AUTH_LABEL_CLIENT,
					 c->server_nonce, c->client_nonce,
					 c->owner, c->owner_len, expect) &&
		rb_auth_mac_equal(expect, p) &&
		rb_auth_mac(secret, secret_len, RB_AUTH_LABEL_SERVER,
					c->client_nonce, c->server_nonce,
					c->owner, c->owner_len, mine);
	memset(secret, 0, sizeof(secret));
	if (!ok)
	{
		rbd_counter_add(&srv->auth_failures, 1);
		rbd_warning("authentication failed for owner \"%s\" from %s",
					c->owner, c->peer);
		rbd_conn_reply_error(c, h, RB_ST_AUTH_FAILED, "authentication failed");
		c->closing = true;
		return;
	}
	rbd_server_set_identity(srv, c, c->owner, c->owner_len, true);
	c->state = RBD_CS_READY;
	rbd_conn_reply(c, h, RB_ST_OK, mine, sizeof(mine));
	rbd_debug("connection from %s authenticated as owner \"%s\"", c->peer, c->owner);
}

static void
op_ping(rbd_conn *c, const rb_hdr *h, const uint8_t *p)
{
	if (h->length > RB_MAX_PING)
	{
		proto_error(c, h, RB_ST_TOO_LARGE, false, "PING payload of %u bytes exceeds %u",
					h->length, RB_MAX_PING);
		return;
	}
	rbd_conn_reply(c, h, RB_ST_OK, p, h->length);
}

/* Where and how to open an RDMA connection: port and a one-use ticket. */
static void
op_rdma_info(rbd_conn *c, const rb_hdr *h)
{
	rbd_server *srv = c->srv;
	uint8_t		reply[RB_RDMA_INFO_SIZE];
	uint16_t	port = 0;

	if (h->length != 0)
	{
		bad_size(c, h);
		return;
	}
	memset(reply, 0, sizeof(reply));
	if (srv->rdma == NULL || srv->rdma_ticket == NULL)
	{
		proto_error(c, h, RB_ST_BAD_REQUEST, false, "RDMA is not enabled on this server");
		return;
	}
	if (!srv->rdma_ticket(srv->rdma, c->owner, c->owner_len, reply + 8, &port))
	{
		rbd_conn_reply_error(c, h, RB_ST_LIMIT, "too many pending RDMA connection tickets");
		return;
	}
	rb_put_u16(reply, port);
	rbd_conn_reply(c, h, RB_ST_OK, reply, sizeof(reply));
}

static void
op_stats(rbd_conn *c, const rb_hdr *h)
{
	uint8_t    *out;
	uint32_t	max_leases;
	uint32_t	max_clients;
	size_t		size;

	if (h->length != 0)
	{
		bad_size(c, h);
		return;
	}
	size = rbd_server_stats_size(c->srv, &max_leases, &max_clients);
	out = rbd_conn_reply_begin(c, h, size);
	if (out == NULL)
		return;
	rbd_conn_reply_end(c, RB_ST_OK,
					   rbd_server_stats(c->srv, out, max_leases, max_clients));
}

static void
lease_reply(rbd_conn *c, const rb_hdr *h, uint32_t st, const rb_lease_info *li,
			uint64_t id)
{
	uint8_t		buf[RB_LEASE_INFO_SIZE];

	if (st == RB_ST_OK)
	{
		rb_lease_info_encode(buf, li);
		rbd_conn_reply(c, h, st, buf, sizeof(buf));
	}
	else if (st == RB_ST_NO_LEASE)
		rbd_conn_reply_error(c, h, st, "no lease %016" PRIx64 " for this owner", id);
	else if (st == RB_ST_LEASE_EXPIRED)
		rbd_conn_reply_error(c, h, st, "lease %016" PRIx64 " expired", id);
	else
		rbd_conn_reply_error(c, h, st, NULL);
}

/*
 * Clients retry refused grants in a loop when memory is short; log the
 * first refusal, then at most one line per 10 s with a count.
 */
static void
log_refusal(rbd_conn *c, const char *msg)
{
	static _Atomic uint64_t last_ms;
	static _Atomic uint64_t suppressed;
	uint64_t	now = rbd_mono_ms();
	uint64_t	last = atomic_load(&last_ms);

	if (last != 0 && now - last < 10000)
	{
		atomic_fetch_add(&suppressed, 1);
		rbd_debug("refused lease to owner \"%s\" from %s: %s", c->owner, c->peer, msg);
		return;
	}
	if (!atomic_compare_exchange_strong(&last_ms, &last, now))
	{
		atomic_fetch_add(&suppressed, 1);
		return;
	}
	last = atomic_exchange(&suppressed, 0);
	if (last > 0)
		rbd_info("refused lease to owner \"%s\" from %s: %s (and %" PRIu64 " refusals since the last report)",
				 c->owner, c->peer, msg, last);
	else
		rbd_info("refused lease to owner \"%s\" from %s: %s", c->owner, c->peer, msg);
}

static void
op_acquire(rbd_conn *c, const rb_hdr *h, const uint8_t *p)
{
	rbd_server *srv = c->srv;
	uint64_t	bytes;
	uint64_t	min_bytes;
	uint32_t	ttl;
	uint32_t	st;
	rb_lease_info li;
	char		msg[RB_MAX_ERRMSG + 1];

	if (h->length != RB_ACQUIRE_REQ_SIZE)
	{
		bad_size(c, h);
		return;
	}
	bytes = rb_get_u64(p);
	min_bytes = rb_get_u64(p + 8);
	ttl = clamp_ttl(srv, rb_get_u32(p + 16));
	if (bytes == 0 || min_bytes > bytes)
	{
		proto_error(c, h, RB_ST_BAD_REQUEST, false,
					"invalid lease size: bytes %" PRIu64 ", min_bytes %" PRIu64,
					bytes, min_bytes);
		return;
	}
	if (rb_get_u32(p + 20) != 0)
	{
		proto_error(c, h, RB_ST_BAD_REQUEST, false, "unknown LEASE_ACQUIRE flags 0x%x",
					rb_get_u32(p + 20));
		return;
	}
	st = rbd_store_acquire(srv->store, c->owner, c->owner_len, bytes, min_bytes, ttl,
						   atomic_load(&srv->limits.max_leases_per_owner),
						   rbd_proto_now(srv), &li, msg, sizeof(msg));
	if (st == RB_ST_OK)
	{
		lease_reply(c, h, st, &li, li.lease_id);
		return;
	}
	if (st == RB_ST_NO_SPACE || st == RB_ST_LIMIT)
	{
		rbd_counter_add(&srv->rejected, 1);
		log_refusal(c, msg);
	}
	rbd_conn_reply_error(c, h, st, "%s", msg[0] ? msg : rb_status_name(st));
}

static void
op_renew(rbd_conn *c, const rb_hdr *h, const uint8_t *p)
{
	uint64_t	id;
	uint32_t	st;
	rb_lease_info li;

	if (h->length != RB_RENEW_REQ_SIZE)
	{
		bad_size(c, h);
		return;
	}
	id = rb_get_u64(p);
	st = rbd_store_renew(c->srv->store, c->owner, c->owner_len, id,
						 clamp_ttl(c->srv, rb_get_u32(p + 8)),
						 rbd_proto_now(c->srv), &li);
	lease_reply(c, h, st, &li, id);
}

static void
op_release(rbd_conn *c, const rb_hdr *h, const uint8_t *p)
{
	uint64_t	id;
	uint32_t	st;

	if (h->length != RB_RELEASE_REQ_SIZE)
	{
		bad_size(c, h);
		return;
	}
	id = rb_get_u64(p);
	st = rbd_store_release(c->srv->store, c->owner, c->owner_len, id,
						   rbd_proto_now(c->srv));
	if (st == RB_ST_OK)
		rbd_conn_reply(c, h, st, NULL, 0);
	else
		lease_reply(c, h, st, NULL, id);
}

static void
op_list(rbd_conn *c, const rb_hdr *h)
{
	uint32_t	max = (RB_MAX_PAYLOAD - 8) / RB_LEASE_INFO_SIZE;
	uint32_t	n;
	uint8_t    *out;

	if (h->length != 0)
	{
		bad_size(c, h);
		return;
	}
	n = rbd_store_owner_leases(c->srv->store, c->owner, c->owner_len);
	if (n < max)
		max = n;
	out = rbd_conn_reply_begin(c, h, 8 + (size_t) max * RB_LEASE_INFO_SIZE);
	if (out == NULL)
		return;
	n = rbd_store_list(c->srv->store, c->owner, c->owner_len,
					   rbd_proto_now(c->srv), out + 8, max);
	rb_put_u32(out, n);
	rb_put_u32(out + 4, 0);
	rbd_conn_reply_end(c, RB_ST_OK, 8 + (size_t) n * RB_LEASE_INFO_SIZE);
}

/* One lease lookup per distinct id in a batch (batches usually hit one). */
typedef struct lease_cache
{
	bool		valid;
	uint64_t	id;
	uint32_t	st;
	uint8_t    *base;
	uint64_t	bytes;
} lease_cache;

static uint32_t
resolve(rbd_conn *c, lease_cache *lc, uint64_t id, uint64_t off, uint32_t len,
		uint64_t now)
{
	if (!lc->valid || lc->id != id)
	{
		lc->base = NULL;
		lc->bytes = 0;
		lc->st = rbd_store_lookup(c->srv->store, c->owner, c->owner_len, id, now,
								  &lc->base, &lc->bytes);
		lc->id = id;
		lc->valid = true;
	}
	if (lc->st != RB_ST_OK)
		return lc->st;
	if (!rb_range_ok(off, len, lc->bytes))
		return RB_ST_OUT_OF_RANGE;
	return RB_ST_OK;
}

static void
io_error(rbd_conn *c, const rb_hdr *h, uint32_t st, uint64_t id, uint64_t off,
		 uint32_t len, uint64_t lease_bytes)
{
	if (st == RB_ST_OUT_OF_RANGE)
		rbd_conn_reply_error(c, h, st,
							 "offset %" PRIu64 " length %u outside lease %016" PRIx64 " of %" PRIu64 " bytes",
							 off, len, id, lease_bytes);
	else
		lease_reply(c, h, st, NULL, id);
}

static void
op_read(rbd_conn *c, const rb_hdr *h, const uint8_t *p)
{
	rbd_server *srv = c->srv;
	lease_cache lc = {0};
	uint64_t	id;
	uint64_t	off;
	uint32_t	len;
	uint32_t	st;
	uint8_t    *out;

	if (h->length != RB_IO_REQ_SIZE)
	{
		bad_size(c, h);
		return;
	}
	id = rb_get_u64(p);
	off = rb_get_u64(p + 8);
	len = rb_get_u32(p + 16);
	if (len > RB_MAX_IO)
	{
		proto_error(c, h, RB_ST_TOO_LARGE, false, "READ of %u bytes exceeds %u",
					len, RB_MAX_IO);
		return;
	}
	out = rbd_conn_reply_begin(c, h, len);
	if (out == NULL)
		return;
	rbd_store_rdlock(srv->store);
	st = resolve(c, &lc, id, off, len, rbd_proto_now(srv));
	if (st == RB_ST_OK)
		rbd_store_copy(srv->store, out, lc.base + off, len, lc.base + off);
	rbd_store_unlock(srv->store);
	if (st != RB_ST_OK)
	{
		rbd_conn_reply_cancel(c);
		io_error(c, h, st, id, off, len, lc.bytes);
		return;
	}
	rbd_server_test_corrupt(srv, out, len, id, off);
	rbd_conn_reply_end(c, RB_ST_OK, len);
	rbd_counter_add(&srv->ops_read, 1);
	rbd_counter_add(&srv->bytes_read, len);
}

static void
op_write(rbd_conn *c, const rb_hdr *h, const uint8_t *p)
{
	rbd_server *srv = c->srv;
	lease_cache lc = {0};
	uint64_t	id;
	uint64_t	off;
	uint32_t	len;
	uint32_t	st;

	if (h->length < RB_IO_REQ_SIZE)
	{
		bad_size(c, h);
		return;
	}
	id = rb_get_u64(p);
	off = rb_get_u64(p + 8);
	len = rb_get_u32(p + 16);
	if (len > RB_MAX_IO)
	{
		proto_error(c, h, RB_ST_TOO_LARGE, false, "WRITE of %u bytes exceeds %u",
					len, RB_MAX_IO);
		return;
	}
	if (h->length - RB_IO_REQ_SIZE != len)
	{
		bad_size(c, h);
		return;
	}
	rbd_store_rdlock(srv->store);
	st = resolve(c, &lc, id, off, len, rbd_proto_now(srv));
	if (st == RB_ST_OK)
		rbd_store_copy(srv->store, lc.base + off, p + RB_IO_REQ_SIZE, len,
					   lc.base + off);
	rbd_store_unlock(srv->store);
	if (st != RB_ST_OK)
	{
		io_error(c, h, st, id, off, len, lc.bytes);
		return;
	}
	rbd_conn_reply(c, h, RB_ST_OK, NULL, 0);
	rbd_counter_add(&srv->ops_write, 1);
	rbd_counter_add(&srv->bytes_written, len);
}

/*
 * Common checks of a READV/WRITEV header and entry table.  Returns false
 * after queueing an error.  data_follows: the payload also carries data.
 */
static bool
iov_check(rbd_conn *c, const rb_hdr *h, const uint8_t *p, bool data_follows,
		  uint32_t *countp, uint64_t *sump)
{
	uint32_t	count;
	uint64_t	table;
	uint64_t	sum = 0;

	if (h->length < RB_IOV_HDR_SIZE)
	{
		bad_size(c, h);
		return false;
	}
	count = rb_get_u32(p);
	if (count > RB_MAX_BATCH)
	{
		proto_error(c, h, RB_ST_TOO_LARGE, false, "batch of %u entries exceeds %u",
					count, RB_MAX_BATCH);
		return false;
	}
	table = RB_IOV_HDR_SIZE + (uint64_t) count * RB_IOV_ENTRY_SIZE;
	if (data_follows ? h->length < table : h->length != table)
	{
		bad_size(c, h);
		return false;
	}
	for (uint32_t i = 0; i < count; i++)
	{
		uint32_t	len = rb_get_u32(p + RB_IOV_HDR_SIZE + (size_t) i * RB_IOV_ENTRY_SIZE + 16);

		if (len > RB_MAX_IO)
		{
			proto_error(c, h, RB_ST_TOO_LARGE, false, "batch entry %u of %u bytes exceeds %u",
						i, len, RB_MAX_IO);
			return false;
		}
		sum += len;
	}
	if (sum > RB_MAX_BATCH_BYTES)
	{
		proto_error(c, h, RB_ST_TOO_LARGE, false, "batch of %" PRIu64 " bytes exceeds %u",
					sum, RB_MAX_BATCH_BYTES);
		return false;
	}
	if (data_follows && h->length - table != sum)
	{
		bad_size(c, h);
		return false;
	}
	if (count == 0)
	{
		proto_error(c, h, RB_ST_BAD_REQUEST, false, "empty batch");
		return false;
	}
	*countp = count;
	*sump = sum;
	return true;
}

static void
op_readv(rbd_conn *c, const rb_hdr *h, const uint8_t *p)
{
	rbd_server *srv = c->srv;
	lease_cache lc = {0};
	uint32_t	count;
	uint64_t	sum;
	uint64_t	nok = 0;
	uint64_t	bytes = 0;
	uint8_t    *out;
	uint8_t    *d;
	uint64_t	now = rbd_proto_now(srv);

	if (!iov_check(c, h, p, false, &count, &sum))
		return;
	out = rbd_conn_reply_begin(c, h, RB_IOV_HDR_SIZE + 4 * (size_t) count + sum);
	if (out == NULL)
		return;
	rb_put_u32(out, count);
	rb_put_u32(out + 4, 0);
	d = out + RB_IOV_HDR_SIZE + 4 * (size_t) count;

	rbd_store_rdlock(srv->store);
	for (uint32_t i = 0; i < count; i++)
	{
		const uint8_t *e = p + RB_IOV_HDR_SIZE + (size_t) i * RB_IOV_ENTRY_SIZE;
		uint64_t	off = rb_get_u64(e + 8);
		uint32_t	len = rb_get_u32(e + 16);
		uint32_t	st = resolve(c, &lc, rb_get_u64(e), off, len, now);

		if (st == RB_ST_OK)
		{
			rbd_store_copy(srv->store, d, lc.base + off, len, lc.base + off);
			rbd_server_test_corrupt(srv, d, len, rb_get_u64(e), off);
			d += len;
			nok++;
			bytes += len;
		}
		rb_put_u32(out + RB_IOV_HDR_SIZE + 4 * (size_t) i, st);
	}
	rbd_store_unlock(srv->store);

	rbd_conn_reply_end(c, RB_ST_OK, (size_t) (d - out));
	rbd_counter_add(&srv->ops_read, nok);
	rbd_counter_add(&srv->bytes_read, bytes);
}

static void
op_writev(rbd_conn *c, const rb_hdr *h, const uint8_t *p)
{
	rbd_server *srv = c->srv;
	lease_cache lc = {0};
	uint32_t	count;
	uint64_t	sum;
	uint64_t	nok = 0;
	uint64_t	bytes = 0;
	uint8_t    *out;
	const uint8_t *d;
	uint64_t	now = rbd_proto_now(srv);

	if (!iov_check(c, h, p, true, &count, &sum))
		return;
	out = rbd_conn_reply_begin(c, h, RB_IOV_HDR_SIZE + 4 * (size_t) count);
	if (out == NULL)
		return;
	rb_put_u32(out, count);
	rb_put_u32(out + 4, 0);
	d = p + RB_IOV_HDR_SIZE + (size_t) count * RB_IOV_ENTRY_SIZE;

	rbd_store_rdlock(srv->store);
	for (uint32_t i = 0; i < count; i++)
	{
		const uint8_t *e = p + RB_IOV_HDR_SIZE + (size_t) i * RB_IOV_ENTRY_SIZE;
		uint64_t	off = rb_get_u64(e + 8);
		uint32_t	len = rb_get_u32(e + 16);
		uint32_t	st = resolve(c, &lc, rb_get_u64(e), off, len, now);

		if (st == RB_ST_OK)
		{
			rbd_store_copy(srv->store, lc.base + off, d, len, lc.base + off);
			nok++;
			bytes += len;
		}
		d += len;
		rb_put_u32(out + RB_IOV_HDR_SIZE + 4 * (size_t) i, st);
	}
	rbd_store_unlock(srv->store);

	rbd_conn_reply_end(c, RB_ST_OK, RB_IOV_HDR_SIZE + 4 * (size_t) count);
	rbd_counter_add(&srv->ops_write, nok);
	rbd_counter_add(&srv->bytes_written, bytes);
}

void
rbd_proto_dispatch(rbd_conn *c, const rb_hdr *h, const uint8_t *p)
{
	rbd_counter_add(&c->ops, 1);
	c->last_active = rbd_mono_ms();

	if (h->opcode == RB_OP_HELLO)
	{
		op_hello(c, h, p);
		return;
	}
	if (h->opcode == RB_OP_AUTH)
	{
		op_auth(c, h, p);
		return;
	}
	/* rbd_proto_check_header() has already refused these; be sure. */
	if (c->state != RBD_CS_READY)
	{
		proto_error(c, h, RB_ST_AUTH_REQUIRED, true, "authentication required");
		return;
	}
	switch (h->opcode)
	{
		case RB_OP_PING:
			op_ping(c, h, p);
			break;
		case RB_OP_STATS:
			op_stats(c, h);
			break;
		case RB_OP_RDMA_INFO:
			op_rdma_info(c, h);
			break;
		case RB_OP_LEASE_ACQUIRE:
			op_acquire(c, h, p);
			break;
		case RB_OP_LEASE_RENEW:
			op_renew(c, h, p);
			break;
		case RB_OP_LEASE_RELEASE:
			op_release(c, h, p);
			break;
		case RB_OP_LEASE_LIST:
			op_list(c, h);
			break;
		case RB_OP_READ:
			op_read(c, h, p);
			break;
		case RB_OP_WRITE:
			op_write(c, h, p);
			break;
		case RB_OP_READV:
			op_readv(c, h, p);
			break;
		case RB_OP_WRITEV:
			op_writev(c, h, p);
			break;
		default:
			proto_error(c, h, RB_ST_UNKNOWN_OP, false, "unknown opcode 0x%04x", h->opcode);
			break;
	}
}
