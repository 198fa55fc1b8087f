/*-------------------------------------------------------------------------
 *
 * config.h
 *	  rbufd settings: command-line flags, the --config file and reloading
 *	  it on SIGHUP.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RBD_CONFIG_H
#define RBD_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define RBD_DEFAULT_PORT	7420

typedef struct rbd_config
{
	char		config_file[PATH_MAX];	/* "" = none */
	char		listen[256];
	int			port;
	char		port_file[PATH_MAX];
	uint64_t	memory;
	uint64_t	granularity;
	int			numa_node;		/* -1 = automatic policy */
	bool		hugepages;
	bool		lock_memory;
	char		secret_file[PATH_MAX];
	bool		insecure_no_auth;
	uint32_t	max_clients;
	uint32_t	max_leases_per_client;
	uint32_t	min_ttl_ms;
	uint32_t	max_ttl_ms;
	uint32_t	default_ttl_ms;
	uint32_t	auth_timeout_ms;
	uint32_t	idle_timeout_ms;	/* 0 = never */
	int			threads;
	rbd_log_level log_level;
	char		rdma[8];		/* off, auto, on */
	char		rdma_device[64];	/* "" = the device of the listen address */
	int			rdma_port;		/* RDMA CM port; 0 = any free one */
	uint32_t	test_corrupt_reads; /* TESTING ONLY: permille, 0 = off */
} rbd_config;

/*
 * Parse the command line (and the --config file it names) into cfg.
 * Handles --help and --version itself (exit 0).  On a bad flag or value
 * prints a message naming it to stderr and returns false; the caller
 * exits with status 2.
 */
extern bool rbd_config_from_args(int argc, char **argv, rbd_config *cfg);

/*
 * Build a fresh configuration for SIGHUP: defaults, then the config file
 * again, then the original command-line flags (which keep precedence).
 * On error returns false with a message in err.
 */
extern bool rbd_config_reread(const rbd_config *cur, rbd_config *out,
							  char *err, size_t errlen);

/*
 * Apply the reloadable settings of newcfg to cur, logging each change and
 * warning about changed settings that need a restart.
 */
extern void rbd_config_apply_reload(rbd_config *cur, const rbd_config *newcfg);

/* Parse a size like 512M; exposed for tests of the daemon itself. */
extern bool rbd_parse_size(const char *s, uint64_t *out);

#endif							/* RBD_CONFIG_H */
