/*-------------------------------------------------------------------------
 *
 * proto.h
 *	  Server side of the rbufd protocol (see rb_protocol.h): checks frame
 *	  headers against the session state and carries out each opcode on a
 *	  connection and the store.  No sockets, no threads of its own: this
 *	  is what the fuzzer drives.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RBD_PROTO_H
#define RBD_PROTO_H

#include <stdbool.h>
#include <stdint.h>

#include "conn.h"
#include "rb_protocol.h"

/* Longest payload accepted before authentication (HELLO, AUTH). */
#define RBD_PREAUTH_MAX_PAYLOAD 1024

/*
 * Check a decoded header before its payload is buffered.  Returns false
 * if the connection must not go on; an error reply is then queued and the
 * connection marked closing.
 */
extern bool rbd_proto_check_header(rbd_conn *c, const rb_hdr *h);

/* Handle one complete frame; queues exactly one reply. */
extern void rbd_proto_dispatch(rbd_conn *c, const rb_hdr *h,
							   const uint8_t *payload);

/* Current time for leases (monotonic ms, plus a fuzzing offset). */
extern uint64_t rbd_proto_now(const rbd_server *srv);

#endif							/* RBD_PROTO_H */
