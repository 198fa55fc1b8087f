/*-------------------------------------------------------------------------
 *
 * rbuf_bench.c
 *	  Page read/write micro-benchmark for rbufd: T client threads, each
 *	  with its own connection and lease, issue random page READs, WRITEs
 *	  (or batched READV/WRITEV) for a time or op budget; per-op latency
 *	  goes into a 1 us histogram.  Prints one JSON object on stdout.
 *
 *-------------------------------------------------------------------------
 */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rb_client.h"

#define FINE_BUCKETS	10000	/* 1 us each: 0 .. 10 ms */
#define COARSE_BUCKETS	10000	/* 1 ms each: 10 ms .. 10 s */

typedef enum bench_mode
{
	MODE_READ,
	MODE_WRITE,
	MODE_MIXED,
	MODE_READV,
	MODE_WRITEV
} bench_mode;

static const char *const mode_names[] = {"read", "write", "mixed", "readv", "writev"};

typedef struct bench_cfg
{
	const char *host;
	int			port;
	const char *secret_file;
	uint8_t		secret[RB_SECRET_MAX_LEN];
	size_t		secret_len;
	const char *owner;
	int			threads;
	double		seconds;
	uint64_t	ops;			/* per thread; 0 = time-bounded */
	bench_mode	mode;
	int			batch;
	uint32_t	page_size;
	uint64_t	lease_bytes;
	int			read_pct;		/* mixed mode */
	int			timeout_ms;
	uint64_t	seed;
	rb_transport_mode transport;
} bench_cfg;

typedef struct hist
{
	uint64_t	fine[FINE_BUCKETS];
	uint64_t	coarse[COARSE_BUCKETS];
	uint64_t	overflow;
	uint64_t	count;
	uint64_t	sum_ns;
	uint64_t	max_ns;
} hist;

