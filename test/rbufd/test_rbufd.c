/*-------------------------------------------------------------------------
 *
 * test_rbufd.c
 *	  Integration tests of rbufd and the client library against real rbufd
 *	  processes on loopback: leases, page I/O, batches, expiry zeroing,
 *	  authentication, isolation, limits, malformed frames, deadlines
 *	  against a stopped daemon, restart manners.  Prints TAP.
 *
 *	  The same source is built plainly and under ASan+UBSan; with RBUFD set
 *	  to a sanitizer build, every daemon's log is checked for reports.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rb_client.h"
#include "rbtest.h"

#define PAGE 8192

static rbd_proc main_d;			/* shared daemon for most tests */

static void
opts_for(rb_client_opts *o, const rbd_proc *d, const char *owner)
{
	memset(o, 0, sizeof(*o));
	o->host = "127.0.0.1";
	o->port = d->port;
	o->secret = d->secret_len ? d->secret : NULL;
	o->secret_len = d->secret_len;
	o->owner = owner;
	o->connect_timeout_ms = 5000;
	o->io_timeout_ms = 5000;
}

static bool
connect_as(rb_conn *c, const rbd_proc *d, const char *owner)
{
	rb_client_opts o;
	rb_error	e;

	opts_for(&o, d, owner);
	rb_conn_init(c);
	e = rb_connect(c, &o);
	if (e != RB_OK)
		tap_diag("connect as %s: %s: %s", owner, rb_error_name(e), rb_errmsg(c));
	return e == RB_OK;
}

static bool
all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static uint64_t
stat_value(rb_conn *c, rb_stats_field f)
{
	rb_stats	s;

	if (rb_stats_get(c, &s, NULL, 0, NULL, NULL, 0, NULL) != RB_OK)
		return UINT64_MAX;
	return s.v[f];
}

/* Lease acquire, renew, release. */
static void
test_lease_lifecycle(void)
{
	rb_conn		c;
	rb_lease_info li,
				li2;
	rb_error	e;
	uint32_t	rtt = 0;

	if (!tap_ok(connect_as(&c, &main_d, "pg-a"), "connect and authenticate"))
		return;
	tap_ok(c.server_instance != 0, "server instance id reported");
	tap_is(rb_ping(&c, &rtt), RB_OK, "ping");

	e = rb_lease_acquire(&c, 1024 * 1024, 0, 5000, &li);
	tap_is(e, RB_OK, "acquire 1 MiB lease");
	tap_is(li.bytes, 1024 * 1024, "granted bytes equal requested");
	tap_ok(li.ttl_ms > 4000 && li.ttl_ms <= 5000, "ttl granted (%u ms)", li.ttl_ms);
	tap_ok(li.lease_id != 0, "lease id assigned");

	sleep_ms(300);
	e = rb_lease_renew(&c, li.lease_id, 8000, &li2);
	tap_is(e, RB_OK, "renew");
	tap_ok(li2.ttl_ms > 7000 && li2.lease_id == li.lease_id,
		   "renew extends the lease (%u ms)", li2.ttl_ms);
	tap_ok(li2.expires_at_ms > li.expires_at_ms, "renew moves expires_at forward");

	tap_is(rb_lease_release(&c, li.lease_id), RB_OK, "release");
	e = rb_lease_renew(&c, li.lease_id, 8000, &li2);
	tap_ok(e == RB_E_NO_LEASE || e == RB_E_LEASE_EXPIRED,
		   "renew after release refused (%s)", rb_error_name(e));
	tap_ok(rb_connected(&c), "connection survives a per-operation error");
	rb_close(&c);
}

