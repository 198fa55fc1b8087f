/*-------------------------------------------------------------------------
 *
 * rdma_client_test.c
 *	  The RDMA data path against a real rbufd over real (Soft-RoCE) RDMA
 *	  devices: rbufd on "host B", the client library on "host A", inside
 *	  the qemu guest of test/rdma/guest-run.sh (run-client-test.sh drives
 *	  it).  Prints TAP.
 *
 *	  What it checks: RDMA connection set-up (ticket, queue pair), RDMA
 *	  WRITE then READ of pages byte-identical and seen identically over
 *	  TCP (same lease memory), that the bytes moved through the RDMA
 *	  devices and not rbufd's TCP path (device packet counters up, rbufd's
 *	  read/write counters flat), batches with per-entry status, local
 *	  range checks, lease expiry (the old rkey gets a remote access error
 *	  and never data, even once the memory belongs to a new lease), queue
 *	  pair re-creation after that error, TCP clients served alongside, and
 *	  the deadline when rbufd is killed.
 *
 *	  Environment (from the guest): RB_RDMA_ADDR_B (server address),
 *	  RB_RDMA_DEV_A / RB_RDMA_DEV_B (client and server devices).
 *
 *-------------------------------------------------------------------------
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rb_client.h"
#include "rbtest.h"

#define PAGE 8192
#define NPAGES 16

static rbd_proc d;
static const char *addr_b;

static void
opts_for(rb_client_opts *o, const char *owner, rb_transport_mode mode,
		 int io_timeout_ms)
{
	memset(o, 0, sizeof(*o));
	o->host = addr_b;
	o->port = d.port;
	o->secret = d.secret;
	o->secret_len = d.secret_len;
	o->owner = owner;
	o->connect_timeout_ms = 10000;
	o->io_timeout_ms = io_timeout_ms;
	o->transport = mode;
}

static bool
connect_mode(rb_conn *c, const char *owner, rb_transport_mode mode,
			 int io_timeout_ms)
{
	rb_client_opts o;
	rb_error	e;

	opts_for(&o, owner, mode, io_timeout_ms);
	rb_conn_init(c);
	e = rb_connect(c, &o);
	if (e != RB_OK)
		tap_diag("connect (%s): %s: %s", owner, rb_error_name(e), rb_errmsg(c));
	return e == RB_OK;
}

/* A counter of the RDMA device's port, or -1. */
static long long
hw_counter(const char *dev, const char *name)
{
	char		path[256];
	FILE	   *f;
	long long	v = -1;

	if (dev == NULL)
		return -1;
	snprintf(path, sizeof(path), "/sys/class/infiniband/%s/ports/1/hw_counters/%s",
			 dev, name);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static uint64_t
server_counter(rb_conn *ctl, rb_stats_field f)
{
	rb_stats	st;

	if (rb_stats_get(ctl, &st, NULL, 0, NULL, NULL, 0, NULL) != RB_OK)
		return UINT64_MAX;
	return st.v[f];
}

int
main(void)
{
	const char *extra[] = {"--listen", NULL, "--rdma", "on", "--memory", "64M",
	"--min-ttl", "300ms", "--log-level", "info", NULL};
	const char *dev_a = getenv("RB_RDMA_DEV_A");
	const char *dev_b = getenv("RB_RDMA_DEV_B");
	static uint8_t pages[NPAGES][PAGE];
	static uint8_t back[NPAGES][PAGE];
	uint8_t		buf[PAGE];
	rb_conn		c;
	rb_conn		tcp;
	rb_conn		c2;
	rb_lease_info li;
	rb_lease_info shortl;
	rb_lease_info again;
	rb_rdma_info ri;
	rb_rdma_info ri2;
	rb_iov		iov[8];
	rb_error	e;
	bool		same;
	long long	rx0;
	long long	rx1;
	uint64_t	sr0;
	uint64_t	sw0;
	uint64_t	t0;
	uint64_t	el;

	addr_b = getenv("RB_RDMA_ADDR_B");
	if (addr_b == NULL)
	{
		printf("1..0 # SKIP not in the RDMA guest (RB_RDMA_ADDR_B unset)\n");
		return 0;
	}
	extra[1] = addr_b;
	if (!tap_ok(rbd_start(&d, false, extra), "rbufd starts on host B (%s) with --rdma on", addr_b))
		return tap_done();
	tap_ok(rbd_log_contains(&d, "RDMA enabled on device"), "rbufd log: RDMA enabled");

	/* ---- connection ---- */
	if (!tap_ok(connect_mode(&c, "rdma-test", RB_XPORT_RDMA, 2000), "client connects with transport rdma"))
	{
		rbd_log_tail(&d, 20);
		goto out;
	}
	tap_ok(strcmp(rb_conn_transport(&c), "rdma") == 0, "data path is rdma (got %s)", rb_conn_transport(&c));
	rb_rdma_get_info(&c, &ri);
	tap_ok(ri.qp_num != 0 && ri.remote_qp_num != 0, "queue pair connected");
	tap_diag("client queue pair %u on %s, server queue pair %u", ri.qp_num, ri.device,
			 ri.remote_qp_num);
	if (dev_a != NULL)
		tap_ok(strcmp(ri.device, dev_a) == 0, "client uses host A's device %s (got %s)", dev_a, ri.device);
	sleep_ms(200);
	tap_ok(rbd_log_contains(&d, "RDMA connection from"), "rbufd logged the RDMA connection");
	if (!tap_ok(connect_mode(&tcp, "rdma-test", RB_XPORT_TCP, 2000), "a TCP client of the same owner connects too"))
		goto out;
	tap_ok(strcmp(rb_conn_transport(&tcp), "tcp") == 0, "its data path is tcp");

	/* ---- lease, RDMA WRITE then READ ---- */
	e = rb_lease_acquire(&c, 1024 * 1024, 0, 60000, &li);
	if (!tap_ok(e == RB_OK, "lease acquired (%s)", rb_errmsg(&c)))
		goto out;
	tap_ok(li.remote_addr != 0, "lease_info carries the region address and rkey");
	tap_diag("lease %016llx at 0x%llx rkey 0x%08x", (unsigned long long) li.lease_id,
			 (unsigned long long) li.remote_addr, li.rkey);
	sr0 = server_counter(&tcp, RB_SF_OPS_READ);
	sw0 = server_counter(&tcp, RB_SF_OPS_WRITE);
	rx0 = hw_counter(dev_b, "rcvd_pkts");
	same = true;
	for (int i = 0; i < NPAGES; i++)
	{
		fill_page(pages[i], PAGE, (uint32_t) i + 1);
		if (rb_write(&c, li.lease_id, (uint64_t) i * PAGE, pages[i], PAGE) != RB_OK)
		{
			tap_diag("write %d: %s", i, rb_errmsg(&c));
			same = false;
		}
	}
	tap_ok(same, "%d pages written by RDMA WRITE", NPAGES);
	same = true;
	for (int i = 0; i < NPAGES; i++)
	{
		memset(back[i], 0xEE, PAGE);
		if (rb_read(&c, li.lease_id, (uint64_t) i * PAGE, back[i], PAGE) != RB_OK)
		{
			tap_diag("read %d: %s", i, rb_errmsg(&c));
			same = false;
		}
		else if (memcmp(back[i], pages[i], PAGE) != 0)
			same = false;
	}
	tap_ok(same, "%d pages read back by RDMA READ byte-identical", NPAGES);
	rb_rdma_get_info(&c, &ri);
	tap_is(ri.reads, NPAGES, "RDMA READs completed");
	tap_is(ri.writes, NPAGES, "RDMA WRITEs completed");
	tap_is(ri.fallbacks, 0, "no operation fell back to TCP");
	rx1 = hw_counter(dev_b, "rcvd_pkts");
	tap_diag("%s rcvd_pkts %lld -> %lld; %s sent_pkts %lld", dev_b ? dev_b : "?", rx0, rx1,
			 dev_a ? dev_a : "?", hw_counter(dev_a, "sent_pkts"));
	tap_ok(rx0 >= 0 && rx1 - rx0 >= 2 * NPAGES, "the server's RDMA device received the traffic");
	tap_is(server_counter(&tcp, RB_SF_OPS_READ), sr0, "rbufd's own read path was not used");
	tap_is(server_counter(&tcp, RB_SF_OPS_WRITE), sw0, "rbufd's own write path was not used");

	/* Same memory seen over TCP, both ways. */
	same = true;
	for (int i = 0; i < NPAGES && same; i++)
		same = rb_read(&tcp, li.lease_id, (uint64_t) i * PAGE, buf, PAGE) == RB_OK &&
			memcmp(buf, pages[i], PAGE) == 0;
	tap_ok(same, "TCP reads of the same lease return the RDMA-written pages");
	fill_page(pages[0], PAGE, 777);
	e = rb_write(&tcp, li.lease_id, 0, pages[0], PAGE);
	memset(buf, 0, PAGE);
	tap_ok(e == RB_OK && rb_read(&c, li.lease_id, 0, buf, PAGE) == RB_OK &&
		   memcmp(buf, pages[0], PAGE) == 0, "a page written over TCP is read identically by RDMA");

	/* ---- batches ---- */
	for (int i = 0; i < 8; i++)
	{
		fill_page(pages[i], PAGE, 1000 + (uint32_t) i);
		iov[i].lease_id = li.lease_id;
		iov[i].offset = (uint64_t) (8 + i) * PAGE;
		iov[i].length = PAGE;
		iov[i].buf = pages[i];
	}
	rb_rdma_get_info(&c, &ri);
	e = rb_writev(&c, iov, 8);
	same = e == RB_OK;
	for (int i = 0; i < 8; i++)
		same = same && iov[i].status == RB_OK;
	tap_ok(same, "batched RDMA WRITE of 8 pages (%s)", rb_errmsg(&c));
	for (int i = 0; i < 8; i++)
	{
		memset(back[i], 0, PAGE);
		iov[i].buf = back[i];
	}
	iov[7].offset = li.bytes;	/* just past the end */
	e = rb_readv(&c, iov, 8);
	same = e == RB_OK;
	for (int i = 0; i < 7; i++)
		same = same && iov[i].status == RB_OK && memcmp(back[i], pages[i], PAGE) == 0;
	tap_ok(same, "batched RDMA READ: 7 pages byte-identical");
	tap_is(iov[7].status, RB_E_OUT_OF_RANGE, "batched entry past the lease end: out of range");
	rb_rdma_get_info(&c, &ri2);
	tap_is(ri2.writes - ri.writes, 8, "the write batch was 8 RDMA WRITEs");
	tap_is(ri2.reads - ri.reads, 7, "the read batch was 7 RDMA READs");
	e = rb_read(&c, li.lease_id, li.bytes - 100, buf, PAGE);
	tap_is(e, RB_E_OUT_OF_RANGE, "a read crossing the lease end is refused locally");

	/* ---- lease expiry: the old rkey no longer works ---- */
	e = rb_lease_acquire(&c, 65536, 0, 300, &shortl);
	if (!tap_ok(e == RB_OK && shortl.remote_addr != 0, "short lease acquired (ttl %u ms)", shortl.ttl_ms))
		goto out;
	fill_page(pages[0], PAGE, 4242);
	tap_ok(rb_write(&c, shortl.lease_id, 0, pages[0], PAGE) == RB_OK, "page written into the short lease");
	/* Past the TTL and a housekeeping round (100 ms): region deregistered. */
	sleep_ms((int) shortl.ttl_ms + 400);
	e = rb_lease_acquire(&c, 65536, 0, 60000, &again);
	tap_ok(e == RB_OK, "new lease acquired after the expiry");
	tap_diag("expired lease rkey 0x%08x at 0x%llx; new lease rkey 0x%08x at 0x%llx",
			 shortl.rkey, (unsigned long long) shortl.remote_addr, again.rkey,
			 (unsigned long long) again.remote_addr);
	/* Make the reused memory hold something a leak would show. */
	fill_page(pages[1], PAGE, 9999);
	tap_ok(rb_write(&c, again.lease_id, 0, pages[1], PAGE) == RB_OK, "new lease written");
	memset(buf, 0xEE, PAGE);
	e = rb_read(&c, shortl.lease_id, 0, buf, PAGE);
	tap_is(e, RB_E_REMOTE_ACCESS, "RDMA READ with the expired lease's rkey: remote access error (%s)",
		   rb_errmsg(&c));
	same = true;
	for (int i = 0; i < PAGE; i++)
		same = same && buf[i] == 0xEE;
	tap_ok(same, "no data came back for the expired lease");
	tap_ok(again.remote_addr != shortl.remote_addr || again.rkey != shortl.rkey,
		   "the reused memory has a new rkey");
	tap_ok(rbd_log_contains(&d, "deregistered RDMA memory region"), "rbufd logged the deregistration");
	e = rb_write(&c, shortl.lease_id, 0, pages[0], PAGE);
	tap_ok(e != RB_OK, "write to the expired lease fails too (%s)", rb_error_name(e));
	memset(buf, 0, PAGE);
	tap_ok(rb_read(&tcp, again.lease_id, 0, buf, PAGE) == RB_OK && memcmp(buf, pages[1], PAGE) == 0,
		   "the new lease's page is intact");

	/* ---- queue pair re-created after the error ---- */
	rb_rdma_get_info(&c, &ri2);
	memset(buf, 0, PAGE);
	fill_page(pages[2], PAGE, 4);	/* what page 3 got in the first round */
	e = rb_read(&c, li.lease_id, (uint64_t) 3 * PAGE, buf, PAGE);
	rb_rdma_get_info(&c, &ri);
	tap_ok(e == RB_OK && memcmp(buf, pages[2], PAGE) == 0,
		   "read after the error succeeds, byte-identical (%s)", rb_errmsg(&c));
	tap_ok(ri.reconnects >= 1 && ri.qp_num != 0, "the queue pair was re-created (%u reconnects, queue pair %u)",
		   ri.reconnects, ri.qp_num);
	tap_ok(strcmp(rb_conn_transport(&c), "rdma") == 0 && ri.fallbacks == ri2.fallbacks &&
		   ri.reads == ri2.reads + 1, "and that read was an RDMA READ, not a TCP fallback");

	/* ---- auto picks RDMA ---- */
	if (tap_ok(connect_mode(&c2, "rdma-test", RB_XPORT_AUTO, 2000), "transport auto connects"))
		tap_ok(strcmp(rb_conn_transport(&c2), "rdma") == 0, "auto chose rdma (%s)", c2.rdma_note);
	rb_close(&c2);

	/*
	 * ---- a second rbufd shut down cleanly with an RDMA client attached:
	 * it tears down queue pairs and regions (a sanitizer build reports
	 * leaks at exit), and the client notices within its deadline ----
	 */
	{
		rbd_proc	d2;
		rbd_proc	saved = d;
		rb_conn		c3;
		rb_lease_info l3;

		if (tap_ok(rbd_start(&d2, false, extra), "second rbufd starts"))
		{
			d = d2;
			if (tap_ok(connect_mode(&c3, "rdma-test-2", RB_XPORT_RDMA, 500), "RDMA client of the second rbufd"))
			{
				fill_page(pages[3], PAGE, 31337);
				e = rb_lease_acquire(&c3, 1024 * 1024, 0, 60000, &l3);
				tap_ok(e == RB_OK && rb_write(&c3, l3.lease_id, 0, pages[3], PAGE) == RB_OK &&
					   rb_read(&c3, l3.lease_id, 0, buf, PAGE) == RB_OK &&
					   memcmp(buf, pages[3], PAGE) == 0, "RDMA write and read on it");
				tap_ok(rbd_stop(&d2), "second rbufd stops cleanly (exit 0) with the RDMA client attached");
				tap_ok(rbd_log_clean(&d2), "its log has no sanitizer report");
				t0 = now_ms();
				memset(buf, 0xEE, PAGE);
				e = rb_read(&c3, l3.lease_id, 0, buf, PAGE);
				el = now_ms() - t0;
				tap_ok(e != RB_OK && el <= 500 + 250 && buf[0] == 0xEE,
					   "read after its shutdown fails within the deadline (%s, %llu ms)",
					   rb_error_name(e), (unsigned long long) el);
				rb_close(&c3);
			}
			else
				rbd_stop(&d2);
			d = saved;
		}
	}

	/* ---- rbufd killed: the deadline holds ---- */
	rb_set_timeout(&c, 500);
	kill(d.pid, SIGKILL);
	waitpid(d.pid, NULL, 0);
	d.pid = -1;
	memset(buf, 0xEE, PAGE);
	t0 = now_ms();
	e = rb_read(&c, li.lease_id, 0, buf, PAGE);
	el = now_ms() - t0;
	tap_ok(e != RB_OK, "read from a killed rbufd fails (%s: %s)", rb_error_name(e), rb_errmsg(&c));
	tap_ok(el <= 500 + 250, "within the 500 ms deadline (took %llu ms)", (unsigned long long) el);
	same = true;
	for (int i = 0; i < PAGE; i++)
		same = same && buf[i] == 0xEE;
	tap_ok(same, "no data returned");
	t0 = now_ms();
	e = rb_write(&c, li.lease_id, 0, pages[0], PAGE);
	el = now_ms() - t0;
	tap_ok(e != RB_OK && el <= 750, "write after that fails within the deadline too (%s, %llu ms)",
		   rb_error_name(e), (unsigned long long) el);

out:
	rb_close(&c);
	rb_close(&tcp);
	if (d.pid > 0)
	{
		tap_ok(rbd_stop(&d), "rbufd stops cleanly");
		tap_ok(rbd_log_clean(&d), "rbufd log has no sanitizer report");
	}
	return tap_done();
}
