/*-------------------------------------------------------------------------
 *
 * rbufd_fuzz_seeds.c
 *	  Writes the seed corpus for rbufd_fuzz into the directory given as
 *	  argv[1]: sessions with valid frames for every opcode, with and
 *	  without authentication, plus a few malformed ones.  Run at build
 *	  time so that no binary seeds live in the repository.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb_auth.h"
#include "rb_protocol.h"

#include "rbufd_fuzz.h"

typedef struct seed
{
	uint8_t		buf[65536];
	size_t		len;
	uint64_t	req;
} seed;

static void
start2(seed *s, uint8_t mode, uint8_t mode2)
{
	s->len = 0;
	s->req = 1;
	s->buf[s->len++] = mode;
	s->buf[s->len++] = mode2;
}

static void
start(seed *s, uint8_t mode)
{
	start2(s, mode, 0);
}

static uint8_t *
frame(seed *s, uint16_t op, uint32_t len)
{
	uint8_t    *p = s->buf + s->len;

	if (s->len + RB_HDR_SIZE + len > sizeof(s->buf))
	{
		fprintf(stderr, "rbufd_fuzz_seeds: seed too large\n");
		exit(1);
	}
	rb_hdr_encode(p, op, 0, 0, len, s->req++);
	memset(p + RB_HDR_SIZE, 0, len);
	s->len += RB_HDR_SIZE + len;
	return p + RB_HDR_SIZE;
}

static void
hello(seed *s)
{
	size_t		olen = strlen(FUZZ_OWNER);
	uint8_t    *p = frame(s, RB_OP_HELLO, RB_HELLO_REQ_FIXED + (uint32_t) olen);

	rb_put_u16(p, 1);
	rb_put_u16(p + 2, 1);
	rb_put_u16(p + 4, (uint16_t) olen);
	memset(p + 8, FUZZ_CLIENT_NONCE, RB_NONCE_LEN);
	memcpy(p + RB_HELLO_REQ_FIXED, FUZZ_OWNER, olen);
}

static void
auth(seed *s)
{
	uint8_t		sn[RB_NONCE_LEN];
	uint8_t		cn[RB_NONCE_LEN];
	uint8_t    *p = frame(s, RB_OP_AUTH, RB_AUTH_SIZE);

	memset(sn, FUZZ_SERVER_NONCE, sizeof(sn));
	memset(cn, FUZZ_CLIENT_NONCE, sizeof(cn));
	if (!rb_auth_mac((const uint8_t *) FUZZ_SECRET, strlen(FUZZ_SECRET),
					 RB_AUTH_LABEL_CLIENT, sn, cn, FUZZ_OWNER, strlen(FUZZ_OWNER), p))
	{
		fprintf(stderr, "rbufd_fuzz_seeds: HMAC failed\n");
		exit(1);
	}
}

static void
acquire(seed *s, uint64_t bytes, uint64_t min, uint32_t ttl)
{
	uint8_t    *p = frame(s, RB_OP_LEASE_ACQUIRE, RB_ACQUIRE_REQ_SIZE);

	rb_put_u64(p, bytes);
	rb_put_u64(p + 8, min);
	rb_put_u32(p + 16, ttl);
}

static void
lease_op(seed *s, uint16_t op, uint64_t id, uint32_t ttl)
{
	uint8_t    *p = frame(s, op, op == RB_OP_LEASE_RENEW ? RB_RENEW_REQ_SIZE :
						  RB_RELEASE_REQ_SIZE);

	rb_put_u64(p, id);
	if (op == RB_OP_LEASE_RENEW)
		rb_put_u32(p + 8, ttl);
}

static void
io(seed *s, uint16_t op, uint64_t id, uint64_t off, uint32_t len)
{
	uint8_t    *p = frame(s, op, RB_IO_REQ_SIZE + (op == RB_OP_WRITE ? len : 0));

	rb_put_u64(p, id);
	rb_put_u64(p + 8, off);
	rb_put_u32(p + 16, len);
	if (op == RB_OP_WRITE)
		memset(p + RB_IO_REQ_SIZE, 0xab, len);
}

static void
iov(seed *s, uint16_t op, uint64_t id, uint32_t count, uint32_t len)
{
	uint32_t	data = op == RB_OP_WRITEV ? count * len : 0;
	uint8_t    *p = frame(s, op, RB_IOV_HDR_SIZE + count * RB_IOV_ENTRY_SIZE + data);

	rb_put_u32(p, count);
	for (uint32_t i = 0; i < count; i++)
	{
		uint8_t    *e = p + RB_IOV_HDR_SIZE + i * RB_IOV_ENTRY_SIZE;

		rb_put_u64(e, id);
		rb_put_u64(e + 8, (uint64_t) i * len);
		rb_put_u32(e + 16, len);
	}
	if (data)
		memset(p + RB_IOV_HDR_SIZE + count * RB_IOV_ENTRY_SIZE, 0xcd, data);
}

static void
save(const char *dir, const char *name, const seed *s)
{
	char		path[4096];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(s->buf, 1, s->len, f) != s->len || fclose(f) != 0)
	{
		perror(path);
		exit(1);
	}
}

/* A session using every opcode once the handshake is done. */
static void
everything(seed *s)
{
	uint64_t	id = FUZZ_FIRST_LEASE;
	uint8_t    *p;

	p = frame(s, RB_OP_PING, 8);
	memcpy(p, "pingpong", 8);
	frame(s, RB_OP_STATS, 0);
	acquire(s, 65536, 0, 0);
	acquire(s, 1 << 20, 4096, 5000);
	io(s, RB_OP_WRITE, id, 0, 512);
	io(s, RB_OP_READ, id, 0, 512);
	io(s, RB_OP_READ, id, 65536 - 8, 16);
	iov(s, RB_OP_WRITEV, id, 4, 128);
	iov(s, RB_OP_READV, id, 4, 128);
	lease_op(s, RB_OP_LEASE_RENEW, id, 2000);
	frame(s, RB_OP_LEASE_LIST, 0);
	lease_op(s, RB_OP_LEASE_RELEASE, id, 0);
	io(s, RB_OP_READ, id, 0, 8);
	lease_op(s, RB_OP_LEASE_RELEASE, id + 1, 0);
	frame(s, 0x7777, 4);
	frame(s, RB_OP_STATS, 0);
}