/* Page write then read back, batched variants, fresh lease is zeroed. */
static void
test_page_io(void)
{
	rb_conn		c;
	rb_lease_info li;
	static uint8_t w[16][PAGE],
				r[16][PAGE];
	rb_iov		iov[16];
	rb_error	e;
	bool		same = true;
	uint64_t	written_before;

	if (!connect_as(&c, &main_d, "pg-io"))
	{
		tap_ok(false, "connect for page I/O");
		return;
	}
	if (rb_lease_acquire(&c, 1024 * 1024, 0, 30000, &li) != RB_OK)
	{
		tap_ok(false, "acquire for page I/O: %s", rb_errmsg(&c));
		return;
	}
	written_before = stat_value(&c, RB_SF_BYTES_WRITTEN);

	tap_is(rb_read(&c, li.lease_id, 5 * PAGE, r[0], PAGE), RB_OK, "read unwritten page");
	tap_ok(all_zero(r[0], PAGE), "a fresh lease reads as zeroes");

	fill_page(w[0], PAGE, 1);
	tap_is(rb_write(&c, li.lease_id, 0, w[0], PAGE), RB_OK, "write page 0");
	fill_page(w[1], PAGE, 2);
	tap_is(rb_write(&c, li.lease_id, 127 * PAGE, w[1], PAGE), RB_OK, "write last page");
	tap_is(rb_read(&c, li.lease_id, 0, r[0], PAGE), RB_OK, "read page 0");
	tap_ok(memcmp(w[0], r[0], PAGE) == 0, "page 0 byte-identical");
	tap_is(rb_read(&c, li.lease_id, 127 * PAGE, r[1], PAGE), RB_OK, "read last page");
	tap_ok(memcmp(w[1], r[1], PAGE) == 0, "last page byte-identical");

	/* Batched: 16 pages at scattered slots. */
	for (int i = 0; i < 16; i++)
	{
		fill_page(w[i], PAGE, 100 + (uint32_t) i);
		iov[i].lease_id = li.lease_id;
		iov[i].offset = (uint64_t) (i * 7 + 3) * PAGE;
		iov[i].length = PAGE;
		iov[i].buf = w[i];
		iov[i].status = RB_E_SERVER;
	}
	e = rb_writev(&c, iov, 16);
	tap_is(e, RB_OK, "writev of 16 pages");
	for (int i = 0; i < 16; i++)
		same &= iov[i].status == RB_OK;
	tap_ok(same, "every writev entry ok");
	for (int i = 0; i < 16; i++)
	{
		memset(r[i], 0xAA, PAGE);
		iov[i].buf = r[i];
		iov[i].status = RB_E_SERVER;
	}
	e = rb_readv(&c, iov, 16);
	tap_is(e, RB_OK, "readv of 16 pages");
	same = true;
	for (int i = 0; i < 16; i++)
		same &= iov[i].status == RB_OK && memcmp(w[i], r[i], PAGE) == 0;
	tap_ok(same, "readv returns every page byte-identical");

	/* One bad entry does not poison the batch. */
	iov[3].offset = 128 * PAGE;
	iov[5].lease_id = li.lease_id ^ 0x5555;
	e = rb_readv(&c, iov, 8);
	tap_is(e, RB_OK, "readv with bad entries is carried out");
	tap_is(iov[3].status, RB_E_OUT_OF_RANGE, "out-of-range batch entry refused");
	tap_is(iov[5].status, RB_E_NO_LEASE, "unknown-lease batch entry refused");
	tap_ok(iov[0].status == RB_OK && iov[7].status == RB_OK &&
		   memcmp(w[7], r[7], PAGE) == 0, "good entries of that batch served");

	tap_ok(stat_value(&c, RB_SF_BYTES_WRITTEN) >= written_before + 18 * PAGE,
		   "stats count bytes written");

	/* Pipelining over a raw socket: replies come in order with req ids. */
	{
		int			fd = raw_connect(main_d.port);
		uint8_t		frames[3 * (RB_HDR_SIZE + 4)];
		rb_hdr		h;
		uint8_t		pl[64];
		bool		inorder = fd >= 0 && raw_handshake(fd, "pg-pipe", main_d.secret, main_d.secret_len);

		for (int i = 0; i < 3; i++)
		{
			rb_hdr_encode(frames + i * (RB_HDR_SIZE + 4), RB_OP_PING, 0, 0, 4, 700 + (uint64_t) i);
			rb_put_u32(frames + i * (RB_HDR_SIZE + 4) + RB_HDR_SIZE, 0xC0DE0000u + (uint32_t) i);
		}
		inorder = inorder && raw_send(fd, frames, sizeof(frames));
		for (int i = 0; i < 3 && inorder; i++)
			inorder = raw_recv_frame(fd, &h, pl, sizeof(pl), 3000) == 1 &&
				h.req_id == 700 + (uint64_t) i && (h.flags & RB_FLAG_REPLY) &&
				h.length == 4 && rb_get_u32(pl) == 0xC0DE0000u + (uint32_t) i;
		tap_ok(inorder, "pipelined requests answered in order with their req ids");
		if (fd >= 0)
			close(fd);
	}

	rb_lease_release(&c, li.lease_id);
	rb_close(&c);
}

/* Out-of-lease access, foreign leases, oversize leases, limits. */
static void
test_isolation(void)
{
	rb_conn		a,
				b;
	rb_lease_info la,
				lb,
				tmp;
	static uint8_t page[PAGE];
	static uint8_t big[RB_MAX_IO + PAGE];
	rb_error	e;

	if (!connect_as(&a, &main_d, "owner-a") || !connect_as(&b, &main_d, "owner-b"))
	{
		tap_ok(false, "connect two owners");
		return;
	}
	if (rb_lease_acquire(&a, 256 * 1024, 0, 30000, &la) != RB_OK ||
		rb_lease_acquire(&b, 256 * 1024, 0, 30000, &lb) != RB_OK)
	{
		tap_ok(false, "acquire leases for isolation tests");
		return;
	}
	fill_page(page, PAGE, 9);
	rb_write(&a, la.lease_id, 0, page, PAGE);

	tap_is(rb_read(&a, la.lease_id, 256 * 1024, page, PAGE), RB_E_OUT_OF_RANGE,
		   "read starting at lease end refused");
	tap_is(rb_read(&a, la.lease_id, 256 * 1024 - 100, page, PAGE), RB_E_OUT_OF_RANGE,
		   "read straddling lease end refused");
	tap_is(rb_write(&a, la.lease_id, UINT64_MAX - 100, page, PAGE), RB_E_OUT_OF_RANGE,
		   "write at offset near 2^64 refused (no wrap-around)");
	tap_is(rb_read(&b, la.lease_id, 0, page, PAGE), RB_E_NO_LEASE,
		   "another owner's lease is invisible on read");
	tap_is(rb_write(&b, la.lease_id, 0, page, PAGE), RB_E_NO_LEASE,
		   "another owner's lease is invisible on write");
	tap_is(rb_lease_release(&b, la.lease_id), RB_E_NO_LEASE,
		   "another owner cannot release a lease");
	tap_is(rb_lease_renew(&b, la.lease_id, 1000, &tmp), RB_E_NO_LEASE,
		   "another owner cannot renew a lease");
	tap_is(rb_read(&a, 0x1234567890abcdefULL, 0, page, PAGE), RB_E_NO_LEASE,
		   "made-up lease id refused");
	memset(page, 0, PAGE);
	tap_ok(rb_read(&a, la.lease_id, 0, page, PAGE) == RB_OK && !all_zero(page, PAGE),
		   "owner's data intact after foreign attempts");

	e = rb_read(&a, la.lease_id, 0, big, RB_MAX_IO + PAGE);
	tap_is(e, RB_E_INVALID, "client refuses a read beyond the protocol limit");
	tap_ok(rb_connected(&a), "client-side refusal keeps the connection");

	e = rb_lease_acquire(&a, (uint64_t) 1 << 40, 0, 1000, &tmp);
	tap_is(e, RB_E_NO_SPACE, "lease larger than the pool refused");
	tap_ok(strstr(rb_errmsg(&a), "bytes") != NULL,
		   "no-space error explains sizes: %s", rb_errmsg(&a));
	e = rb_lease_acquire(&a, 64 * 1024, 128 * 1024, 1000, &tmp);
	tap_ok(e == RB_E_SERVER || e == RB_E_INVALID,
		   "min_bytes above bytes refused (%s)", rb_error_name(e));

	rb_lease_release(&a, la.lease_id);
	rb_lease_release(&b, lb.lease_id);
	rb_close(&a);
	rb_close(&b);
}

