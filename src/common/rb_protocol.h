/*-------------------------------------------------------------------------
 *
 * rb_protocol.h
 *	  Wire protocol between rbufd (the memory server) and its clients
 *	  (the remote_buffer extension, rbufctl, tests and benchmarks).
 *
 * This header has no PostgreSQL includes: it is compiled into the daemon,
 * the client library and the extension alike.
 *
 * FRAMING
 *	  Every message, request or reply, is a 24-byte header followed by
 *	  `length` payload bytes.  All integers are fixed-width LITTLE-ENDIAN
 *	  (the byte order of every RDMA-capable host we target), always encoded
 *	  and decoded through the rb_put_* / rb_get_* helpers below, never by
 *	  casting a struct over a buffer.
 *
 *	    off  size  field
 *	      0     4  magic      RB_MAGIC, checked on every frame (desync guard)
 *	      4     2  opcode     RB_OP_*
 *	      6     2  flags      RB_FLAG_REPLY on replies
 *	      8     4  status     RB_ST_* (0 in requests)
 *	     12     4  length     payload bytes, <= RB_MAX_PAYLOAD
 *	     16     8  req_id     chosen by the client, echoed in the reply
 *
 *	  The receiver checks magic and length against RB_MAX_PAYLOAD before it
 *	  allocates or reads anything; every payload field is checked against
 *	  the payload length before use.  Replies come in request order on a
 *	  connection, so a client may pipeline; req_id lets it check pairing.
 *
 * SESSION
 *	  1. client -> HELLO (version range, owner name, client nonce)
 *	     server -> HELLO reply (chosen version, auth_required, server nonce)
 *	  2. client -> AUTH (HMAC-SHA256 over both nonces and the owner)
 *	     server -> AUTH reply (its own HMAC: mutual authentication)
 *	     When the server runs with --insecure-no-auth, auth_required is 0
 *	     and AUTH may be skipped.
 *	  3. any other operation.
 *	  The first frame must be HELLO; any operation other than HELLO/AUTH
 *	  before authentication is answered RB_ST_AUTH_REQUIRED and the
 *	  connection is closed.  A failed AUTH is answered RB_ST_AUTH_FAILED
 *	  and the connection is closed.
 *
 * OWNERSHIP
 *	  Leases belong to the owner name given in HELLO, not to a connection:
 *	  every authenticated connection of the same owner may use them (the
 *	  extension's lease worker acquires, its backends read and write), and
 *	  they survive a disconnect until their TTL runs out, so a restarted
 *	  client can re-attach (LEASE_LIST) with the same secret and owner.
 *
 * ERRORS
 *	  A reply with status != RB_ST_OK carries, instead of its normal
 *	  payload, a u16 message length and that many bytes of text (no NUL).
 *	  Batched operations succeed as a whole and carry a status per entry.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RB_PROTOCOL_H
#define RB_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define RB_MAGIC			0x31464252u /* bytes "RBF1" on the wire */
#define RB_PROTO_VERSION	1			/* highest version we speak */
#define RB_PROTO_VERSION_MIN 1

#define RB_HDR_SIZE			24

/* Limits, checked by the receiver before any allocation or copy. */
#define RB_MAX_IO			(1024u * 1024u) /* one READ/WRITE */
#define RB_MAX_BATCH		256u		/* entries in READV/WRITEV */
#define RB_MAX_BATCH_BYTES	(4u * 1024u * 1024u)	/* data in one batch */
#define RB_MAX_PAYLOAD		(RB_MAX_BATCH_BYTES + 64u * 1024u)
#define RB_NONCE_LEN		32
#define RB_MAC_LEN			32
#define RB_MAX_OWNER_LEN	64
#define RB_MAX_ERRMSG		200
#define RB_MAX_PING			64
#define RB_MAX_STATS_LIST	1024		/* leases/clients listed in STATS */

/* Header flags */
#define RB_FLAG_REPLY		0x0001

/* Opcodes */
#define RB_OP_HELLO			0x0001
#define RB_OP_AUTH			0x0002
#define RB_OP_PING			0x0003
#define RB_OP_STATS			0x0004
#define RB_OP_RDMA_INFO		0x0005	/* only if server_caps has RB_CAP_RDMA */
#define RB_OP_LEASE_ACQUIRE 0x0010
#define RB_OP_LEASE_RENEW	0x0011
#define RB_OP_LEASE_RELEASE 0x0012
#define RB_OP_LEASE_LIST	0x0013
#define RB_OP_READ			0x0020
#define RB_OP_WRITE			0x0021
#define RB_OP_READV			0x0022
#define RB_OP_WRITEV		0x0023

