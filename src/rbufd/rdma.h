/*-------------------------------------------------------------------------
 *
 * rdma.h
 *	  rbufd's RDMA side: one memory region per lease (so its rkey reaches
 *	  exactly that lease), and the RDMA CM listener that accepts queue pairs
 *	  from clients holding a ticket issued over an authenticated control
 *	  connection.  Data then moves by one-sided RDMA READ/WRITE without
 *	  rbufd's CPU; TCP clients are served as before.
 *
 * Life cycle (main.c): rbd_rdma_open() before the pool exists (its NUMA
 * node follows the device), rbd_rdma_attach() once store and server exist,
 * rbd_rdma_start() with the other threads; at shutdown rbd_rdma_stop()
 * (no more connections, queue pairs destroyed), then rbd_store_destroy()
 * (deregisters the leases' regions), then rbd_rdma_close().
 *
 *-------------------------------------------------------------------------
 */
#ifndef RBD_RDMA_H
#define RBD_RDMA_H

#include <stdbool.h>
#include <stddef.h>

struct rbd_config;
struct rbd_server;
struct rbd_store;

typedef struct rbd_rdma rbd_rdma;

/*
 * Open the device and start listening.  Returns NULL with *unavailable
 * set when there is no usable RDMA device (then --rdma auto goes on with
 * TCP alone), or NULL with an error in err.
 */
extern rbd_rdma *rbd_rdma_open(const struct rbd_config *cfg, bool *unavailable,
							   char *err, size_t errlen);
/* NUMA node of the device (sysfs), -1 if unknown. */
extern int	rbd_rdma_numa_node(const rbd_rdma *r);
extern const char *rbd_rdma_device(const rbd_rdma *r);
extern int	rbd_rdma_port(const rbd_rdma *r);

/* Install the store's memory-region hooks and the server's RDMA_INFO. */
extern void rbd_rdma_attach(rbd_rdma *r, struct rbd_server *srv,
							struct rbd_store *store);
extern bool rbd_rdma_start(rbd_rdma *r, char *err, size_t errlen);
extern void rbd_rdma_stop(rbd_rdma *r);
extern void rbd_rdma_close(rbd_rdma *r);

#endif							/* RBD_RDMA_H */
