/*-------------------------------------------------------------------------
 *
 * rb_client_int.h
 *	  Internals shared by the client library's files: the per-operation
 *	  deadline state and the framed send/receive helpers of
 *	  rb_transport.c used by the operations in rb_client.c.
 *	  Not for use outside src/client.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RB_CLIENT_INT_H
#define RB_CLIENT_INT_H

#include <sys/uio.h>

#include "rb_client.h"

#define RB_DEFAULT_TIMEOUT_MS	5000

#if defined(__GNUC__)
#define RB_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define RB_PRINTF(f, a)
#endif

/* State of one request/reply exchange. */
typedef struct rb_op
{
	const char *name;			/* operation name, for messages */
	uint16_t	opcode;
	uint64_t	req_id;
	int			timeout_ms;
	int64_t		deadline_ns;	/* CLOCK_MONOTONIC */
} rb_op;

extern int64_t rbc_now_ns(void);

/* Set errmsg (closing the connection if asked); returns e. */
extern rb_error rbc_fail(rb_conn *c, rb_error e, bool close_conn,
						 const char *fmt,...) RB_PRINTF(4, 5);
extern rb_error rbc_map_status(uint32_t st, bool *fatal);
extern rb_error rbc_protocol_error(rb_conn *c, rb_op *op, const char *what,
								   uint64_t got, uint64_t want);

/* Start an operation: connected check, deadline, request id. */
extern rb_error rbc_begin(rb_conn *c, rb_op *op, uint16_t opcode,
						  const char *name);

/* All-or-error socket I/O bounded by op's deadline; iov is consumed. */
extern rb_error rbc_send_iov(rb_conn *c, rb_op *op, struct iovec *iov, int cnt);
extern rb_error rbc_recv_iov(rb_conn *c, rb_op *op, struct iovec *iov, int cnt,
							 bool wait_first);
extern rb_error rbc_recv(rb_conn *c, rb_op *op, void *buf, size_t len);

/* Encode the header into hdr (iov[0] must point at it) and send iov. */
extern rb_error rbc_send_request(rb_conn *c, rb_op *op, uint8_t *hdr,
								 uint32_t payload_len, struct iovec *iov,
								 int cnt);

/*
 * Receive and check a reply header; an error reply is consumed and
 * returned as an rb_error with errmsg set.  On RB_OK, h->length payload
 * bytes follow.
 */
extern rb_error rbc_recv_reply(rb_conn *c, rb_op *op, rb_hdr *h);

/* OK reply payload must be exactly len bytes, read into buf. */
extern rb_error rbc_recv_fixed(rb_conn *c, rb_op *op, void *buf, uint32_t len);

/* Request with one fixed payload; reply of exactly reply_len bytes. */
extern rb_error rbc_simple_call(rb_conn *c, rb_op *op, const uint8_t *req,
								uint32_t req_len, void *reply,
								uint32_t reply_len);

/*
 * Page I/O of one transport.  rb_read() and friends dispatch through
 * c->ops; the RDMA ops fall back to the TCP ones for whatever they cannot
 * do one-sidedly (no rkey for the lease, too large, queue pair down).
 */
typedef struct rb_data_ops
{
	const char *name;
	rb_error	(*read) (rb_conn *c, uint64_t lease_id, uint64_t offset,
						 void *buf, uint32_t length);
	rb_error	(*write) (rb_conn *c, uint64_t lease_id, uint64_t offset,
						  const void *buf, uint32_t length);
	rb_error	(*readv) (rb_conn *c, rb_iov *iov, int n);
	rb_error	(*writev) (rb_conn *c, rb_iov *iov, int n);
} rb_data_ops;

extern const rb_data_ops rbc_tcp_ops;
extern const rb_data_ops rbc_rdma_ops;

/*
 * RDMA side (rb_transport_rdma.c).  rbc_rdma_attach runs at the end of
 * rb_connect (deadline of the connect): returns RB_OK with c->ops set to
 * RDMA, or RB_OK on TCP with c->rdma_note saying why (RB_XPORT_AUTO), or
 * an error (RB_XPORT_RDMA).  rbc_rdma_free releases everything.
 * note/forget keep the connection's lease -> (addr, rkey) cache current.
 */
extern rb_error rbc_rdma_attach(rb_conn *c, rb_transport_mode mode,
								int64_t deadline_ns);
extern void rbc_rdma_free(rb_conn *c);
extern void rbc_rdma_note_lease(rb_conn *c, const rb_lease_info *li);
extern void rbc_rdma_forget_lease(rb_conn *c, uint64_t lease_id);

#endif							/* RB_CLIENT_INT_H */