/* Status codes (header.status of replies, and per batch entry) */
#define RB_ST_OK			0
#define RB_ST_BAD_FRAME		1	/* malformed; server closes after reply */
#define RB_ST_UNKNOWN_OP	2
#define RB_ST_VERSION		3	/* no common protocol version */
#define RB_ST_AUTH_REQUIRED 4
#define RB_ST_AUTH_FAILED	5
#define RB_ST_NO_LEASE		6	/* unknown lease, or not this owner's */
#define RB_ST_LEASE_EXPIRED 7
#define RB_ST_OUT_OF_RANGE	8	/* offset/length outside the lease */
#define RB_ST_NO_SPACE		9	/* not enough free memory; never overcommit */
#define RB_ST_LIMIT			10	/* too many clients / leases */
#define RB_ST_TOO_LARGE		11	/* length beyond a protocol limit */
#define RB_ST_BAD_REQUEST	12	/* well framed, invalid field value */
#define RB_ST_INTERNAL		13
#define RB_ST_SHUTTING_DOWN 14

/* HELLO reply server_caps bits */
#define RB_CAP_RDMA			0x0001

/*
 * Payload layouts (byte offsets; all little-endian).
 *
 * HELLO request (40 + owner_len):
 *	0 u16 ver_min, 2 u16 ver_max, 4 u16 owner_len (1..RB_MAX_OWNER_LEN),
 *	6 u16 reserved(0), 8 u8[32] client_nonce, 40 owner bytes (printable
 *	ASCII 0x21..0x7e, no NUL)
 * HELLO reply (56):
 *	0 u16 version, 2 u16 auth_required (0/1), 4 u32 server_caps,
 *	8 u64 server_instance (random per daemon start), 16 u64 mem_total,
 *	24 u8[32] server_nonce
 *
 * AUTH request (32): 0 u8[32] mac =
 *	HMAC-SHA256(secret, "RBUF-AUTH-C1" || server_nonce || client_nonce ||
 *				u16 owner_len || owner)
 * AUTH reply (32): 0 u8[32] mac =
 *	HMAC-SHA256(secret, "RBUF-AUTH-S1" || client_nonce || server_nonce ||
 *				u16 owner_len || owner)
 *
 * PING request/reply: 0..RB_MAX_PING opaque bytes, echoed.
 *
 * LEASE_ACQUIRE request (24):
 *	0 u64 bytes, 8 u64 min_bytes (0 = same as bytes), 16 u32 ttl_ms,
 *	20 u32 flags(0)
 *	The server grants between min_bytes and bytes (rounded up to its
 *	allocation granularity), or answers RB_ST_NO_SPACE.
 * LEASE_ACQUIRE / LEASE_RENEW reply: one lease_info (RB_LEASE_INFO_SIZE).
 * LEASE_RENEW request (16): 0 u64 lease_id, 8 u32 ttl_ms, 12 u32 reserved
 * LEASE_RELEASE request (8): 0 u64 lease_id; reply: empty
 * LEASE_LIST request: empty; reply: 0 u32 count, 4 u32 reserved, then
 *	count lease_info records (this owner's live leases)
 *
 * lease_info (48):
 *	0 u64 lease_id, 8 u64 bytes, 16 u32 ttl_ms (remaining at reply time),
 *	20 i32 numa_node (-1 = unknown or spread over nodes),
 *	24 u64 expires_at_ms (server wall clock, Unix ms; for display only:
 *	clients time the lease with ttl_ms and their own monotonic clock),
 *	32 u64 remote_addr, 40 u32 rkey: the lease's memory region for
 *	one-sided RDMA (both 0 if the server has no RDMA or could not register
 *	the lease), 44 u32 reserved
 *
 * READ request (24): 0 u64 lease_id, 8 u64 offset, 16 u32 length,
 *	20 u32 reserved; reply: length data bytes
 * WRITE request (24 + length): READ's fields, then length data bytes;
 *	reply: empty
 *
 * READV request (8 + 24*count):
 *	0 u32 count (1..RB_MAX_BATCH), 4 u32 reserved, then count entries
 *	{u64 lease_id, u64 offset, u32 length, u32 reserved};
 *	sum(length) <= RB_MAX_BATCH_BYTES.
 * READV reply: 0 u32 count, 4 u32 reserved, count u32 status, then the
 *	data of each entry whose status is RB_ST_OK, in order.
 * WRITEV request: READV's layout followed by the data of all entries
 *	concatenated in order.
 * WRITEV reply: 0 u32 count, 4 u32 reserved, count u32 status.
 *
 * RDMA_INFO request: empty.  Reply (32): 0 u16 rdma_port (RDMA CM port
 *	space, same address as this connection), 2 u16 reserved, 4 u32
 *	reserved, 8 u8[16] ticket, 24 u64 reserved.
 *	The ticket admits exactly one RDMA CM connection within
 *	RB_RDMA_TICKET_TTL_MS, for this connection's owner: the client sends
 *	it as the private data of its connect request (RB_RDMA_PRIV_SIZE:
 *	0 u32 RB_RDMA_PRIV_MAGIC, 4 u32 reserved, 8 u8[16] ticket) and the
 *	server rejects connect requests without a valid ticket.  Only
 *	authenticated connections get tickets, and rkeys travel only in
 *	lease_info over authenticated connections (DESIGN.md, I6).
 *
 * STATS request: empty.  STATS reply:
 *	RB_STATS_FIXED_SIZE bytes of u64 counters in rb_stats_field order, then
 *	u32 nleases, u32 nclients (each <= RB_MAX_STATS_LIST), then nleases
 *	records {lease_info, u8[64] owner (NUL padded)}, then nclients records
 *	{u8[64] owner (NUL padded), u8[48] peer address (NUL padded),
 *	u64 connected_ms, u64 ops, u32 authenticated, u32 reserved}.
 */
