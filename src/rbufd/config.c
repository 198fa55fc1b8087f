/*-------------------------------------------------------------------------
 *
 * config.c
 *	  rbufd settings.  Every setting is a long option (--name VALUE) and a
 *	  config file key (name = value); both are driven by one table so they
 *	  cannot drift apart.  Precedence: defaults, then the --config file,
 *	  then command-line flags.  SIGHUP re-reads the file and re-applies the
 *	  original flags, and the reloadable settings take effect.
 *
 *-------------------------------------------------------------------------
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

typedef enum opt_type
{
	OT_STRING,
	OT_INT,
	OT_U32,
	OT_SIZE,
	OT_DURATION,
	OT_BOOL,
	OT_LOGLEVEL
} opt_type;

typedef struct opt_def
{
	const char *name;
	opt_type	type;
	size_t		offset;			/* into rbd_config */
	size_t		size;			/* OT_STRING: buffer size */
	uint64_t	min;
	uint64_t	max;
	uint32_t	unit_ms;		/* OT_DURATION: unit of a bare number */
	bool		reloadable;
	const char *metavar;
	const char *help;
} opt_def;

#define OFF(f) offsetof(rbd_config, f)
#define SZ(f) sizeof(((rbd_config *) 0)->f)

static const opt_def opt_table[] = {
	{"config", OT_STRING, OFF(config_file), SZ(config_file), 0, 0, 0, false,
	"FILE", "read settings from FILE (\"key = value\" lines, # comments);\n"
	"flags given on the command line override it"},
	{"listen", OT_STRING, OFF(listen), SZ(listen), 0, 0, 0, false,
	"ADDR", "address to listen on: IPv4/IPv6 literal, host name, or * for\n"
	"all interfaces (default 127.0.0.1)"},
	{"port", OT_INT, OFF(port), 0, 0, 65535, 0, false,
	"PORT", "TCP port (default 7420; 0 = pick a free port)"},
	{"port-file", OT_STRING, OFF(port_file), SZ(port_file), 0, 0, 0, false,
	"PATH", "after listening, write the bound port to PATH (atomically)"},
	{"memory", OT_SIZE, OFF(memory), 0, 0, 0, 0, false,
	"SIZE", "memory pool to lease out, allocated and pre-faulted at start;\n"
	"suffixes k/K, M, G, T (powers of 1024) (default 1G)"},
	{"granularity", OT_SIZE, OFF(granularity), 0, 0, 0, 0, false,
	"SIZE", "allocation unit, a power of two >= 4096 (default 64k)"},
	{"numa-node", OT_INT, OFF(numa_node), 0, 0, 4095, 0, false,
	"N", "bind the pool to NUMA node N (default: interleave over all\n"
	"nodes if there are several)"},
	{"hugepages", OT_BOOL, OFF(hugepages), 0, 0, 0, 0, false,
	NULL, "back the pool with huge pages (MAP_HUGETLB; needs\n"
	"vm.nr_hugepages) (default off)"},
	{"lock-memory", OT_BOOL, OFF(lock_memory), 0, 0, 0, 0, false,
	NULL, "mlock the pool so it is never swapped (default off)"},
	{"secret-file", OT_STRING, OFF(secret_file), SZ(secret_file), 0, 0, 0, true,
	"PATH", "shared secret for HMAC authentication (mode 0600); re-read\n"
	"on SIGHUP"},
	{"insecure-no-auth", OT_BOOL, OFF(insecure_no_auth), 0, 0, 0, 0, false,
	NULL, "run without authentication; loopback addresses only"},
	{"max-clients", OT_U32, OFF(max_clients), 0, 1, 1000000, 0, true,
	"N", "maximum concurrent connections (default 256)"},
	{"max-leases-per-client", OT_U32, OFF(max_leases_per_client), 0, 1, 65536, 0, true,
	"N", "maximum live leases per owner (default 64)"},
	{"min-ttl", OT_DURATION, OFF(min_ttl_ms), 0, 1, UINT32_MAX, 1, true,
	"DUR", "shortest lease TTL granted (default 1000ms)"},
	{"max-ttl", OT_DURATION, OFF(max_ttl_ms), 0, 1, UINT32_MAX, 1, true,
	"DUR", "longest lease TTL granted (default 600000ms)"},
	{"default-ttl", OT_DURATION, OFF(default_ttl_ms), 0, 1, UINT32_MAX, 1, true,
	"DUR", "TTL when a client asks for 0 (default 30000ms)"},
	{"auth-timeout", OT_DURATION, OFF(auth_timeout_ms), 0, 1, UINT32_MAX, 1000, true,
	"DUR", "close connections not authenticated within DUR (default 10s)"},
	{"idle-timeout", OT_DURATION, OFF(idle_timeout_ms), 0, 0, UINT32_MAX, 1000, true,
	"DUR", "close authenticated connections idle for DUR (default 0 = never)"},
	{"threads", OT_INT, OFF(threads), 0, 1, 64, 0, false,
	"N", "I/O threads (default 2)"},
	{"rdma", OT_STRING, OFF(rdma), SZ(rdma), 0, 0, 0, false,
	"MODE", "one-sided RDMA access to leases: off, auto (if an RDMA device\n"
	"exists) or on (fail to start without one) (default auto)"},
	{"rdma-device", OT_STRING, OFF(rdma_device), SZ(rdma_device), 0, 0, 0, false,
	"NAME", "RDMA device (default: the one holding the listen address,\n"
	"else the first one)"},
	{"rdma-port", OT_INT, OFF(rdma_port), 0, 0, 65535, 0, false,
	"PORT", "RDMA CM port (default 0 = any free port, told to clients)"},
	{"log-level", OT_LOGLEVEL, OFF(log_level), 0, 0, 0, 0, true,
	"LEVEL", "debug, info, warning or error (default info)"},
	{"test-corrupt-reads", OT_U32, OFF(test_corrupt_reads), 0, 0, 1000, 0, false,
	"PERMILLE", "TESTING ONLY: flip one bit in PERMILLE of every 1000 pages\n"
	"sent in READ/READV replies, to test clients' verification\n"
	"(default 0 = never)"},
};