/* A lease outlives its connection; re-attach needs the same owner+secret. */
static void
test_reattach(void)
{
	rb_conn		c;
	rb_lease_info li,
				list[8];
	uint32_t	n = 0;
	static uint8_t w[PAGE],
				r[PAGE];
	bool		found = false;
	rb_client_opts o;

	if (!connect_as(&c, &main_d, "pg-restart") ||
		rb_lease_acquire(&c, 128 * 1024, 0, 30000, &li) != RB_OK)
	{
		tap_ok(false, "set up re-attach test");
		return;
	}
	fill_page(w, PAGE, 77);
	rb_write(&c, li.lease_id, PAGE, w, PAGE);
	rb_close(&c);

	tap_ok(connect_as(&c, &main_d, "pg-restart"), "reconnect as the same owner");
	tap_is(rb_lease_list(&c, list, 8, &n), RB_OK, "list leases");
	for (uint32_t i = 0; i < n; i++)
		found |= list[i].lease_id == li.lease_id;
	tap_ok(found, "lease survived the disconnect");
	tap_ok(rb_read(&c, li.lease_id, PAGE, r, PAGE) == RB_OK && memcmp(w, r, PAGE) == 0,
		   "re-attached lease keeps its data");
	rb_close(&c);

	tap_ok(connect_as(&c, &main_d, "pg-other"), "connect as another owner");
	n = 99;
	rb_lease_list(&c, list, 8, &n);
	found = false;
	for (uint32_t i = 0; i < n && i < 8; i++)
		found |= list[i].lease_id == li.lease_id;
	tap_ok(!found, "another owner does not see the lease");
	rb_close(&c);

	opts_for(&o, &main_d, "pg-restart");
	o.secret = (const uint8_t *) "not-the-right-secret-at-all";
	o.secret_len = strlen((const char *) o.secret);
	rb_conn_init(&c);
	tap_is(rb_connect(&c, &o), RB_E_AUTH, "re-attach with a wrong secret fails");
	tap_ok(!rb_connected(&c), "failed auth leaves no connection");

	connect_as(&c, &main_d, "pg-restart");
	rb_lease_release(&c, li.lease_id);
	rb_close(&c);
}

/* Authentication failures touch nothing. */
static void
test_auth(void)
{
	rb_conn		c;
	rb_client_opts o;
	uint64_t	fails_before,
				leases_before;
	int			fd;
	uint8_t		buf[RB_HDR_SIZE + RB_ACQUIRE_REQ_SIZE];
	uint8_t		pl[512];
	rb_hdr		h;

	if (!connect_as(&c, &main_d, "observer"))
	{
		tap_ok(false, "observer connection");
		return;
	}
	fails_before = stat_value(&c, RB_SF_AUTH_FAILURES);
	leases_before = stat_value(&c, RB_SF_LEASES);

	opts_for(&o, &main_d, "intruder");
	o.secret = (const uint8_t *) "0123456789abcdef0123456789abcdeX";
	o.secret_len = 32;
	{
		rb_conn		bad;

		rb_conn_init(&bad);
		tap_is(rb_connect(&bad, &o), RB_E_AUTH, "wrong secret: RB_E_AUTH");
	}
	opts_for(&o, &main_d, "intruder");
	o.secret = NULL;
	o.secret_len = 0;
	{
		rb_conn		bad;

		rb_conn_init(&bad);
		tap_is(rb_connect(&bad, &o), RB_E_AUTH, "no secret against an auth server: RB_E_AUTH");
	}

	/* Raw: HELLO then LEASE_ACQUIRE without AUTH. */
	fd = raw_connect(main_d.port);
	tap_ok(fd >= 0 && raw_handshake(fd, "intruder", NULL, 0) == false,
		   "raw HELLO reports auth required");
	rb_hdr_encode(buf, RB_OP_LEASE_ACQUIRE, 0, 0, RB_ACQUIRE_REQ_SIZE, 5);
	rb_put_u64(buf + RB_HDR_SIZE, 65536);
	rb_put_u64(buf + RB_HDR_SIZE + 8, 0);
	rb_put_u32(buf + RB_HDR_SIZE + 16, 10000);
	rb_put_u32(buf + RB_HDR_SIZE + 20, 0);
	raw_send(fd, buf, sizeof(buf));
	tap_ok(raw_recv_frame(fd, &h, pl, sizeof(pl), 3000) == 1 &&
		   h.status == RB_ST_AUTH_REQUIRED, "lease request before AUTH answered auth-required");
	tap_ok(raw_wait_closed(fd, 3000), "and the connection is closed");
	close(fd);

	/* Raw: AUTH with a garbage MAC. */
	fd = raw_connect(main_d.port);
	{
		uint8_t		garbage[32];

		memset(garbage, 0x42, sizeof(garbage));
		tap_ok(fd >= 0 && !raw_handshake(fd, "intruder", garbage, sizeof(garbage)),
			   "AUTH with a wrong MAC refused");
		tap_ok(raw_wait_closed(fd, 3000), "connection closed after failed AUTH");
	}
	close(fd);

	/* Raw: a data op as the very first frame. */
	fd = raw_connect(main_d.port);
	rb_hdr_encode(buf, RB_OP_LEASE_ACQUIRE, 0, 0, RB_ACQUIRE_REQ_SIZE, 6);
	raw_send(fd, buf, sizeof(buf));
	tap_ok(raw_wait_closed(fd, 3000), "a first frame other than HELLO gets the connection closed");
	close(fd);

	tap_ok(stat_value(&c, RB_SF_AUTH_FAILURES) >= fails_before + 2,
		   "auth failures counted");
	tap_is(stat_value(&c, RB_SF_LEASES), leases_before,
		   "failed clients created no lease");
	rb_close(&c);
}

