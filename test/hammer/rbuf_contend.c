/*-------------------------------------------------------------------------
 *
 * rbuf_contend.c
 *	  Same-page contention: W writer and R reader threads, each with its own
 *	  connection but one owner (as the extension's backends share a lease),
 *	  write and read the SAME few pages of one lease as fast as they can.
 *	  Every write is self-consistent (each 8-byte word of the page holds
 *	  the same stamp); every read must be one whole write, never a torn mix
 *	  of two.  Under TSan this also catches unordered copies in rbufd.
 *
 *	  rbuf_contend --port P --secret-file F [--host H] [--seconds S]
 *				   [--writers W] [--readers R] [--pages N]
 *	  Exits 0 if no torn page was read and no call failed.
 *
 *-------------------------------------------------------------------------
 */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rb_client.h"

#define PAGE	8192
#define MAXT	16

static const char *host = "127.0.0.1";
static int	port;
static uint8_t secret[RB_SECRET_MAX_LEN];
static size_t secret_len;
static int	seconds = 5;
static int	npages = 2;
static uint64_t lease_id;
static atomic_int stop;
static atomic_long torn,
			errors,
			reads,
			writes;

static bool
connect_owner(rb_conn *c)
{
	rb_client_opts o = {0};

	o.host = host;
	o.port = port;
	o.secret = secret_len ? secret : NULL;
	o.secret_len = secret_len;
	o.owner = "contend";
	o.connect_timeout_ms = 10000;
	o.io_timeout_ms = 10000;
	rb_conn_init(c);
	if (rb_connect(c, &o) != RB_OK)
	{
		fprintf(stderr, "connect: %s\n", rb_errmsg(c));
		return false;
	}
	return true;
}

static void *
writer(void *arg)
{
	rb_conn		c;
	uint64_t	stamp = (uint64_t) (uintptr_t) arg << 48;
	uint64_t	page[PAGE / 8];

	if (!connect_owner(&c))
	{
		atomic_fetch_add(&errors, 1);
		return NULL;
	}
	while (!atomic_load(&stop))
	{
		stamp++;
		for (int i = 0; i < PAGE / 8; i++)
			page[i] = stamp;
		if (rb_write(&c, lease_id, (stamp % (uint64_t) npages) * PAGE, page, PAGE) != RB_OK)
		{
			fprintf(stderr, "write: %s\n", rb_errmsg(&c));
			atomic_fetch_add(&errors, 1);
			break;
		}
		atomic_fetch_add(&writes, 1);
	}
	rb_close(&c);
	return NULL;
}

static void *
reader(void *arg)
{
	rb_conn		c;
	uint64_t	page[PAGE / 8];
	uint64_t	n = (uint64_t) (uintptr_t) arg;

	if (!connect_owner(&c))
	{
		atomic_fetch_add(&errors, 1);
		return NULL;
	}
	while (!atomic_load(&stop))
	{
		n++;
		if (rb_read(&c, lease_id, (n % (uint64_t) npages) * PAGE, page, PAGE) != RB_OK)
		{
			fprintf(stderr, "read: %s\n", rb_errmsg(&c));
			atomic_fetch_add(&errors, 1);
			break;
		}
		for (int i = 1; i < PAGE / 8; i++)
			if (page[i] != page[0])
			{
				if (atomic_fetch_add(&torn, 1) < 5)
					fprintf(stderr, "torn page: word 0 = %016" PRIx64
							", word %d = %016" PRIx64 "\n", page[0], i, page[i]);
				break;
			}
		atomic_fetch_add(&reads, 1);
	}
	rb_close(&c);
	return NULL;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"host", required_argument, NULL, 'h'},
		{"port", required_argument, NULL, 'p'},
		{"secret-file", required_argument, NULL, 's'},
		{"seconds", required_argument, NULL, 't'},
		{"writers", required_argument, NULL, 'w'},
		{"readers", required_argument, NULL, 'r'},
		{"pages", required_argument, NULL, 'n'},
		{NULL, 0, NULL, 0}
	};
	int			nw = 2,
				nr = 2,
				ch;
	char		err[256];
	pthread_t	th[2 * MAXT];
	int			nth = 0;
	rb_conn		c;
	rb_lease_info li;
	struct timespec ts;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1)
	{
		switch (ch)
		{
			case 'h':
				host = optarg;
				break;
			case 'p':
				port = atoi(optarg);
				break;
			case 's':
				if (!rb_secret_load(optarg, secret, &secret_len, err, sizeof(err)))
				{
					fprintf(stderr, "rbuf_contend: %s\n", err);
					return 2;
				}
				break;
			case 't':
				seconds = atoi(optarg);
				break;
			case 'w':
				nw = atoi(optarg);
				break;
			case 'r':
				nr = atoi(optarg);
				break;
			case 'n':
				npages = atoi(optarg);
				break;
			default:
				fprintf(stderr, "usage: rbuf_contend --port P --secret-file F [--host H] "
						"[--seconds S] [--writers W] [--readers R] [--pages N]\n");
				return 2;
		}
	}
	if (port <= 0 || nw < 1 || nw > MAXT || nr < 1 || nr > MAXT ||
		npages < 1 || npages > 64 || seconds < 1)
	{
		fprintf(stderr, "rbuf_contend: bad arguments\n");
		return 2;
	}
	if (!connect_owner(&c))
		return 1;
	if (rb_lease_acquire(&c, (uint64_t) npages * PAGE, 0,
						 (uint32_t) (seconds + 60) * 1000, &li) != RB_OK)
	{
		fprintf(stderr, "acquire: %s\n", rb_errmsg(&c));
		return 1;
	}
	lease_id = li.lease_id;

	for (int i = 0; i < nw; i++)
		pthread_create(&th[nth++], NULL, writer, (void *) (uintptr_t) (i + 1));
	for (int i = 0; i < nr; i++)
		pthread_create(&th[nth++], NULL, reader, (void *) (uintptr_t) i);
	ts.tv_sec = seconds;
	ts.tv_nsec = 0;
	nanosleep(&ts, NULL);
	atomic_store(&stop, 1);
	for (int i = 0; i < nth; i++)
		pthread_join(th[i], NULL);

	rb_lease_release(&c, lease_id);
	rb_close(&c);
	printf("contend: %d writers, %d readers, %d pages, %d s: %ld writes, "
		   "%ld reads, %ld torn, %ld errors\n", nw, nr, npages, seconds,
		   atomic_load(&writes), atomic_load(&reads), atomic_load(&torn),
		   atomic_load(&errors));
	return (atomic_load(&torn) == 0 && atomic_load(&errors) == 0 &&
			atomic_load(&reads) > 0 && atomic_load(&writes) > 0) ? 0 : 1;
}
