/*-------------------------------------------------------------------------
 *
 * conn.h
 *	  One client connection as seen by the protocol: input and output
 *	  buffers, framing and session state.  Knows nothing about sockets;
 *	  loop.c moves bytes between the socket and these buffers, the fuzzer
 *	  feeds them directly.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RBD_CONN_H
#define RBD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rb_protocol.h"
#include "server.h"
#include "util.h"

#define RBD_IN_DEFAULT	(64 * 1024)
#define RBD_OUT_HIGH	(1024 * 1024)	/* stop taking requests above this */
#define RBD_OUT_KEEP	(1024 * 1024)	/* larger idle output buffers are freed */
#define RBD_PEER_LEN	64

typedef enum rbd_conn_state
{
	RBD_CS_NEW,					/* waiting for HELLO */
	RBD_CS_HELLO,				/* HELLO done, waiting for AUTH */
	RBD_CS_READY				/* authenticated (or no auth configured) */
} rbd_conn_state;

typedef struct rbd_conn
{
	rbd_server *srv;

	/* Registry; these and owner/authenticated change under clients_lock. */
	struct rbd_conn *reg_prev;
	struct rbd_conn *reg_next;
	bool		admitted;		/* within --max-clients */
	bool		authenticated;
	uint16_t	owner_len;
	char		owner[RB_MAX_OWNER_LEN + 1];

	/* Fixed at creation. */
	char		peer[RBD_PEER_LEN];
	uint64_t	connected_at;	/* monotonic ms */

	rbd_counter ops;			/* frames handled; STATS reads it */

	/* Everything below belongs to the connection's thread. */
	rbd_conn_state state;
	bool		closing;		/* fatal reply queued: flush, then close */
	bool		failed;			/* out of memory: drop at once */
	uint64_t	last_active;	/* monotonic ms of the last frame */
	uint8_t		client_nonce[RB_NONCE_LEN];
	uint8_t		server_nonce[RB_NONCE_LEN];

	uint8_t    *in;
	size_t		in_cap;
	size_t		in_len;			/* bytes received */
	size_t		in_off;			/* bytes consumed */

	uint8_t    *out;
	size_t		out_cap;
	size_t		out_len;		/* bytes queued */
	size_t		out_off;		/* bytes sent */

	/* reply being built */
	size_t		reply_at;
	uint16_t	reply_op;
	uint64_t	reply_req;
} rbd_conn;

extern rbd_conn *rbd_conn_create(rbd_server *srv, const char *peer);
extern void rbd_conn_destroy(rbd_conn *c);

/* Where to put received bytes, and how many fit; then commit them. */
extern size_t rbd_conn_in_space(rbd_conn *c, uint8_t **p);
extern void rbd_conn_in_commit(rbd_conn *c, size_t n);

/* Handle every complete frame that backpressure allows. */
extern void rbd_conn_process(rbd_conn *c);

/* Whether the connection wants more input now. */
extern bool rbd_conn_want_input(const rbd_conn *c);

/* Pending output, and marking some of it as sent. */
extern size_t rbd_conn_out_pending(const rbd_conn *c, const uint8_t **p);
extern void rbd_conn_out_consume(rbd_conn *c, size_t n);

/*
 * Replies, used by proto.c.  reply_begin reserves room for a payload of
 * up to maxlen bytes and returns where to write it (NULL when out of
 * memory; the connection is then marked failed); reply_end sends it with
 * its actual length, reply_cancel drops it.
 */
extern uint8_t *rbd_conn_reply_begin(rbd_conn *c, const rb_hdr *req,
									 size_t maxlen);
extern void rbd_conn_reply_end(rbd_conn *c, uint32_t status, size_t len);
extern void rbd_conn_reply_cancel(rbd_conn *c);
extern void rbd_conn_reply(rbd_conn *c, const rb_hdr *req, uint32_t status,
						   const void *payload, size_t len);
extern void rbd_conn_reply_error(rbd_conn *c, const rb_hdr *req,
								 uint32_t status, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

#endif							/* RBD_CONN_H */