/* Malformed frames never crash or wedge the daemon. */
static void
test_malformed(void)
{
	int			fd;
	uint8_t		buf[RB_HDR_SIZE + 64];
	uint8_t		pl[512];
	rb_hdr		h;
	int			r;
	rb_conn		c;
	uint64_t	perr_before = 0;

	if (connect_as(&c, &main_d, "observer2"))
		perr_before = stat_value(&c, RB_SF_PROTOCOL_ERRORS);

	/* Truncated header, then hang up. */
	fd = raw_connect(main_d.port);
	rb_hdr_encode(buf, RB_OP_HELLO, 0, 0, 40, 1);
	raw_send(fd, buf, 10);
	close(fd);

	/* Truncated payload, then hang up. */
	fd = raw_connect(main_d.port);
	rb_hdr_encode(buf, RB_OP_HELLO, 0, 0, 60, 1);
	raw_send(fd, buf, RB_HDR_SIZE + 5);
	close(fd);

	/* Oversize length. */
	fd = raw_connect(main_d.port);
	rb_hdr_encode(buf, RB_OP_HELLO, 0, 0, RB_MAX_PAYLOAD + 1, 1);
	raw_send(fd, buf, RB_HDR_SIZE);
	r = raw_recv_frame(fd, &h, pl, sizeof(pl), 3000);
	tap_ok((r == 1 && h.status == RB_ST_BAD_FRAME) || r == 0,
		   "oversize length answered bad-frame or closed");
	tap_ok(raw_wait_closed(fd, 3000), "oversize length: connection closed");
	close(fd);

	/* Huge length with a wrong magic (garbage). */
	fd = raw_connect(main_d.port);
	{
		uint8_t		g[4096];

		for (size_t i = 0; i < sizeof(g); i++)
			g[i] = (uint8_t) (i * 131 + 7);
		raw_send(fd, g, sizeof(g));
	}
	tap_ok(raw_wait_closed(fd, 3000), "garbage bytes: connection closed");
	close(fd);

	/* Authenticated, then an unknown opcode: error reply, connection lives. */
	fd = raw_connect(main_d.port);
	if (fd >= 0 && raw_handshake(fd, "fuzzy", main_d.secret, main_d.secret_len))
	{
		rb_hdr_encode(buf, 0x7777, 0, 0, 0, 42);
		raw_send(fd, buf, RB_HDR_SIZE);
		r = raw_recv_frame(fd, &h, pl, sizeof(pl), 3000);
		tap_ok(r == 1 && h.status == RB_ST_UNKNOWN_OP && h.req_id == 42,
			   "unknown opcode answered with an error reply");
		rb_hdr_encode(buf, RB_OP_PING, 0, 0, 0, 43);
		raw_send(fd, buf, RB_HDR_SIZE);
		r = raw_recv_frame(fd, &h, pl, sizeof(pl), 3000);
		tap_ok(r == 1 && h.status == RB_ST_OK && h.req_id == 43,
			   "connection still usable after the unknown opcode");

		/* READ with a short payload. */
		rb_hdr_encode(buf, RB_OP_READ, 0, 0, 7, 44);
		memset(buf + RB_HDR_SIZE, 0, 7);
		raw_send(fd, buf, RB_HDR_SIZE + 7);
		r = raw_recv_frame(fd, &h, pl, sizeof(pl), 3000);
		tap_ok((r == 1 && h.status == RB_ST_BAD_FRAME) || r == 0,
			   "READ with a short payload answered bad-frame");
		tap_ok(raw_wait_closed(fd, 3000), "and the connection closed");
	}
	else
		tap_ok(false, "raw handshake for malformed-frame tests");
	if (fd >= 0)
		close(fd);

	/* READ asking more than the protocol allows. */
	fd = raw_connect(main_d.port);
	if (fd >= 0 && raw_handshake(fd, "fuzzy", main_d.secret, main_d.secret_len))
	{
		rb_hdr_encode(buf, RB_OP_READ, 0, 0, RB_IO_REQ_SIZE, 45);
		rb_put_u64(buf + RB_HDR_SIZE, 1);
		rb_put_u64(buf + RB_HDR_SIZE + 8, 0);
		rb_put_u32(buf + RB_HDR_SIZE + 16, RB_MAX_IO * 2);
		rb_put_u32(buf + RB_HDR_SIZE + 20, 0);
		raw_send(fd, buf, RB_HDR_SIZE + RB_IO_REQ_SIZE);
		r = raw_recv_frame(fd, &h, pl, sizeof(pl), 3000);
		tap_ok(r == 1 && h.status == RB_ST_TOO_LARGE, "READ above RB_MAX_IO answered too-large");
	}
	else
		tap_ok(false, "raw handshake for too-large test");
	if (fd >= 0)
		close(fd);

	tap_ok(rbd_alive(&main_d), "daemon alive after malformed input");
	if (rb_connected(&c))
	{
		tap_ok(stat_value(&c, RB_SF_PROTOCOL_ERRORS) > perr_before,
			   "protocol errors counted");
		rb_close(&c);
	}
	tap_ok(connect_as(&c, &main_d, "after-garbage"), "new clients still served");
	rb_close(&c);
}