#define RB_HELLO_REQ_FIXED	40
#define RB_HELLO_REPLY_SIZE 56
#define RB_AUTH_SIZE		RB_MAC_LEN
#define RB_ACQUIRE_REQ_SIZE 24
#define RB_RENEW_REQ_SIZE	16
#define RB_RELEASE_REQ_SIZE 8
#define RB_LEASE_INFO_SIZE	48
#define RB_IO_REQ_SIZE		24
#define RB_IOV_HDR_SIZE		8
#define RB_IOV_ENTRY_SIZE	24
#define RB_STATS_LEASE_REC	(RB_LEASE_INFO_SIZE + 64)
#define RB_STATS_CLIENT_REC (64 + 48 + 8 + 8 + 4 + 4)
#define RB_RDMA_INFO_SIZE	32
#define RB_RDMA_TICKET_LEN	16
#define RB_RDMA_PRIV_SIZE	24
#define RB_RDMA_PRIV_MAGIC	0x31515242u /* bytes "RBQ1" */
#define RB_RDMA_TICKET_TTL_MS 30000

/* STATS counters, in wire order; each is a u64. */
typedef enum rb_stats_field
{
	RB_SF_UPTIME_MS = 0,
	RB_SF_MEM_TOTAL,
	RB_SF_MEM_LEASED,
	RB_SF_MEM_FREE,				/* zeroed and grantable */
	RB_SF_MEM_LARGEST_FREE,		/* largest grantable extent */
	RB_SF_CLIENTS,
	RB_SF_LEASES,
	RB_SF_OPS_READ,				/* pages/extents read, batched entries each */
	RB_SF_OPS_WRITE,
	RB_SF_BYTES_READ,
	RB_SF_BYTES_WRITTEN,
	RB_SF_LEASES_GRANTED,
	RB_SF_LEASES_RENEWED,
	RB_SF_LEASES_RELEASED,
	RB_SF_LEASES_EXPIRED,
	RB_SF_AUTH_FAILURES,
	RB_SF_PROTOCOL_ERRORS,
	RB_SF_REJECTED,				/* limits and no-space refusals */
	RB_SF_READ_OPS_PER_SEC,		/* over the last full second */
	RB_SF_WRITE_OPS_PER_SEC,
	RB_SF__COUNT
} rb_stats_field;

#define RB_STATS_FIXED_SIZE (8 * RB_SF__COUNT)

/* Labels mixed into the authentication MACs (never sent). */
#define RB_AUTH_LABEL_CLIENT "RBUF-AUTH-C1"
#define RB_AUTH_LABEL_SERVER "RBUF-AUTH-S1"

/* ---------- little-endian encoding helpers ---------- */

static inline void
rb_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
}

static inline void
rb_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
}

static inline void
rb_put_u64(uint8_t *p, uint64_t v)
{
	rb_put_u32(p, (uint32_t) v);
	rb_put_u32(p + 4, (uint32_t) (v >> 32));
}

static inline uint16_t
rb_get_u16(const uint8_t *p)
{
	return (uint16_t) (p[0] | (p[1] << 8));
}

