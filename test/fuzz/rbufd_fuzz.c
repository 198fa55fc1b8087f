/*-------------------------------------------------------------------------
 *
 * rbufd_fuzz.c
 *	  libFuzzer target for rbufd's framing and protocol handling: the real
 *	  conn.c, proto.c and store.c over a 1 MiB in-memory store, fed as a
 *	  byte stream cut into reads at points chosen by the input.  Output is
 *	  discarded; everything is created and freed per input.
 *
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "conn.h"
#include "log.h"
#include "proto.h"
#include "server.h"
#include "store.h"

#include "rbufd_fuzz.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t
chunk_size(unsigned sel, const uint8_t *p, size_t left)
{
	static const size_t fixed[] = {0, 1, 3, 24, 25, 100, 4096};
	size_t		n;

	if (sel == 0)
		n = left;
	else if (sel < 7)
		n = fixed[sel];
	else
		n = 1 + p[0] % 64;		/* the data decides */
	return n < left ? n : left;
}

/* The client reads up to max bytes of replies. */
static void
drain(rbd_conn *c, size_t max)
{
	const uint8_t *out;
	size_t		pending = rbd_conn_out_pending(c, &out);

	if (pending > max)
		pending = max;
	if (pending == 0)
		return;
	rbd_conn_out_consume(c, pending);
	/* What loop.c does once output shrinks: take held-back requests. */
	rbd_conn_process(c);
}

/* Feed bytes like socket reads would; false once the conn is done. */
static bool
feed(rbd_conn *c, const uint8_t *p, size_t n, bool slow)
{
	while (n > 0)
	{
		uint8_t    *dst;
		size_t		space;

		if (c->closing || c->failed)
			return false;
		if (!rbd_conn_want_input(c))
		{
			const uint8_t *out;

			/* Only backpressure may stop input, and reading lifts it. */
			if (rbd_conn_out_pending(c, &out) == 0)
				abort();
			drain(c, SIZE_MAX);
			continue;
		}
		space = rbd_conn_in_space(c, &dst);
		if (space > n)
			space = n;
		memcpy(dst, p, space);
		rbd_conn_in_commit(c, space);
		p += space;
		n -= space;
		rbd_conn_process(c);
		drain(c, slow ? 1000 : SIZE_MAX);
	}
	return !c->closing && !c->failed;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t clock_steps[] = {0, 700, 5000, 700000};
	rbd_config	cfg;
	rbd_server	srv;
	rbd_store_opts so;
	rbd_store  *store;
	rbd_conn   *conns[2];
	bool		alive[2] = {true, true};
	char		err[256];
	uint8_t		mode;
	uint8_t		mode2;
	int			nconns;
	size_t		off = 0;
	int			turn = 0;

	if (size < 2)
		return 0;
	mode = data[0];
	mode2 = data[1];
	data += 2;
	size -= 2;
	rbd_log_set_level(RBD_LOG_NONE);

	memset(&so, 0, sizeof(so));
	so.memory = FUZZ_MEMORY;
	so.granularity = FUZZ_GRANULARITY;
	so.numa_node = -1;
	so.deterministic = true;
	store = rbd_store_create(&so, err, sizeof(err));
	if (store == NULL)
		abort();

	memset(&cfg, 0, sizeof(cfg));
	cfg.insecure_no_auth = !(mode & FUZZ_MODE_AUTH);
	cfg.max_clients = (mode2 & FUZZ_MODE2_OVER_LIMIT) ? 0 : 8;
	cfg.max_leases_per_client = (mode2 & FUZZ_MODE2_ONE_LEASE) ? 1 : 8;
	cfg.min_ttl_ms = 1000;
	cfg.max_ttl_ms = 600000;
	cfg.default_ttl_ms = 30000;
	cfg.auth_timeout_ms = 10000;
	if (!rbd_server_init(&srv, store, &cfg))
		abort();
	srv.fixed_nonce = true;
	rbd_server_set_secret(&srv, (const uint8_t *) FUZZ_SECRET, strlen(FUZZ_SECRET));

	nconns = (mode & FUZZ_MODE_TWO_CONNS) ? 2 : 1;
	for (int i = 0; i < nconns; i++)
	{
		conns[i] = rbd_conn_create(&srv, i ? "fuzz:2" : "fuzz:1");
		if (conns[i] == NULL)
			abort();
	}

	while (off < size && (alive[0] || (nconns == 2 && alive[1])))
	{
		size_t		n = chunk_size((mode >> 1) & 7, data + off, size - off);
		int			ci = nconns == 2 ? turn++ % 2 : 0;

		if (alive[ci])
			alive[ci] = feed(conns[ci], data + off, n, (mode & FUZZ_MODE_SLOW) != 0);
		off += n;
		srv.clock_offset += clock_steps[(mode >> 4) & 3];
		rbd_store_reap(store, rbd_proto_now(&srv));
		rbd_server_tick_rates(&srv, rbd_mono_ms());
	}

	for (int i = 0; i < nconns; i++)
		rbd_conn_destroy(conns[i]);
	rbd_server_destroy(&srv);
	rbd_store_destroy(store);
	return 0;
}