typedef struct worker
{
	const bench_cfg *cfg;
	pthread_barrier_t *barrier;
	int			id;
	hist	   *h;
	uint64_t	ops;
	uint64_t	errors;
	int			failed;			/* setup failed */
	char		err[300];
	char		transport[8];	/* data path the connection got */
} worker;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static uint64_t
xorshift(uint64_t *s)
{
	uint64_t	x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void
hist_add(hist *h, uint64_t ns)
{
	uint64_t	us = ns / 1000;

	if (us < FINE_BUCKETS)
		h->fine[us]++;
	else if (us / 1000 < FINE_BUCKETS / 1000 + COARSE_BUCKETS)
		h->coarse[us / 1000 - FINE_BUCKETS / 1000]++;
	else
		h->overflow++;
	h->count++;
	h->sum_ns += ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

static void
hist_merge(hist *dst, const hist *src)
{
	for (int i = 0; i < FINE_BUCKETS; i++)
		dst->fine[i] += src->fine[i];
	for (int i = 0; i < COARSE_BUCKETS; i++)
		dst->coarse[i] += src->coarse[i];
	dst->overflow += src->overflow;
	dst->count += src->count;
	dst->sum_ns += src->sum_ns;
	if (src->max_ns > dst->max_ns)
		dst->max_ns = src->max_ns;
}

/* Latency (us, bucket lower bound) below which a fraction q of ops fall. */
static double
hist_pct(const hist *h, double q)
{
	uint64_t	target = (uint64_t) (q * (double) h->count + 0.999999);
	uint64_t	seen = 0;

	if (h->count == 0)
		return 0;
	if (target == 0)
		target = 1;
	for (int i = 0; i < FINE_BUCKETS; i++)
		if ((seen += h->fine[i]) >= target)
			return i;
	for (int i = 0; i < COARSE_BUCKETS; i++)
		if ((seen += h->coarse[i]) >= target)
			return (double) (FINE_BUCKETS + 1000 * i);
	return (double) h->max_ns / 1000.0;
}

static void *
worker_main(void *arg)
{
	worker	   *w = arg;
	const bench_cfg *cfg = w->cfg;
	rb_client_opts co;
	rb_conn		c;
	rb_lease_info li;
	rb_iov		iov[RB_MAX_BATCH];
	char		owner[RB_MAX_OWNER_LEN + 1];
	uint8_t    *buf;
	uint64_t	rng = cfg->seed * 0x9e3779b97f4a7c15ull + (uint64_t) w->id + 1;
	uint64_t	pages;
	uint64_t	end;
	uint32_t	ttl;
	int			connected = 0;
	int			leased = 0;
	int			k = (cfg->mode == MODE_READV || cfg->mode == MODE_WRITEV) ? cfg->batch : 1;

	buf = malloc((size_t) cfg->page_size * (size_t) k);
	if (buf == NULL)
	{
		snprintf(w->err, sizeof(w->err), "out of memory");
		w->failed = 1;
		goto sync;
	}
	for (size_t i = 0; i < (size_t) cfg->page_size * k; i++)
		buf[i] = (uint8_t) xorshift(&rng);
	snprintf(owner, sizeof(owner), "%s-%d", cfg->owner, w->id);
	memset(&co, 0, sizeof(co));
	co.host = cfg->host;
	co.port = cfg->port;
	co.secret = cfg->secret_len ? cfg->secret : NULL;
	co.secret_len = cfg->secret_len;
	co.owner = owner;
	co.connect_timeout_ms = cfg->timeout_ms;
	co.io_timeout_ms = cfg->timeout_ms;
	co.transport = cfg->transport;
	rb_conn_init(&c);
	if (rb_connect(&c, &co) != RB_OK)
	{
		snprintf(w->err, sizeof(w->err), "%s", rb_errmsg(&c));
		w->failed = 1;
		goto sync;
	}
	connected = 1;
	snprintf(w->transport, sizeof(w->transport), "%s", rb_conn_transport(&c));
	ttl = (uint32_t) (cfg->seconds * 1000.0) + 120000;
	if (rb_lease_acquire(&c, cfg->lease_bytes, 0, ttl, &li) != RB_OK)
	{
		snprintf(w->err, sizeof(w->err), "%s", rb_errmsg(&c));
		w->failed = 1;
		goto sync;
	}
	leased = 1;

sync:
	pthread_barrier_wait(w->barrier);
	if (w->failed)
		goto out;

	pages = li.bytes / cfg->page_size;
	end = now_ns() + (uint64_t) (cfg->seconds * 1e9);
	for (;;)
	{
		uint64_t	t0 = now_ns();
		uint64_t	t1;
		rb_error	rc;
		uint64_t	slot = xorshift(&rng) % pages;
		int			do_read;

		if (cfg->ops ? w->ops >= cfg->ops : t0 >= end)
			break;
		switch (cfg->mode)
		{
			case MODE_READ:
			case MODE_WRITE:
			case MODE_MIXED:
				do_read = cfg->mode == MODE_READ ||
					(cfg->mode == MODE_MIXED &&
					 (int) (xorshift(&rng) % 100) < cfg->read_pct);
				if (do_read)
					rc = rb_read(&c, li.lease_id, slot * cfg->page_size,
								 buf, cfg->page_size);
				else
					rc = rb_write(&c, li.lease_id, slot * cfg->page_size,
								  buf, cfg->page_size);
				break;
			default:
				for (int i = 0; i < k; i++)
				{
					iov[i].lease_id = li.lease_id;
					iov[i].offset = (xorshift(&rng) % pages) * cfg->page_size;
					iov[i].length = cfg->page_size;
					iov[i].buf = buf + (size_t) i * cfg->page_size;
				}
				rc = cfg->mode == MODE_READV ? rb_readv(&c, iov, k)
					: rb_writev(&c, iov, k);
				for (int i = 0; rc == RB_OK && i < k; i++)
					rc = iov[i].status;
				break;
		}
		t1 = now_ns();
		if (rc != RB_OK)
		{
			w->errors++;
			snprintf(w->err, sizeof(w->err), "%s", rb_errmsg(&c));
			break;
		}
		hist_add(w->h, t1 - t0);
		w->ops++;
	}

out:
	if (leased && rb_connected(&c))
		(void) rb_lease_release(&c, li.lease_id);
	if (connected)
		rb_close(&c);
	free(buf);
	return NULL;
}

static void
usage(FILE *f)
{
	fprintf(f,
			"Usage: rbuf_bench [OPTION]...\n"
			"Page read/write micro-benchmark against rbufd; prints JSON.\n"
			"\n"
			"  --host HOST          server address (default 127.0.0.1)\n"
			"  --port PORT          server port (default 7420)\n"
			"  --secret-file F      shared secret (default: no authentication)\n"
			"  --owner PREFIX       owner name prefix (default \"bench\")\n"
			"  --threads T          client threads/connections (default 1)\n"
			"  --seconds D          duration (default 5)\n"
			"  --ops N              ops per thread instead of a duration\n"
			"  --mode M             read|write|mixed|readv|writev (default read)\n"
			"  --batch K            pages per READV/WRITEV (default 8)\n"
			"  --read-pct P         reads in mixed mode, percent (default 50)\n"
			"  --page-size B        bytes per page (default 8192)\n"
			"  --lease-mb M         lease size per thread, MiB (default 64)\n"
			"  --timeout MS         connect and I/O timeout (default 5000)\n"
			"  --seed N             RNG seed (default 1)\n"
			"  --transport T        tcp|auto|rdma data path (default tcp)\n");
}

static int
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char	   *end;
	unsigned long long v;

	if (*s == '-')
		return -1;
	v = strtoull(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"host", required_argument, NULL, 'H'},
		{"port", required_argument, NULL, 'p'},
		{"secret-file", required_argument, NULL, 's'},
		{"owner", required_argument, NULL, 'o'},
		{"threads", required_argument, NULL, 't'},
		{"seconds", required_argument, NULL, 'd'},
		{"ops", required_argument, NULL, 'n'},
		{"mode", required_argument, NULL, 'm'},
		{"batch", required_argument, NULL, 'k'},
		{"read-pct", required_argument, NULL, 'r'},
		{"page-size", required_argument, NULL, 'P'},
		{"lease-mb", required_argument, NULL, 'l'},
		{"timeout", required_argument, NULL, 'T'},
		{"seed", required_argument, NULL, 'S'},
		{"transport", required_argument, NULL, 'X'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	static bench_cfg cfg;
	pthread_barrier_t barrier;
	pthread_t  *tids;
	worker	   *ws;
	hist	   *total;
	uint64_t	v;
	uint64_t	t0;
	uint64_t	t1;
	uint64_t	ops = 0;
	uint64_t	errors = 0;
	double		elapsed;
	char		err[512];
	int			ch;
	int			optidx = 0;
	int			failed = 0;

	cfg.host = "127.0.0.1";
	cfg.port = 7420;
	cfg.owner = "bench";
	cfg.threads = 1;
	cfg.seconds = 5;
	cfg.mode = MODE_READ;
	cfg.batch = 8;
	cfg.page_size = 8192;
	cfg.lease_bytes = 64u << 20;
	cfg.read_pct = 50;
	cfg.timeout_ms = 5000;
	cfg.seed = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, &optidx)) != -1)
	{
		int			bad = 0;

		switch (ch)
		{
			case 'H':
				cfg.host = optarg;
				break;
			case 'p':
				bad = parse_u64(optarg, 1, 65535, &v);
				cfg.port = (int) v;
				break;
			case 's':
				cfg.secret_file = optarg;
				break;
			case 'o':
				cfg.owner = optarg;
				break;
			case 't':
				bad = parse_u64(optarg, 1, 1024, &v);
				cfg.threads = (int) v;
				break;
			case 'd':
				cfg.seconds = atof(optarg);
				bad = !(cfg.seconds > 0 && cfg.seconds < 86400);
				break;
			case 'n':
				bad = parse_u64(optarg, 1, UINT64_MAX, &cfg.ops);
				break;
			case 'm':
				bad = 1;
				for (int i = 0; i < 5; i++)
					if (strcmp(optarg, mode_names[i]) == 0)
					{
						cfg.mode = (bench_mode) i;
						bad = 0;
					}
				break;
			case 'k':
				bad = parse_u64(optarg, 1, RB_MAX_BATCH, &v);
				cfg.batch = (int) v;
				break;
			case 'r':
				bad = parse_u64(optarg, 0, 100, &v);
				cfg.read_pct = (int) v;
				break;
			case 'P':
				bad = parse_u64(optarg, 1, RB_MAX_IO, &v);
				cfg.page_size = (uint32_t) v;
				break;
			case 'l':
				bad = parse_u64(optarg, 1, 1u << 20, &v);
				cfg.lease_bytes = v << 20;
				break;
			case 'T':
				bad = parse_u64(optarg, 1, 3600000, &v);
				cfg.timeout_ms = (int) v;
				break;
			case 'S':
				bad = parse_u64(optarg, 0, UINT64_MAX, &cfg.seed);
				break;
			case 'X':
				if (strcmp(optarg, "tcp") == 0)
					cfg.transport = RB_XPORT_TCP;
				else if (strcmp(optarg, "auto") == 0)
					cfg.transport = RB_XPORT_AUTO;
				else if (strcmp(optarg, "rdma") == 0)
					cfg.transport = RB_XPORT_RDMA;
				else
				{
					fprintf(stderr, "rbuf_bench: invalid --transport: %s\n", optarg);
					return 2;
				}
				break;
			case 'h':
				usage(stdout);
				return 0;
			default:
				usage(stderr);
				return 2;
		}
		if (bad)
		{
			fprintf(stderr, "rbuf_bench: invalid value \"%s\" for --%s\n",
					optarg, longopts[optidx].name);
			return 2;
		}
	}
	if (optind != argc)
	{
		usage(stderr);
		return 2;
	}
	if ((uint64_t) cfg.page_size * (uint64_t) cfg.batch > RB_MAX_BATCH_BYTES ||
		cfg.lease_bytes < cfg.page_size)
	{
		fprintf(stderr, "rbuf_bench: batch too large or lease smaller than a page\n");
		return 2;
	}
	if (cfg.secret_file &&
		!rb_secret_load(cfg.secret_file, cfg.secret, &cfg.secret_len, err, sizeof(err)))
	{
		fprintf(stderr, "rbuf_bench: %s\n", err);
		return 1;
	}

	tids = calloc((size_t) cfg.threads, sizeof(*tids));
	ws = calloc((size_t) cfg.threads, sizeof(*ws));
	total = calloc(1, sizeof(*total));
	if (!tids || !ws || !total)
	{
		fprintf(stderr, "rbuf_bench: out of memory\n");
		return 1;
	}
	pthread_barrier_init(&barrier, NULL, (unsigned) cfg.threads + 1);
	for (int i = 0; i < cfg.threads; i++)
	{
		ws[i].cfg = &cfg;
		ws[i].barrier = &barrier;
		ws[i].id = i;
		ws[i].h = calloc(1, sizeof(hist));
		if (ws[i].h == NULL ||
			pthread_create(&tids[i], NULL, worker_main, &ws[i]) != 0)
		{
			fprintf(stderr, "rbuf_bench: could not start thread %d\n", i);
			return 1;
		}
	}
	pthread_barrier_wait(&barrier);
	t0 = now_ns();
	for (int i = 0; i < cfg.threads; i++)
		pthread_join(tids[i], NULL);
	t1 = now_ns();
	elapsed = (double) (t1 - t0) / 1e9;

	for (int i = 0; i < cfg.threads; i++)
	{
		if (ws[i].failed || ws[i].errors)
		{
			fprintf(stderr, "rbuf_bench: thread %d: %s\n", i, ws[i].err);
			failed = 1;
		}
		hist_merge(total, ws[i].h);
		ops += ws[i].ops;
		errors += ws[i].errors;
	}
	{
		int			k = (cfg.mode == MODE_READV || cfg.mode == MODE_WRITEV) ? cfg.batch : 1;
		double		pages = (double) ops * k;

		printf("{\"mode\":\"%s\",\"threads\":%d,\"page_size\":%u,\"batch\":%d,"
			   "\"ops\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"elapsed_s\":%.3f,"
			   "\"ops_per_sec\":%.0f,\"pages_per_sec\":%.0f,\"mib_per_sec\":%.1f,"
			   "\"lat_us\":{\"p50\":%.0f,\"p90\":%.0f,\"p99\":%.0f,\"p999\":%.0f,"
			   "\"max\":%.0f,\"mean\":%.1f},"
			   "\"transport\":\"%s\",\"settings\":{\"host\":\"%s\",\"port\":%d,\"auth\":%s,"
			   "\"seconds\":%.3f,\"ops_per_thread\":%" PRIu64 ",\"lease_bytes\":%" PRIu64
			   ",\"read_pct\":%d,\"timeout_ms\":%d,\"seed\":%" PRIu64 "}}\n",
			   mode_names[cfg.mode], cfg.threads, cfg.page_size, k,
			   ops, errors, elapsed,
			   elapsed > 0 ? (double) ops / elapsed : 0,
			   elapsed > 0 ? pages / elapsed : 0,
			   elapsed > 0 ? pages * cfg.page_size / elapsed / 1048576.0 : 0,
			   hist_pct(total, 0.50), hist_pct(total, 0.90),
			   hist_pct(total, 0.99), hist_pct(total, 0.999),
			   (double) total->max_ns / 1000.0,
			   total->count ? (double) total->sum_ns / 1000.0 / (double) total->count : 0,
			   ws[0].transport[0] ? ws[0].transport : "none",
			   cfg.host, cfg.port, cfg.secret_len ? "true" : "false",
			   cfg.seconds, cfg.ops, cfg.lease_bytes, cfg.read_pct,
			   cfg.timeout_ms, cfg.seed);
	}
	for (int i = 0; i < cfg.threads; i++)
		free(ws[i].h);
	free(ws);
	free(tids);
	free(total);
	pthread_barrier_destroy(&barrier);
	return failed ? 1 : 0;
}