/* Expiry and release zero memory before anyone else can lease it. */
static void
test_expiry_zeroing(void)
{
	rbd_proc	d;
	const char *const extra[] = {"--memory", "1M", "--min-ttl", "100", NULL};
	rb_conn		a,
				b;
	rb_lease_info la,
				lb;
	static uint8_t page[PAGE];
	static uint8_t all[1024 * 1024];
	rb_error	e;
	uint64_t	deadline;

	if (!tap_ok(rbd_start(&d, false, extra), "start a 1 MiB rbufd"))
		return;
	if (!connect_as(&a, &d, "first") || !connect_as(&b, &d, "second"))
	{
		tap_ok(false, "connect to the 1 MiB rbufd");
		rbd_stop(&d);
		return;
	}
	tap_is(rb_lease_acquire(&a, 1024 * 1024, 0, 400, &la), RB_OK, "first owner leases all memory");
	for (int i = 0; i < 128; i++)
	{
		fill_page(page, PAGE, 1000 + (uint32_t) i);
		rb_write(&a, la.lease_id, (uint64_t) i * PAGE, page, PAGE);
	}
	e = rb_lease_acquire(&b, PAGE, 0, 1000, &lb);
	tap_is(e, RB_E_NO_SPACE, "no overcommit while the lease lives");

	sleep_ms(700);
	e = rb_read(&a, la.lease_id, 0, page, PAGE);
	tap_ok(e == RB_E_LEASE_EXPIRED, "read of an expired lease refused as expired (%s)",
		   rb_error_name(e));

	deadline = now_ms() + 5000;
	do
	{
		e = rb_lease_acquire(&b, 1024 * 1024, 0, 5000, &lb);
		if (e == RB_E_NO_SPACE)
			sleep_ms(50);
	} while (e == RB_E_NO_SPACE && now_ms() < deadline);
	tap_is(e, RB_OK, "second owner gets the reclaimed memory");
	if (e == RB_OK)
	{
		bool		ok = true;

		for (int i = 0; i < 128 && ok; i++)
			ok = rb_read(&b, lb.lease_id, (uint64_t) i * PAGE, all + i * PAGE, PAGE) == RB_OK;
		tap_ok(ok && all_zero(all, sizeof(all)),
			   "reclaimed memory reads as zeroes only");
		tap_ok(lb.lease_id != la.lease_id, "lease ids are not reused");

		/* Release: same rule. */
		memset(page, 0x5a, PAGE);
		for (int i = 0; i < 128; i++)
			rb_write(&b, lb.lease_id, (uint64_t) i * PAGE, page, PAGE);
		tap_is(rb_lease_release(&b, lb.lease_id), RB_OK, "second owner releases");
		deadline = now_ms() + 5000;
		do
		{
			e = rb_lease_acquire(&a, 1024 * 1024, 0, 5000, &la);
			if (e == RB_E_NO_SPACE)
				sleep_ms(50);
		} while (e == RB_E_NO_SPACE && now_ms() < deadline);
		ok = e == RB_OK;
		for (int i = 0; i < 128 && ok; i++)
			ok = rb_read(&a, la.lease_id, (uint64_t) i * PAGE, all + i * PAGE, PAGE) == RB_OK;
		tap_ok(ok && all_zero(all, sizeof(all)), "released memory reads as zeroes only");
		tap_ok(stat_value(&a, RB_SF_LEASES_EXPIRED) >= 1, "expiry counted in stats");
	}
	rb_close(&a);
	rb_close(&b);
	tap_ok(rbd_stop(&d), "1 MiB rbufd stops cleanly on SIGTERM");
	tap_ok(rbd_log_clean(&d), "1 MiB rbufd log has no sanitizer report");
}

/* A stopped (SIGSTOP) daemon never holds a caller past its deadline. */
static void
test_deadline(void)
{
	rb_conn		c;
	rb_lease_info li;
	static uint8_t page[PAGE];
	rb_client_opts o;
	uint64_t	t0,
				el;
	rb_error	e;

	if (!connect_as(&c, &main_d, "stall") ||
		rb_lease_acquire(&c, 64 * 1024, 0, 60000, &li) != RB_OK)
	{
		tap_ok(false, "set up deadline test");
		return;
	}
	rb_set_timeout(&c, 300);
	kill(main_d.pid, SIGSTOP);
	sleep_ms(50);

	t0 = now_ms();
	e = rb_read(&c, li.lease_id, 0, page, PAGE);
	el = now_ms() - t0;
	tap_is(e, RB_E_TIMEOUT, "read against a stopped daemon times out");
	tap_ok(el >= 250 && el < 1300, "deadline honoured: %llu ms for a 300 ms timeout",
		   (unsigned long long) el);
	tap_ok(!rb_connected(&c), "timed-out connection is closed");

	opts_for(&o, &main_d, "stall2");
	o.connect_timeout_ms = 300;
	rb_conn_init(&c);
	t0 = now_ms();
	e = rb_connect(&c, &o);
	el = now_ms() - t0;
	tap_is(e, RB_E_TIMEOUT, "connect to a stopped daemon times out");
	tap_ok(el >= 250 && el < 1300, "connect deadline honoured: %llu ms",
		   (unsigned long long) el);

	kill(main_d.pid, SIGCONT);
	tap_ok(connect_as(&c, &main_d, "stall"), "daemon serves again after SIGCONT");
	rb_lease_release(&c, li.lease_id);
	rb_close(&c);
}

