/*-------------------------------------------------------------------------
 *
 * main.c
 *	  rbufd: the remote_buffer memory server.  Startup, signal handling
 *	  (SIGHUP reload, SIGTERM/SIGINT shutdown), the housekeeping thread
 *	  (lease expiry and ops/s) and shutdown.
 *
 * Signals are blocked in every thread and taken synchronously by the main
 * thread with sigwaitinfo(), so handlers never run in the middle of
 * anything.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "loop.h"
#include "pool.h"
#include "rdma.h"
#include "rb_auth.h"
#include "server.h"
#include "store.h"
#include "util.h"

#define HOUSEKEEPING_MS 100

static pthread_mutex_t hk_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hk_cond;
static bool hk_stop;

static void *
housekeeping_main(void *arg)
{
	rbd_server *srv = arg;
	struct timespec ts;

	pthread_mutex_lock(&hk_lock);
	while (!hk_stop)
	{
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += HOUSEKEEPING_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L)
		{
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&hk_cond, &hk_lock, &ts);
		if (hk_stop)
			break;
		pthread_mutex_unlock(&hk_lock);

		/* Zeroing happens in here, outside every lock but the store's. */
		rbd_store_reap(srv->store, rbd_mono_ms());
		rbd_server_tick_rates(srv, rbd_mono_ms());

		pthread_mutex_lock(&hk_lock);
	}
	pthread_mutex_unlock(&hk_lock);
	return NULL;
}

static bool
write_port_file(const char *path, int port, char *err, size_t errlen)
{
	char		tmp[PATH_MAX + 32];
	char		buf[16];
	int			fd;
	int			n;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int) getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
	{
		snprintf(err, errlen, "could not create port file \"%s\": %s", tmp, strerror(errno));
		return false;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", port);
	if (write(fd, buf, (size_t) n) != n || close(fd) != 0)
	{
		snprintf(err, errlen, "could not write port file \"%s\": %s", tmp, strerror(errno));
		unlink(tmp);
		return false;
	}
	if (rename(tmp, path) != 0)
	{
		snprintf(err, errlen, "could not rename temporary port file to \"%s\": %s",
				 path, strerror(errno));
		unlink(tmp);
		return false;
	}
	return true;
}

static void
reload(rbd_server *srv, rbd_config *cfg)
{
	rbd_config *newcfg = malloc(sizeof(rbd_config));
	char		err[PATH_MAX + 512];
	uint8_t		secret[RB_SECRET_MAX_LEN];
	uint8_t		old[RB_SECRET_MAX_LEN];
	size_t		len;
	size_t		oldlen;

	rbd_info("received SIGHUP, reloading configuration");
	if (newcfg == NULL)
		rbd_error("could not reload configuration: out of memory");
	else if (!rbd_config_reread(cfg, newcfg, err, sizeof(err)))
		rbd_error("could not reload configuration: %s; keeping the current settings", err);
	else
	{
		rbd_config_apply_reload(cfg, newcfg);
		rbd_log_set_level(cfg->log_level);
		rbd_server_set_limits(srv, cfg);
	}
	free(newcfg);

	if (!srv->auth_required)
		return;
	if (!rb_secret_load(cfg->secret_file, secret, &len, err, sizeof(err)))
	{
		rbd_error("could not reload secret: %s; keeping the current secret", err);
		return;
	}
	oldlen = rbd_server_get_secret(srv, old);
	if (oldlen == len && memcmp(old, secret, len) == 0)
		rbd_info("secret file \"%s\" re-read; secret unchanged", cfg->secret_file);
	else
	{
		rbd_server_set_secret(srv, secret, len);
		rbd_info("secret file \"%s\" re-read; new secret in effect for new connections",
				 cfg->secret_file);
	}
	memset(secret, 0, sizeof(secret));
	memset(old, 0, sizeof(old));
}

