/*-------------------------------------------------------------------------
 *
 * rb_rdma_int.h
 *	  Internals shared by the RDMA transport's two files: queue pair set-up
 *	  and tear-down (rb_rdma_qp.c) and the data path (rb_transport_rdma.c).
 *	  Not part of the client library's API.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RB_RDMA_INT_H
#define RB_RDMA_INT_H

#include "rb_client_int.h"

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#define RB_RDMA_BOUNCE		(256u * 1024u)	/* bytes per posted chunk */
#define RB_RDMA_MAX_WR		32		/* work requests per post */
#define RB_RDMA_MAX_LEASES	64		/* cached lease regions */
#define RB_RDMA_SPIN_NS		20000	/* busy-poll before sleeping */
#define RB_RDMA_RETRY_NS	INT64_C(1000000000) /* after a failed re-connect */
#define RB_RDMA_MAX_RD_ATOM 16

/* Result of running a chunk that means "do this operation over TCP". */
#define RB_FALLBACK			((rb_error) -1)

typedef struct rdma_lease
{
	uint64_t	id;				/* 0 = free */
	uint64_t	addr;			/* 0 = not registered: use TCP */
	uint64_t	bytes;
	uint32_t	rkey;
} rdma_lease;

struct rb_rdma
{
	struct rdma_event_channel *ch;
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_comp_channel *cc;
	struct ibv_cq *cq;
	struct ibv_mr *mr;
	bool		up;				/* queue pair connected and usable */
	int64_t		retry_at_ns;	/* no re-connect attempt before this */
	uint8_t    *bounce;
	rdma_lease	leases[RB_RDMA_MAX_LEASES];
	int			victim;			/* next cache slot to replace */
	rb_rdma_info info;
};

typedef struct rb_rdma rb_rdma;

/* rb_rdma_qp.c */
extern void rbc_rdma_qp_down(rb_rdma *r);
extern rb_error rbc_rdma_qp_connect_retry(rb_conn *c, rb_rdma *r,
										  int64_t deadline_ns);
extern int	rbc_rdma_ms_left(int64_t deadline_ns);

#endif							/* RB_RDMA_INT_H */