/* Admission limits. */
static void
test_limits(void)
{
	rbd_proc	d;
	const char *const extra[] = {"--memory", "4M", "--max-clients", "2",
	"--max-leases-per-client", "2", NULL};
	rb_conn		c1,
				c2,
				c3;
	rb_lease_info li;
	rb_error	e;
	rb_client_opts o;

	if (!tap_ok(rbd_start(&d, false, extra), "start rbufd with small limits"))
		return;
	connect_as(&c1, &d, "lim");
	connect_as(&c2, &d, "lim");
	opts_for(&o, &d, "lim");
	rb_conn_init(&c3);
	e = rb_connect(&c3, &o);
	tap_ok(e == RB_E_LIMIT || e == RB_E_DISCONNECTED,
		   "third client refused by max-clients (%s)", rb_error_name(e));
	rb_close(&c3);

	tap_is(rb_lease_acquire(&c1, 65536, 0, 10000, &li), RB_OK, "first lease");
	tap_is(rb_lease_acquire(&c2, 65536, 0, 10000, &li), RB_OK, "second lease (same owner)");
	e = rb_lease_acquire(&c1, 65536, 0, 10000, &li);
	tap_is(e, RB_E_LIMIT, "third lease refused by max-leases-per-client");
	rb_close(&c1);
	rb_close(&c2);
	tap_ok(rbd_stop(&d), "limits rbufd stops cleanly");
	tap_ok(rbd_log_clean(&d), "limits rbufd log has no sanitizer report");
}

/* Start-up refusals, no-auth mode, SIGHUP reload. */
static void
test_manners(void)
{
	char		out[8192];
	int			st;
	rbd_proc	d;
	rb_conn		c;
	rb_lease_info li;
	char		path[400];

	{
		const char *args[] = {rbd_binary(), "--port", "0", "--memory", "1M", NULL};

		st = rbd_run_expect_exit(args, 15000, out, sizeof(out));
		tap_ok(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0,
			   "refuses to start without a secret or --insecure-no-auth");
		tap_ok(strstr(out, "secret") != NULL, "and says why: %.120s", out);
	}
	{
		const char *args[] = {rbd_binary(), "--port", "0", "--memory", "1M",
		"--insecure-no-auth", "--listen", "0.0.0.0", NULL};

		st = rbd_run_expect_exit(args, 15000, out, sizeof(out));
		tap_ok(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0,
			   "--insecure-no-auth refuses a non-loopback address");
	}
	{
		const char *args[] = {rbd_binary(), "--port", "0", "--memory", "lots", NULL};

		st = rbd_run_expect_exit(args, 15000, out, sizeof(out));
		tap_ok(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 2,
			   "bad --memory value: exit 2");
	}
	{
		const char *args[] = {rbd_binary(), "--help", NULL};

		st = rbd_run_expect_exit(args, 15000, out, sizeof(out));
		tap_ok(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
			   strstr(out, "--secret-file") && strstr(out, "--memory") &&
			   strstr(out, "--numa-node") && strstr(out, "--max-clients"),
			   "--help documents the flags");
	}
	{
		/* Secret file readable by others. */
		char		dir[] = "/tmp/rbtest.XXXXXX";
		int			fd;

		if (mkdtemp(dir))
		{
			snprintf(path, sizeof(path), "%s/secret", dir);
			fd = open(path, O_WRONLY | O_CREAT, 0644);
			if (fd >= 0)
			{
				if (write(fd, "0123456789abcdef0123\n", 21) != 21)
					tap_diag("short write");
				close(fd);
				chmod(path, 0644);
			}
			{
				const char *args[] = {rbd_binary(), "--port", "0", "--memory", "1M",
				"--secret-file", path, NULL};

				st = rbd_run_expect_exit(args, 15000, out, sizeof(out));
				tap_ok(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0 &&
					   strstr(out, "group or world"),
					   "refuses a secret file readable by others");
			}
			unlink(path);
			rmdir(dir);
		}
	}

	/* No-auth mode on loopback works without a secret. */
	{
		const char *const extra[] = {"--memory", "1M", NULL};

		if (tap_ok(rbd_start(&d, true, extra), "start rbufd with --insecure-no-auth"))
		{
			tap_ok(connect_as(&c, &d, "noauth") &&
				   rb_lease_acquire(&c, 65536, 0, 5000, &li) == RB_OK,
				   "no-auth daemon serves a client without a secret");
			rb_close(&c);
			tap_ok(rbd_stop(&d), "no-auth rbufd stops cleanly");
		}
	}

	/* SIGHUP re-reads the config file. */
	{
		const char *const extra[] = {"--memory", "4M", "--config", NULL, NULL};
		const char *ex2[5];
		char		cfg[400];
		FILE	   *f;
		rbd_proc	tmp;
		char		tmpl[] = "/tmp/rbtest.XXXXXX";

		memcpy(ex2, extra, sizeof(ex2));
		if (mkdtemp(tmpl) == NULL)
			return;
		snprintf(cfg, sizeof(cfg), "%s/rbufd.conf", tmpl);
		f = fopen(cfg, "w");
		fprintf(f, "# test config\nmax-leases-per-client = 1\n");
		fclose(f);
		ex2[3] = cfg;
		if (!tap_ok(rbd_start(&tmp, false, ex2), "start rbufd with a config file"))
			return;
		connect_as(&c, &tmp, "hup");
		rb_lease_acquire(&c, 65536, 0, 10000, &li);
		tap_is(rb_lease_acquire(&c, 65536, 0, 10000, &li), RB_E_LIMIT,
			   "config file limit in force");
		f = fopen(cfg, "w");
		fprintf(f, "max-leases-per-client = 3\n");
		fclose(f);
		kill(tmp.pid, SIGHUP);
		sleep_ms(500);
		tap_is(rb_lease_acquire(&c, 65536, 0, 10000, &li), RB_OK,
			   "SIGHUP reload raised the limit");
		tap_ok(rbd_alive(&tmp), "daemon alive after SIGHUP");
		rb_close(&c);
		tap_ok(rbd_stop(&tmp), "config rbufd stops cleanly on SIGTERM");
		tap_ok(rbd_log_clean(&tmp), "config rbufd log has no sanitizer report");
		unlink(cfg);
		rmdir(tmpl);
	}
}

