/*-------------------------------------------------------------------------
 *
 * pool.c
 *	  The memory pool: one anonymous mapping, allocated up front.
 *
 * The NUMA policy is applied before any page is touched, then the whole
 * pool is pre-faulted, so that pages land on the intended nodes and a
 * later grant never depends on the kernel finding memory (no overcommit).
 * One mapping keeps every lease a single contiguous extent, registrable
 * as one RDMA memory region later.
 *
 *-------------------------------------------------------------------------
 */
#include "pool.h"

#include <errno.h>
#include <inttypes.h>
#include <numa.h>
#include <numaif.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static void
nodemask_desc(struct bitmask *bm, char *buf, size_t len)
{
	size_t		n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < bm->size && n < len; i++)
		if (numa_bitmask_isbitset(bm, i))
		{
			int			r = snprintf(buf + n, len - n, "%s%u", n ? "," : "", i);

			if (r < 0)
				break;
			n += (size_t) r;
		}
}

bool
rbd_pool_numa_node_ok(int node, char *err, size_t errlen)
{
	char		nodes[64];

	if (numa_available() < 0)
	{
		snprintf(err, errlen,
				 "invalid value for --numa-node: NUMA is not available on this system");
		return false;
	}
	if (node > numa_max_node() ||
		!numa_bitmask_isbitset(numa_all_nodes_ptr, (unsigned) node))
	{
		nodemask_desc(numa_all_nodes_ptr, nodes, sizeof(nodes));
		snprintf(err, errlen,
				 "invalid value for --numa-node: node %d does not exist or has no memory (nodes with memory: %s)",
				 node, nodes);
		return false;
	}
	return true;
}

/* Apply the NUMA policy to the (not yet faulted) mapping. */
static bool
pool_numa_policy(rbd_pool *p, const rbd_pool_opts *o, char *err, size_t errlen)
{
	struct bitmask *bm;
	char		nodes[64];
	int			mode;

	if (o->numa && o->numa_node >= 0 && !rbd_pool_numa_node_ok(o->numa_node, err, errlen))
		return false;
	if (!o->numa || numa_available() < 0)
	{
		snprintf(p->numa_desc, sizeof(p->numa_desc), "none (NUMA not available)");
		return true;
	}
	p->numa_query = true;
	nodemask_desc(numa_all_nodes_ptr, nodes, sizeof(nodes));
	if (o->numa_node >= 0)
	{
		bm = numa_allocate_nodemask();
		numa_bitmask_setbit(bm, (unsigned) o->numa_node);
		mode = MPOL_BIND;
		snprintf(p->numa_desc, sizeof(p->numa_desc), "bound to node %d", o->numa_node);
	}
	else if (numa_bitmask_weight(numa_all_nodes_ptr) > 1)
	{
		bm = numa_allocate_nodemask();
		copy_bitmask_to_bitmask(numa_all_nodes_ptr, bm);
		mode = MPOL_INTERLEAVE;
		snprintf(p->numa_desc, sizeof(p->numa_desc), "interleaved over nodes %s", nodes);
	}
	else
	{
		snprintf(p->numa_desc, sizeof(p->numa_desc), "none (single node %s)", nodes);
		return true;
	}
	if (mbind(p->base, p->map_len, mode, bm->maskp, bm->size + 1, 0) != 0)
	{
		snprintf(err, errlen, "could not set NUMA policy of memory pool (%s): %s",
				 p->numa_desc, strerror(errno));
		numa_free_nodemask(bm);
		return false;
	}
	numa_free_nodemask(bm);
	return true;
}

static size_t
hugepage_size(void)
{
	FILE	   *f = fopen("/proc/meminfo", "r");
	char		line[256];
	unsigned long kb = 0;

	if (f != NULL)
	{
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "Hugepagesize: %lu kB", &kb) == 1)
				break;
		fclose(f);
	}
	return kb > 0 ? (size_t) kb * 1024 : 2 * 1024 * 1024;
}

bool
rbd_pool_map(rbd_pool *p, const rbd_pool_opts *o, char *err, size_t errlen)
{
	int			flags = MAP_PRIVATE | MAP_ANONYMOUS;

	memset(p, 0, sizeof(*p));
	p->page_size = o->hugepages ? hugepage_size() : (size_t) sysconf(_SC_PAGESIZE);
	p->map_len = (size_t) ((o->bytes + p->page_size - 1) / p->page_size * p->page_size);
	if (o->hugepages)
		flags |= MAP_HUGETLB;

	p->base = mmap(NULL, p->map_len, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p->base == MAP_FAILED)
	{
		p->base = NULL;
		if (o->hugepages)
			snprintf(err, errlen,
					 "could not allocate memory pool of %" PRIu64 " bytes in huge pages: %s; "
					 "reserve at least %zu pages of %zu kB with sysctl vm.nr_hugepages",
					 o->bytes, strerror(errno), p->map_len / p->page_size,
					 p->page_size / 1024);
		else
			snprintf(err, errlen, "could not allocate memory pool of %" PRIu64 " bytes: %s",
					 o->bytes, strerror(errno));
		return false;
	}
	if (!pool_numa_policy(p, o, err, errlen))
		goto fail;

	if (o->prefault && madvise(p->base, p->map_len, MADV_POPULATE_WRITE) != 0)
	{
		if (errno != EINVAL)
		{
			snprintf(err, errlen, "could not pre-fault memory pool of %" PRIu64 " bytes: %s",
					 o->bytes, strerror(errno));
			goto fail;
		}
		/* Kernel before 5.14: touch every page. */
		for (size_t off = 0; off < p->map_len; off += p->page_size)
			((volatile uint8_t *) p->base)[off] = 0;
	}
	if (o->lock_memory && mlock(p->base, p->map_len) != 0)
	{
		snprintf(err, errlen,
				 "could not lock memory pool of %" PRIu64 " bytes: %s; raise the memlock limit (ulimit -l, LimitMEMLOCK)",
				 o->bytes, strerror(errno));
		goto fail;
	}
	return true;

fail:
	rbd_pool_unmap(p);
	return false;
}

void
rbd_pool_unmap(rbd_pool *p)
{
	if (p->base != NULL)
		munmap(p->base, p->map_len);
	p->base = NULL;
}

/*
 * Sample up to 8 pages evenly over the range; they must all be on one
 * node for that node to be reported.
 */
int32_t
rbd_pool_numa_node(const rbd_pool *p, uint8_t *addr, uint64_t bytes)
{
	void	   *pages[8];
	int			status[8];
	uint64_t	npages = bytes / p->page_size;
	unsigned	n;

	if (!p->numa_query)
		return -1;
	if (npages == 0)
		npages = 1;
	n = npages < 8 ? (unsigned) npages : 8;
	for (unsigned i = 0; i < n; i++)
	{
		uint64_t	pg = n > 1 ? (npages - 1) * i / (n - 1) : 0;

		pages[i] = addr + pg * p->page_size;
		status[i] = -1;
	}
	if (move_pages(0, n, pages, NULL, status, 0) != 0)
		return -1;
	for (unsigned i = 0; i < n; i++)
		if (status[i] < 0 || status[i] != status[0])
			return -1;
	return status[0];
}