/* Allow --max-clients connections without hitting the descriptor limit. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
	{
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
main(int argc, char **argv)
{
	static rbd_config cfg;
	static rbd_server srv;
	rbd_store_opts sopts;
	rbd_store  *store;
	rbd_loop   *loop;
	rbd_rdma   *rdma = NULL;
	bool		rdma_unavailable;
	pthread_t	hk_tid;
	pthread_condattr_t cattr;
	sigset_t	sigs;
	char		err[PATH_MAX + 512];
	uint8_t		secret[RB_SECRET_MAX_LEN];
	size_t		secret_len = 0;
	int			sig;
	bool		bad_config;

	if (!rbd_config_from_args(argc, argv, &cfg))
		return 2;
	rbd_log_set_level(cfg.log_level);

	/* Before any thread exists, so that all of them inherit the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();

	/* Bad values found by looking at the system: still usage errors. */
	if (strcmp(cfg.rdma, "off") != 0 && strcmp(cfg.rdma, "auto") != 0 &&
		strcmp(cfg.rdma, "on") != 0)
	{
		fprintf(stderr, "rbufd: invalid value for --rdma: \"%s\" (off, auto or on)\n",
				cfg.rdma);
		return 2;
	}
	if ((!cfg.insecure_no_auth &&
		 !rb_secret_load(cfg.secret_file, secret, &secret_len, err, sizeof(err))) ||
		(cfg.numa_node >= 0 && !rbd_pool_numa_node_ok(cfg.numa_node, err, sizeof(err))))
	{
		fprintf(stderr, "rbufd: %s\n", err);
		return 2;
	}
	/* A stale port file from an earlier run must not be mistaken for ours. */
	if (cfg.port_file[0] != '\0' && unlink(cfg.port_file) != 0 && errno != ENOENT)
		rbd_warning("could not remove old port file \"%s\": %s", cfg.port_file,
					strerror(errno));

	/*
	 * Listen before allocating the pool: address problems show up at once.
	 * Nobody is accepted until the threads start.
	 */
	loop = rbd_loop_create(&srv, &cfg, &bad_config, err, sizeof(err));
	if (loop == NULL)
	{
		if (bad_config)
		{
			fprintf(stderr, "rbufd: %s\n", err);
			return 2;
		}
		rbd_fatal("%s", err);
		return 1;
	}

	/*
	 * RDMA before the pool: by default the pool goes on the NUMA node of
	 * the RDMA device, so the device's DMA does not cross the interconnect.
	 */
	if (strcmp(cfg.rdma, "off") != 0)
	{
		rdma = rbd_rdma_open(&cfg, &rdma_unavailable, err, sizeof(err));
		if (rdma == NULL && (strcmp(cfg.rdma, "on") == 0 || !rdma_unavailable))
		{
			rbd_fatal("%s", err);
			return 1;
		}
		if (rdma == NULL)
			rbd_info("RDMA not available (%s); serving TCP only", err);
	}

	memset(&sopts, 0, sizeof(sopts));
	sopts.memory = cfg.memory;
	sopts.granularity = cfg.granularity;
	sopts.numa_node = cfg.numa_node;
	if (rdma != NULL && cfg.numa_node < 0 && rbd_rdma_numa_node(rdma) >= 0)
	{
		char		nerr[256];

		if (rbd_pool_numa_node_ok(rbd_rdma_numa_node(rdma), nerr, sizeof(nerr)))
		{
			sopts.numa_node = rbd_rdma_numa_node(rdma);
			rbd_info("placing the memory pool on NUMA node %d, the node of RDMA device %s",
					 sopts.numa_node, rbd_rdma_device(rdma));
		}
	}
	sopts.numa = true;
	sopts.hugepages = cfg.hugepages;
	sopts.lock_memory = cfg.lock_memory;
	sopts.prefault = true;
	rbd_info("allocating memory pool of %" PRIu64 " bytes", cfg.memory);
	store = rbd_store_create(&sopts, err, sizeof(err));
	if (store == NULL)
	{
		rbd_fatal("%s", err);
		return 1;
	}
	if (!rbd_server_init(&srv, store, &cfg))
	{
		rbd_fatal("could not generate random server instance id");
		return 1;
	}
	if (srv.auth_required)
		rbd_server_set_secret(&srv, secret, secret_len);
	if (rdma != NULL)
		rbd_rdma_attach(rdma, &srv, store);
	memset(secret, 0, sizeof(secret));

	if (!rbd_loop_start(loop, err, sizeof(err)) ||
		(rdma != NULL && !rbd_rdma_start(rdma, err, sizeof(err))))
	{
		rbd_fatal("%s", err);
		return 1;
	}
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&hk_cond, &cattr);
	pthread_condattr_destroy(&cattr);
	if (pthread_create(&hk_tid, NULL, housekeeping_main, &srv) != 0)
	{
		rbd_fatal("could not start housekeeping thread");
		return 1;
	}
	/* Written last: once it exists, the server is ready for clients. */
	if (cfg.port_file[0] != '\0' &&
		!write_port_file(cfg.port_file, rbd_loop_port(loop), err, sizeof(err)))
	{
		rbd_fatal("%s", err);
		return 1;
	}

	rbd_info("rbufd %s listening on %s port %d; memory %" PRIu64 " bytes in units of %" PRIu64
			 ", NUMA policy: %s, huge pages %s; authentication: %s; %d I/O threads",
			 RBD_VERSION, rbd_loop_addresses(loop), rbd_loop_port(loop),
			 rbd_store_total(store), rbd_store_granularity(store),
			 rbd_store_numa_desc(store), cfg.hugepages ? "on" : "off",
			 srv.auth_required ? "hmac-sha256 shared secret" :
			 "DISABLED (--insecure-no-auth)", cfg.threads);
	if (rdma != NULL)
		rbd_info("RDMA enabled on device %s (NUMA node %d), RDMA CM port %d",
				 rbd_rdma_device(rdma), rbd_rdma_numa_node(rdma), rbd_rdma_port(rdma));
	if (cfg.test_corrupt_reads > 0)
		rbd_warning("--test-corrupt-reads=%u: FOR TESTING ONLY: one bit will be flipped in %u of every 1000 pages sent to clients; never use this in production",
					cfg.test_corrupt_reads, cfg.test_corrupt_reads);

	for (;;)
	{
		sig = sigwaitinfo(&sigs, NULL);
		if (sig < 0)
		{
			if (errno == EINTR)
				continue;
			rbd_error("sigwaitinfo failed: %s", strerror(errno));
			break;
		}
		if (sig == SIGHUP)
		{
			reload(&srv, &cfg);
			continue;
		}
		rbd_info("received %s, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	}

	rbd_loop_shutdown(loop);
	if (cfg.test_corrupt_reads > 0)
		rbd_warning("test-corrupt-reads: corrupted %" PRIu64 " of %" PRIu64 " pages sent",
					rbd_counter_get(&srv.corrupt_done),
					rbd_counter_get(&srv.corrupt_seen));
	pthread_mutex_lock(&hk_lock);
	hk_stop = true;
	pthread_cond_signal(&hk_cond);
	pthread_mutex_unlock(&hk_lock);
	pthread_join(hk_tid, NULL);
	/* Queue pairs first, then the leases' regions, then the device. */
	rbd_rdma_stop(rdma);
	rbd_store_destroy(store);
	rbd_rdma_close(rdma);
	rbd_server_destroy(&srv);
	if (cfg.port_file[0] != '\0')
		unlink(cfg.port_file);
	rbd_info("shutdown complete");
	return 0;
}