/* rbufctl shows leases and clients of a live daemon. */
static void
test_rbufctl(void)
{
	const char *ctl = getenv("RBUFCTL");
	char		port[16];
	char		out[16384];
	char		idhex[32];
	rb_conn		c;
	rb_lease_info li;
	int			st;

	if (!ctl || !*ctl)
		ctl = "build/bin/rbufctl";
	if (!connect_as(&c, &main_d, "ctl-owner") ||
		rb_lease_acquire(&c, 192 * 1024, 0, 30000, &li) != RB_OK)
	{
		tap_ok(false, "set up rbufctl test");
		return;
	}
	snprintf(port, sizeof(port), "%d", main_d.port);
	{
		const char *args[] = {ctl, "--port", port, "--secret-file",
		main_d.secret_path, "status", NULL};

		st = rbd_run_expect_exit(args, 15000, out, sizeof(out));
	}
	tap_ok(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "rbufctl status exits 0");
	snprintf(idhex, sizeof(idhex), "%llx", (unsigned long long) li.lease_id);
	tap_ok(strstr(out, "ctl-owner") != NULL, "rbufctl status lists the lease owner");
	tap_ok(strstr(out, idhex) != NULL || strstr(out, "196608") != NULL,
		   "rbufctl status lists the lease");
	{
		const char *args[] = {ctl, "--port", port, "status", NULL};

		st = rbd_run_expect_exit(args, 15000, out, sizeof(out));
	}
	tap_ok(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1,
		   "rbufctl without the secret fails with exit 1");
	rb_lease_release(&c, li.lease_id);
	rb_close(&c);
}

/*
 * Without an RDMA device (these test machines): rbufd does not offer RDMA,
 * RDMA_INFO is refused, "auto" quietly stays on TCP and says why, "rdma"
 * fails with a clear error, and TCP I/O is unaffected.  The RDMA path
 * itself is tested in the Soft-RoCE guest (test/rdma/).
 */
static void
test_no_rdma(void)
{
	rb_client_opts o;
	rb_conn		c;
	rb_lease_info li;
	uint8_t		page[PAGE];
	uint8_t		back[PAGE];
	rb_error	e;
	int			fd;
	rb_hdr		h;
	uint8_t		hdr[RB_HDR_SIZE];
	uint8_t		pl[256];

	if (rb_rdma_device_present())
	{
		tap_skip("this host has an RDMA device", "no-RDMA behaviour");
		return;
	}
	if (!connect_as(&c, &main_d, "nordma"))
		return;
	tap_ok(!(c.server_caps & RB_CAP_RDMA), "without an RDMA device rbufd does not offer RDMA");
	tap_ok(rbd_log_contains(&main_d, "RDMA not available"), "rbufd logged that RDMA is not available");
	rb_close(&c);

	opts_for(&o, &main_d, "nordma");
	o.transport = RB_XPORT_AUTO;
	rb_conn_init(&c);
	e = rb_connect(&c, &o);
	tap_ok(e == RB_OK && strcmp(rb_conn_transport(&c), "tcp") == 0,
		   "transport auto falls back to tcp (%s)", c.rdma_note);
	tap_ok(strstr(c.rdma_note, "does not offer RDMA") != NULL ||
		   strstr(c.rdma_note, "no RDMA device") != NULL, "and says why");
	fill_page(page, PAGE, 99);
	e = rb_lease_acquire(&c, 65536, 0, 10000, &li);
	tap_ok(e == RB_OK && li.remote_addr == 0 && li.rkey == 0, "lease_info has no region without RDMA");
	tap_ok(rb_write(&c, li.lease_id, 0, page, PAGE) == RB_OK &&
		   rb_read(&c, li.lease_id, 0, back, PAGE) == RB_OK &&
		   memcmp(page, back, PAGE) == 0, "TCP I/O through the ops table works");
	rb_lease_release(&c, li.lease_id);
	rb_close(&c);

	o.transport = RB_XPORT_RDMA;
	rb_conn_init(&c);
	e = rb_connect(&c, &o);
	tap_ok(e == RB_E_CONNECT && !rb_connected(&c) && strstr(rb_errmsg(&c), "cannot use RDMA") != NULL,
		   "transport rdma fails to connect: %s", rb_errmsg(&c));

	/* RDMA_INFO on a server without RDMA: refused, connection stays. */
	fd = raw_connect(main_d.port);
	if (fd >= 0 && raw_handshake(fd, "nordma", main_d.secret, main_d.secret_len))
	{
		rb_hdr_encode(hdr, RB_OP_RDMA_INFO, 0, 0, 0, 7);
		raw_send(fd, hdr, sizeof(hdr));
		tap_ok(raw_recv_frame(fd, &h, pl, sizeof(pl), 2000) == 1 && h.status == RB_ST_BAD_REQUEST,
			   "RDMA_INFO without RDMA: bad request");
		rb_hdr_encode(hdr, RB_OP_PING, 0, 0, 0, 8);
		raw_send(fd, hdr, sizeof(hdr));
		tap_ok(raw_recv_frame(fd, &h, pl, sizeof(pl), 2000) == 1 && h.status == RB_ST_OK,
			   "connection still usable after it");
	}
	else
		tap_ok(false, "raw connection for RDMA_INFO");
	if (fd >= 0)
		close(fd);
}