static inline uint32_t
rb_get_u32(const uint8_t *p)
{
	return (uint32_t) p[0] | ((uint32_t) p[1] << 8) |
		((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
}

static inline uint64_t
rb_get_u64(const uint8_t *p)
{
	return (uint64_t) rb_get_u32(p) | ((uint64_t) rb_get_u32(p + 4) << 32);
}

/* Decoded frame header. */
typedef struct rb_hdr
{
	uint32_t	magic;
	uint16_t	opcode;
	uint16_t	flags;
	uint32_t	status;
	uint32_t	length;
	uint64_t	req_id;
} rb_hdr;

static inline void
rb_hdr_encode(uint8_t *p, uint16_t opcode, uint16_t flags, uint32_t status,
			  uint32_t length, uint64_t req_id)
{
	rb_put_u32(p, RB_MAGIC);
	rb_put_u16(p + 4, opcode);
	rb_put_u16(p + 6, flags);
	rb_put_u32(p + 8, status);
	rb_put_u32(p + 12, length);
	rb_put_u64(p + 16, req_id);
}

static inline void
rb_hdr_decode(const uint8_t *p, rb_hdr *h)
{
	h->magic = rb_get_u32(p);
	h->opcode = rb_get_u16(p + 4);
	h->flags = rb_get_u16(p + 6);
	h->status = rb_get_u32(p + 8);
	h->length = rb_get_u32(p + 12);
	h->req_id = rb_get_u64(p + 16);
}

/* A header is acceptable if its magic is right and its length in bounds. */
static inline int
rb_hdr_valid(const rb_hdr *h)
{
	return h->magic == RB_MAGIC && h->length <= RB_MAX_PAYLOAD;
}

/* Decoded lease_info record. */
typedef struct rb_lease_info
{
	uint64_t	lease_id;
	uint64_t	bytes;
	uint32_t	ttl_ms;
	int32_t		numa_node;
	uint64_t	expires_at_ms;
	uint64_t	remote_addr;
	uint32_t	rkey;
} rb_lease_info;

static inline void
rb_lease_info_encode(uint8_t *p, const rb_lease_info *li)
{
	rb_put_u64(p, li->lease_id);
	rb_put_u64(p + 8, li->bytes);
	rb_put_u32(p + 16, li->ttl_ms);
	rb_put_u32(p + 20, (uint32_t) li->numa_node);
	rb_put_u64(p + 24, li->expires_at_ms);
	rb_put_u64(p + 32, li->remote_addr);
	rb_put_u32(p + 40, li->rkey);
	rb_put_u32(p + 44, 0);
}

static inline void
rb_lease_info_decode(const uint8_t *p, rb_lease_info *li)
{
	li->lease_id = rb_get_u64(p);
	li->bytes = rb_get_u64(p + 8);
	li->ttl_ms = rb_get_u32(p + 16);
	li->numa_node = (int32_t) rb_get_u32(p + 20);
	li->expires_at_ms = rb_get_u64(p + 24);
	li->remote_addr = rb_get_u64(p + 32);
	li->rkey = rb_get_u32(p + 40);
}

/*
 * Range check for an access [offset, offset+length) inside a lease of
 * lease_bytes, written so that it cannot overflow.
 */
static inline int
rb_range_ok(uint64_t offset, uint64_t length, uint64_t lease_bytes)
{
	return length <= lease_bytes && offset <= lease_bytes - length;
}

/* Human-readable name of a status code (never NULL). */
static inline const char *
rb_status_name(uint32_t st)
{
	switch (st)
	{
		case RB_ST_OK:
			return "ok";
		case RB_ST_BAD_FRAME:
			return "malformed frame";
		case RB_ST_UNKNOWN_OP:
			return "unknown operation";
		case RB_ST_VERSION:
			return "no common protocol version";
		case RB_ST_AUTH_REQUIRED:
			return "authentication required";
		case RB_ST_AUTH_FAILED:
			return "authentication failed";
		case RB_ST_NO_LEASE:
			return "no such lease";
		case RB_ST_LEASE_EXPIRED:
			return "lease expired";
		case RB_ST_OUT_OF_RANGE:
			return "access outside lease";
		case RB_ST_NO_SPACE:
			return "not enough free memory";
		case RB_ST_LIMIT:
			return "limit reached";
		case RB_ST_TOO_LARGE:
			return "length exceeds protocol limit";
		case RB_ST_BAD_REQUEST:
			return "invalid request";
		case RB_ST_INTERNAL:
			return "internal server error";
		case RB_ST_SHUTTING_DOWN:
			return "server shutting down";
	}
	return "unknown status";
}

#endif							/* RB_PROTOCOL_H */
