/*-------------------------------------------------------------------------
 *
 * loop.h
 *	  rbufd networking: listening sockets, the accept thread and the
 *	  epoll-based I/O threads that move bytes between sockets and
 *	  connections.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RBD_LOOP_H
#define RBD_LOOP_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "server.h"

typedef struct rbd_loop rbd_loop;

/*
 * Resolve --listen, bind and listen.  With --insecure-no-auth every
 * address must be a loopback address (else *bad_config is set).  Threads
 * are not started yet and srv need not be initialized.
 */
extern rbd_loop *rbd_loop_create(rbd_server *srv, const rbd_config *cfg,
								 bool *bad_config, char *err, size_t errlen);

/* The bound port (useful with --port 0) and a printable address list. */
extern int	rbd_loop_port(const rbd_loop *l);
extern const char *rbd_loop_addresses(const rbd_loop *l);

extern bool rbd_loop_start(rbd_loop *l, char *err, size_t errlen);

/* Stop accepting, close every connection, join the threads, free. */
extern void rbd_loop_shutdown(rbd_loop *l);

#endif							/* RBD_LOOP_H */