/* Count the lines of a daemon's log that contain needle. */
static int
log_count(const rbd_proc *d, const char *needle)
{
	FILE	   *f = fopen(d->log_path, "r");
	char		line[4096];
	int			n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/* Bits in which two buffers differ. */
static int
bits_differ(const uint8_t *a, const uint8_t *b, size_t n)
{
	int			bits = 0;

	for (size_t i = 0; i < n; i++)
		bits += __builtin_popcount((unsigned) (a[i] ^ b[i]));
	return bits;
}

/*
 * --test-corrupt-reads (testing only): the replies it damages differ from
 * what was written in exactly one bit, what is stored stays intact, and
 * every damaged reply is logged, so fault-injection tests can count them.
 */
static void
test_corrupt_reads(void)
{
	rb_conn		c;
	rb_lease_info li;
	static uint8_t w[4][PAGE],
				r[4][PAGE];
	rb_iov		iov[4];
	bool		one_bit = true;
	int			damaged = 0;
	char		out[8192];
	int			st;

	{
		const char *args[] = {rbd_binary(), "--port", "0", "--memory", "1M",
		"--insecure-no-auth", "--test-corrupt-reads", "1001", NULL};

		st = rbd_run_expect_exit(args, 15000, out, sizeof(out));
		tap_ok(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 2,
			   "--test-corrupt-reads above 1000: exit 2");
	}
	for (int pass = 0; pass < 2; pass++)
	{
		rbd_proc	d;
		const char *const extra[] = {"--memory", "1M", "--test-corrupt-reads",
		pass == 0 ? "1000" : "300", NULL};

		if (!tap_ok(rbd_start(&d, false, extra), "start rbufd --test-corrupt-reads=%s",
					extra[3]))
			return;
		tap_ok(rbd_log_contains(&d, "FOR TESTING ONLY"),
			   "it warns loudly at startup");
		if (!connect_as(&c, &d, "pg-corrupt") ||
			rb_lease_acquire(&c, 64 * 1024, 0, 30000, &li) != RB_OK)
		{
			tap_ok(false, "lease for corrupt reads");
			rbd_stop(&d);
			return;
		}
		for (int i = 0; i < 4; i++)
		{
			fill_page(w[i], PAGE, 500 + (uint32_t) i);
			rb_write(&c, li.lease_id, (uint64_t) i * PAGE, w[i], PAGE);
		}
		if (pass == 0)
		{
			/* every page of READ and READV replies: exactly one bit off */
			for (int i = 0; i < 4; i++)
			{
				one_bit &= rb_read(&c, li.lease_id, (uint64_t) i * PAGE, r[i], PAGE) == RB_OK &&
					bits_differ(w[i], r[i], PAGE) == 1;
				iov[i].lease_id = li.lease_id;
				iov[i].offset = (uint64_t) i * PAGE;
				iov[i].length = PAGE;
				iov[i].buf = r[i];
			}
			tap_ok(one_bit, "at 1000 permille every READ reply differs in exactly one bit");
			one_bit = rb_readv(&c, iov, 4) == RB_OK;
			for (int i = 0; i < 4; i++)
				one_bit &= iov[i].status == RB_OK && bits_differ(w[i], r[i], PAGE) == 1;
			tap_ok(one_bit, "and so does every page of a READV reply");
			damaged = 8;
		}
		else
		{
			/* 400 reads at 300 permille: about 120 damaged, each one bit */
			damaged = 0;
			for (int i = 0; i < 400; i++)
			{
				int			bits;

				if (rb_read(&c, li.lease_id, (uint64_t) (i % 4) * PAGE, r[0], PAGE) != RB_OK)
				{
					one_bit = false;
					break;
				}
				bits = bits_differ(w[i % 4], r[0], PAGE);
				one_bit &= bits <= 1;
				damaged += bits;
			}
			tap_ok(one_bit && damaged > 60 && damaged < 200,
				   "at 300 permille %d of 400 READ replies damaged, one bit each",
				   damaged);
		}
		tap_is(log_count(&d, "test-corrupt-reads: flipped bit"), damaged,
			   "every damaged reply is logged");
		rb_close(&c);
		tap_ok(rbd_stop(&d), "rbufd --test-corrupt-reads stops cleanly");
		snprintf(out, sizeof(out), "test-corrupt-reads: corrupted %d of", damaged);
		tap_ok(rbd_log_contains(&d, out), "the total is logged at shutdown");
		tap_ok(rbd_log_clean(&d), "its log has no sanitizer report");
	}
}

int
main(void)
{
	const char *const extra[] = {"--memory", "32M", "--min-ttl", "100",
	"--threads", "2", NULL};

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	tap_diag("rbufd binary: %s", rbd_binary());
	if (!tap_ok(rbd_start(&main_d, false, extra), "start main rbufd"))
		return tap_done();

	test_lease_lifecycle();
	test_page_io();
	test_isolation();
	test_reattach();
	test_auth();
	test_malformed();
	test_deadline();
	test_rbufctl();
	test_no_rdma();
	tap_ok(rbd_alive(&main_d), "main rbufd alive after all tests");
	tap_ok(rbd_stop(&main_d), "main rbufd stops cleanly on SIGTERM");
	tap_ok(rbd_log_clean(&main_d), "main rbufd log has no sanitizer report");

	test_expiry_zeroing();
	test_limits();
	test_manners();
	test_corrupt_reads();
	return tap_done();
}