int
main(int argc, char **argv)
{
	static seed s;
	const char *dir;
	uint8_t    *p;

	if (argc != 2)
	{
		fprintf(stderr, "usage: rbufd_fuzz_seeds DIR\n");
		return 2;
	}
	dir = argv[1];

	start(&s, 0);
	hello(&s);
	everything(&s);
	save(dir, "session-noauth", &s);

	start(&s, FUZZ_MODE_AUTH);
	hello(&s);
	auth(&s);
	everything(&s);
	save(dir, "session-auth", &s);

	start(&s, FUZZ_MODE_AUTH | (7 << 1) | (1 << 4));
	hello(&s);
	auth(&s);
	everything(&s);
	save(dir, "session-auth-chunked-clock", &s);

	/* Two connections of one owner, chunks of 100 bytes alternating. */
	start(&s, FUZZ_MODE_TWO_CONNS | (5 << 1));
	hello(&s);
	everything(&s);
	save(dir, "session-two-conns", &s);

	/* Expiry: the clock jumps past max-ttl after each read. */
	start(&s, (3 << 1) | (3 << 4));
	hello(&s);
	acquire(&s, 8192, 0, 1000);
	io(&s, RB_OP_WRITE, FUZZ_FIRST_LEASE, 0, 64);
	io(&s, RB_OP_READ, FUZZ_FIRST_LEASE, 0, 64);
	lease_op(&s, RB_OP_LEASE_RENEW, FUZZ_FIRST_LEASE, 1000);
	lease_op(&s, RB_OP_LEASE_RELEASE, FUZZ_FIRST_LEASE, 0);
	save(dir, "expiry", &s);

	/* Handshake failures. */
	start(&s, FUZZ_MODE_AUTH);
	hello(&s);
	frame(&s, RB_OP_AUTH, RB_AUTH_SIZE);
	save(dir, "auth-bad-mac", &s);

	start(&s, FUZZ_MODE_AUTH);
	hello(&s);
	frame(&s, RB_OP_STATS, 0);
	save(dir, "auth-required", &s);

	start(&s, 0);
	frame(&s, RB_OP_READ, RB_IO_REQ_SIZE);
	save(dir, "no-hello", &s);

	start2(&s, 0, FUZZ_MODE2_OVER_LIMIT);
	hello(&s);
	save(dir, "over-limit", &s);

	start2(&s, 0, FUZZ_MODE2_ONE_LEASE);
	hello(&s);
	acquire(&s, 4096, 0, 0);
	acquire(&s, 4096, 0, 0);
	save(dir, "one-lease", &s);

	/* Replies outgrow a slow reader: backpressure. */
	start(&s, FUZZ_MODE_SLOW | (6 << 1));
	hello(&s);
	acquire(&s, FUZZ_MEMORY, 0, 0);
	for (int i = 0; i < 8; i++)
		io(&s, RB_OP_READ, FUZZ_FIRST_LEASE, 0, FUZZ_MEMORY);
	iov(&s, RB_OP_READV, FUZZ_FIRST_LEASE, 16, FUZZ_MEMORY / 16);
	frame(&s, RB_OP_STATS, 0);
	save(dir, "backpressure", &s);

	start(&s, 0);
	p = frame(&s, RB_OP_HELLO, RB_HELLO_REQ_FIXED + 1);
	rb_put_u16(p, 7);
	rb_put_u16(p + 2, 9);
	rb_put_u16(p + 4, 1);
	p[RB_HELLO_REQ_FIXED] = 'x';
	save(dir, "hello-bad-version", &s);

	/* Framing errors after a good handshake. */
	start(&s, 0);
	hello(&s);
	p = frame(&s, RB_OP_PING, 0);
	rb_put_u32(p - RB_HDR_SIZE, 0xdeadbeef);
	save(dir, "bad-magic", &s);

	start(&s, 0);
	hello(&s);
	p = frame(&s, RB_OP_WRITE, 0);
	rb_put_u32(p - RB_HDR_SIZE + 12, RB_MAX_PAYLOAD + 1);
	save(dir, "bad-length", &s);

	start(&s, 0);
	hello(&s);
	acquire(&s, 4096, 0, 0);
	io(&s, RB_OP_READ, FUZZ_FIRST_LEASE, 0, RB_MAX_IO + 1);
	iov(&s, RB_OP_READV, FUZZ_FIRST_LEASE, RB_MAX_BATCH + 1, 1);
	io(&s, RB_OP_READ, FUZZ_FIRST_LEASE, UINT64_MAX - 2, 8);
	frame(&s, RB_OP_LEASE_ACQUIRE, 3);
	save(dir, "limits", &s);

	return 0;
}