#define N_OPTS (sizeof(opt_table) / sizeof(opt_table[0]))
#define OPT_CONFIG 0			/* index of "config" in opt_table */

/* Flags from the command line, replayed on reload. */
typedef struct saved_arg
{
	const opt_def *def;
	const char *value;			/* NULL: boolean flag without value */
} saved_arg;

static saved_arg *saved_args;
static int	n_saved_args;

static void
config_defaults(rbd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->listen, "127.0.0.1");
	cfg->port = RBD_DEFAULT_PORT;
	cfg->memory = 1024ull * 1024 * 1024;
	cfg->granularity = 64 * 1024;
	cfg->numa_node = -1;
	cfg->max_clients = 256;
	cfg->max_leases_per_client = 64;
	cfg->min_ttl_ms = 1000;
	cfg->max_ttl_ms = 600000;
	cfg->default_ttl_ms = 30000;
	cfg->auth_timeout_ms = 10000;
	cfg->idle_timeout_ms = 0;
	cfg->threads = 2;
	cfg->log_level = RBD_LOG_INFO;
	strcpy(cfg->rdma, "auto");
}

bool
rbd_parse_size(const char *s, uint64_t *out)
{
	char	   *end;
	unsigned long long v;
	uint64_t	mult = 1;

	while (isspace((unsigned char) *s))
		s++;
	if (!isdigit((unsigned char) *s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return false;
	switch (*end)
	{
		case '\0':
			break;
		case 'k':
		case 'K':
			mult = 1024ull;
			end++;
			break;
		case 'M':
			mult = 1024ull * 1024;
			end++;
			break;
		case 'G':
			mult = 1024ull * 1024 * 1024;
			end++;
			break;
		case 'T':
			mult = 1024ull * 1024 * 1024 * 1024;
			end++;
			break;
		default:
			break;
	}
	/* Tolerate "MB", "MiB" and a bare "B". */
	if (mult > 1 && end[0] == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	if (*end != '\0')
		return false;
	if (v > UINT64_MAX / mult)
		return false;
	*out = (uint64_t) v * mult;
	return true;
}

/* Durations: a number with ms, s, min or h; a bare number is unit_ms. */
static bool
parse_duration(const char *s, uint32_t unit_ms, uint64_t *out)
{
	char	   *end;
	unsigned long long v;
	uint64_t	mult;

	while (isspace((unsigned char) *s))
		s++;
	if (!isdigit((unsigned char) *s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return false;
	if (*end == '\0')
		mult = unit_ms;
	else if (strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "s") == 0)
		mult = 1000;
	else if (strcmp(end, "min") == 0)
		mult = 60000;
	else if (strcmp(end, "h") == 0)
		mult = 3600000;
	else
		return false;
	if (v > UINT64_MAX / mult)
		return false;
	*out = (uint64_t) v * mult;
	return true;
}

static bool
parse_bool(const char *s, bool *out)
{
	if (strcasecmp(s, "on") == 0 || strcasecmp(s, "true") == 0 ||
		strcasecmp(s, "yes") == 0 || strcmp(s, "1") == 0)
		*out = true;
	else if (strcasecmp(s, "off") == 0 || strcasecmp(s, "false") == 0 ||
			 strcasecmp(s, "no") == 0 || strcmp(s, "0") == 0)
		*out = false;
	else
		return false;
	return true;
}

static bool
parse_int(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char	   *end;
	unsigned long long v;

	while (isspace((unsigned char) *s))
		s++;
	if (!isdigit((unsigned char) *s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/*
 * Set one option from its text value.  val is NULL for a boolean flag
 * given without a value.  where is "--name" or "file:line: name".
 */
static bool
opt_set(rbd_config *cfg, const opt_def *o, const char *val,
		const char *where, char *err, size_t errlen)
{
	char	   *field = (char *) cfg + o->offset;
	uint64_t	v;
	bool		b;
	rbd_log_level lvl;

	if (val == NULL && o->type != OT_BOOL)
	{
		snprintf(err, errlen, "%s requires a value", where);
		return false;
	}
	switch (o->type)
	{
		case OT_STRING:
			if (strlen(val) >= o->size)
			{
				snprintf(err, errlen, "value for %s is too long", where);
				return false;
			}
			strcpy(field, val);
			return true;
		case OT_INT:
			if (!parse_int(val, o->min, o->max, &v))
				break;
			*(int *) field = (int) v;
			return true;
		case OT_U32:
			if (!parse_int(val, o->min, o->max, &v))
				break;
			*(uint32_t *) field = (uint32_t) v;
			return true;
		case OT_SIZE:
			if (!rbd_parse_size(val, &v))
				break;
			*(uint64_t *) field = v;
			return true;
		case OT_DURATION:
			if (!parse_duration(val, o->unit_ms, &v) || v < o->min || v > o->max)
				break;
			*(uint32_t *) field = (uint32_t) v;
			return true;
		case OT_BOOL:
			if (val == NULL)
				b = true;
			else if (!parse_bool(val, &b))
				break;
			*(bool *) field = b;
			return true;
		case OT_LOGLEVEL:
			if (!rbd_log_level_parse(val, &lvl))
				break;
			*(rbd_log_level *) field = lvl;
			return true;
	}

	switch (o->type)
	{
		case OT_INT:
		case OT_U32:
			snprintf(err, errlen,
					 "invalid value for %s: \"%s\" (expected an integer from %llu to %llu)",
					 where, val, (unsigned long long) o->min,
					 (unsigned long long) o->max);
			break;
		case OT_SIZE:
			snprintf(err, errlen,
					 "invalid value for %s: \"%s\" (expected bytes with an optional k, M, G or T suffix)",
					 where, val);
			break;
		case OT_DURATION:
			snprintf(err, errlen,
					 "invalid value for %s: \"%s\" (expected a duration such as %s%s, up to 4294967295ms)",
					 where, val, o->unit_ms == 1 ? "500ms or 30s" : "10s or 500ms",
					 o->min > 0 ? ", not zero" : "");
			break;
		case OT_BOOL:
			snprintf(err, errlen,
					 "invalid value for %s: \"%s\" (expected on or off)", where, val);
			break;
		case OT_LOGLEVEL:
			snprintf(err, errlen,
					 "invalid value for %s: \"%s\" (expected debug, info, warning or error)",
					 where, val);
			break;
		default:
			snprintf(err, errlen, "invalid value for %s: \"%s\"", where, val);
			break;
	}
	return false;
}

static const opt_def *
opt_find(const char *name)
{
	char		norm[64];
	size_t		i;

	/* Accept max_clients as well as max-clients in files. */
	for (i = 0; name[i] != '\0' && i < sizeof(norm) - 1; i++)
		norm[i] = name[i] == '_' ? '-' : name[i];
	norm[i] = '\0';
	for (i = 0; i < N_OPTS; i++)
		if (strcmp(opt_table[i].name, norm) == 0)
			return &opt_table[i];
	return NULL;
}

static char *
trim(char *s)
{
	char	   *e;

	while (isspace((unsigned char) *s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char) e[-1]))
		*--e = '\0';
	return s;
}

/* Read "key = value" lines from path into cfg. */
static bool
config_read_file(const char *path, rbd_config *cfg, char *err, size_t errlen)
{
	FILE	   *f;
	char		line[8192];
	int			lineno = 0;
	bool		ok = true;

	f = fopen(path, "r");
	if (f == NULL)
	{
		snprintf(err, errlen, "could not open config file \"%s\": %s",
				 path, strerror(errno));
		return false;
	}
	while (ok && fgets(line, sizeof(line), f) != NULL)
	{
		char	   *key;
		char	   *val;
		char	   *eq;
		char	   *p;
		char		where[PATH_MAX + 128];
		const opt_def *o;
		char		quote = 0;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f))
		{
			snprintf(err, errlen, "%s:%d: line too long", path, lineno);
			ok = false;
			break;
		}
		/* Strip a comment, unless the # is inside a quoted value. */
		for (p = line; *p; p++)
		{
			if (quote)
			{
				if (*p == quote)
					quote = 0;
			}
			else if (*p == '"' || *p == '\'')
				quote = *p;
			else if (*p == '#')
			{
				*p = '\0';
				break;
			}
		}
		key = trim(line);
		if (*key == '\0')
			continue;
		eq = strchr(key, '=');
		if (eq == NULL)
		{
			snprintf(err, errlen, "%s:%d: syntax error, expected \"key = value\"",
					 path, lineno);
			ok = false;
			break;
		}
		*eq = '\0';
		key = trim(key);
		val = trim(eq + 1);
		if (strlen(val) >= 2 && (val[0] == '"' || val[0] == '\'') &&
			val[strlen(val) - 1] == val[0])
		{
			val[strlen(val) - 1] = '\0';
			val++;
		}
		o = opt_find(key);
		if (o == NULL || o == &opt_table[OPT_CONFIG])
		{
			snprintf(err, errlen, "%s:%d: unknown parameter \"%s\"",
					 path, lineno, key);
			ok = false;
			break;
		}
		snprintf(where, sizeof(where), "%s:%d: %s", path, lineno, o->name);
		ok = opt_set(cfg, o, val, where, err, errlen);
	}
	if (ok && ferror(f))
	{
		snprintf(err, errlen, "could not read config file \"%s\": %s",
				 path, strerror(errno));
		ok = false;
	}
	fclose(f);
	return ok;
}

/* Cross-field checks, shared by startup and reload. */
static bool
config_check(const rbd_config *cfg, char *err, size_t errlen)
{
	if (cfg->granularity < 4096 || cfg->granularity > (1ull << 30) ||
		(cfg->granularity & (cfg->granularity - 1)) != 0)
	{
		snprintf(err, errlen,
				 "invalid value for --granularity: %llu (expected a power of two from 4096 to 1G)",
				 (unsigned long long) cfg->granularity);
		return false;
	}
	if (cfg->memory < cfg->granularity)
	{
		snprintf(err, errlen,
				 "invalid value for --memory: %llu bytes is less than one allocation unit (--granularity %llu)",
				 (unsigned long long) cfg->memory,
				 (unsigned long long) cfg->granularity);
		return false;
	}
	if (cfg->memory / cfg->granularity >= UINT32_MAX)
	{
		snprintf(err, errlen,
				 "invalid value for --memory: too many allocation units; raise --granularity");
		return false;
	}
	if (cfg->min_ttl_ms > cfg->max_ttl_ms)
	{
		snprintf(err, errlen,
				 "invalid value for --min-ttl: %ums is more than --max-ttl %ums",
				 cfg->min_ttl_ms, cfg->max_ttl_ms);
		return false;
	}
	if (cfg->secret_file[0] != '\0' && cfg->insecure_no_auth)
	{
		snprintf(err, errlen,
				 "--secret-file and --insecure-no-auth cannot be used together");
		return false;
	}
	if (cfg->secret_file[0] == '\0' && !cfg->insecure_no_auth)
	{
		snprintf(err, errlen,
				 "no --secret-file given; refusing to run without authentication "
				 "(use --insecure-no-auth for loopback-only testing)");
		return false;
	}
	if (cfg->listen[0] == '\0')
	{
		snprintf(err, errlen, "invalid value for --listen: empty address");
		return false;
	}
	return true;
}

static void
usage(FILE *out)
{
	fprintf(out,
			"rbufd is the remote_buffer memory server: it leases memory to\n"
			"PostgreSQL servers and serves page reads and writes over TCP.\n\n"
			"Usage:\n  rbufd [OPTION]...\n\nOptions:\n");
	for (size_t i = 0; i < N_OPTS; i++)
	{
		const opt_def *o = &opt_table[i];
		char		left[64];
		const char *h = o->help;

		if (o->type == OT_BOOL)
			snprintf(left, sizeof(left), "--%s[=on|off]", o->name);
		else
			snprintf(left, sizeof(left), "--%s %s", o->name, o->metavar);
		fprintf(out, "  %-30s ", left);
		/* Continuation lines of the help text line up under the first. */
		while (*h)
		{
			const char *nl = strchr(h, '\n');
			size_t		len = nl ? (size_t) (nl - h) : strlen(h);

			fprintf(out, "%.*s\n", (int) len, h);
			h += len;
			if (*h == '\n')
			{
				h++;
				fprintf(out, "  %-30s ", "");
			}
		}
	}
	fprintf(out, "  %-30s %s\n", "-h, --help", "show this help, then exit");
	fprintf(out, "  %-30s %s\n", "-V, --version", "show the version, then exit");
	fprintf(out,
			"\nSIZE accepts k/K, M, G and T suffixes (powers of 1024).  DUR is a number\n"
			"with an optional ms, s, min or h suffix; a bare number is milliseconds\n"
			"for the TTL settings and seconds for the timeouts.  Every option can\n"
			"also be set in the --config file as \"name = value\".\n\n"
			"Signals: SIGHUP reloads the config file and the secret file;\n"
			"SIGTERM and SIGINT shut down cleanly.\n");
}

bool
rbd_config_from_args(int argc, char **argv, rbd_config *cfg)
{
	struct option longopts[N_OPTS + 3];
	char		err[PATH_MAX + 512];
	int			c;
	int			idx;
	size_t		i;

	for (i = 0; i < N_OPTS; i++)
	{
		longopts[i].name = opt_table[i].name;
		longopts[i].has_arg = opt_table[i].type == OT_BOOL ?
			optional_argument : required_argument;
		longopts[i].flag = NULL;
		longopts[i].val = 0x100 + (int) i;
	}
	longopts[N_OPTS] = (struct option) {"help", no_argument, NULL, 'h'};
	longopts[N_OPTS + 1] = (struct option) {"version", no_argument, NULL, 'V'};
	longopts[N_OPTS + 2] = (struct option) {NULL, 0, NULL, 0};

	saved_args = calloc((size_t) argc + 1, sizeof(saved_arg));
	if (saved_args == NULL)
	{
		fprintf(stderr, "rbufd: out of memory\n");
		return false;
	}
	n_saved_args = 0;

	/* First collect the flags; the config file is applied before them. */
	while ((c = getopt_long(argc, argv, "hV", longopts, &idx)) != -1)
	{
		if (c == 'h')
		{
			usage(stdout);
			exit(0);
		}
		if (c == 'V')
		{
			printf("rbufd (remote_buffer) %s\n", RBD_VERSION);
			exit(0);
		}
		if (c < 0x100 || c >= 0x100 + (int) N_OPTS)
		{
			fprintf(stderr, "Try \"rbufd --help\" for more information.\n");
			return false;
		}
		saved_args[n_saved_args].def = &opt_table[c - 0x100];
		saved_args[n_saved_args].value = optarg;
		n_saved_args++;
	}
	if (optind < argc)
	{
		fprintf(stderr, "rbufd: unexpected argument \"%s\"\n", argv[optind]);
		fprintf(stderr, "Try \"rbufd --help\" for more information.\n");
		return false;
	}

	config_defaults(cfg);
	for (int a = 0; a < n_saved_args; a++)
		if (saved_args[a].def == &opt_table[OPT_CONFIG] &&
			!opt_set(cfg, saved_args[a].def, saved_args[a].value,
					 "--config", err, sizeof(err)))
		{
			fprintf(stderr, "rbufd: %s\n", err);
			return false;
		}
	if (cfg->config_file[0] != '\0' &&
		!config_read_file(cfg->config_file, cfg, err, sizeof(err)))
	{
		fprintf(stderr, "rbufd: %s\n", err);
		return false;
	}
	for (int a = 0; a < n_saved_args; a++)
	{
		char		where[80];

		snprintf(where, sizeof(where), "--%s", saved_args[a].def->name);
		if (!opt_set(cfg, saved_args[a].def, saved_args[a].value,
					 where, err, sizeof(err)))
		{
			fprintf(stderr, "rbufd: %s\n", err);
			return false;
		}
	}
	if (!config_check(cfg, err, sizeof(err)))
	{
		fprintf(stderr, "rbufd: %s\n", err);
		return false;
	}
	return true;
}

bool
rbd_config_reread(const rbd_config *cur, rbd_config *out, char *err,
				  size_t errlen)
{
	config_defaults(out);
	strcpy(out->config_file, cur->config_file);
	if (out->config_file[0] != '\0' &&
		!config_read_file(out->config_file, out, err, errlen))
		return false;
	for (int a = 0; a < n_saved_args; a++)
	{
		char		where[80];

		snprintf(where, sizeof(where), "--%s", saved_args[a].def->name);
		if (!opt_set(out, saved_args[a].def, saved_args[a].value,
					 where, err, errlen))
			return false;
	}
	return config_check(out, err, errlen);
}

static void
opt_format(const rbd_config *cfg, const opt_def *o, char *buf, size_t len)
{
	const char *field = (const char *) cfg + o->offset;

	switch (o->type)
	{
		case OT_STRING:
			snprintf(buf, len, "\"%s\"", field);
			break;
		case OT_INT:
			snprintf(buf, len, "%d", *(const int *) field);
			break;
		case OT_U32:
			snprintf(buf, len, "%u", *(const uint32_t *) field);
			break;
		case OT_SIZE:
			snprintf(buf, len, "%llu", (unsigned long long) *(const uint64_t *) field);
			break;
		case OT_DURATION:
			snprintf(buf, len, "%ums", *(const uint32_t *) field);
			break;
		case OT_BOOL:
			snprintf(buf, len, "%s", *(const bool *) field ? "on" : "off");
			break;
		case OT_LOGLEVEL:
			{
				static const char *const names[] = {"debug", "info", "warning", "error"};
				rbd_log_level lvl = *(const rbd_log_level *) field;

				snprintf(buf, len, "%s", lvl <= RBD_LOG_ERROR ? names[lvl] : "?");
			}
			break;
	}
}

void
rbd_config_apply_reload(rbd_config *cur, const rbd_config *newcfg)
{
	for (size_t i = 0; i < N_OPTS; i++)
	{
		const opt_def *o = &opt_table[i];
		char		oldv[PATH_MAX + 8];
		char		newv[PATH_MAX + 8];

		opt_format(cur, o, oldv, sizeof(oldv));
		opt_format(newcfg, o, newv, sizeof(newv));
		if (strcmp(oldv, newv) == 0)
			continue;
		if (o->reloadable)
		{
			size_t		sz;

			rbd_info("parameter \"%s\" changed from %s to %s", o->name, oldv, newv);
			switch (o->type)
			{
				case OT_STRING:
					sz = o->size;
					break;
				case OT_INT:
					sz = sizeof(int);
					break;
				case OT_U32:
				case OT_DURATION:
					sz = sizeof(uint32_t);
					break;
				case OT_SIZE:
					sz = sizeof(uint64_t);
					break;
				case OT_BOOL:
					sz = sizeof(bool);
					break;
				case OT_LOGLEVEL:
				default:
					sz = sizeof(rbd_log_level);
					break;
			}
			memcpy((char *) cur + o->offset, (const char *) newcfg + o->offset, sz);
		}
		else
			rbd_warning("parameter \"%s\" cannot be changed without restarting rbufd; keeping %s",
						o->name, oldv);
	}
}
