/*-------------------------------------------------------------------------
 *
 * rbufctl.c
 *	  Administration CLI for rbufd: "status" shows memory, counters, leases
 *	  and clients (as text or --json); "ping" measures the round trip.
 *
 *	  Exit status: 0 ok, 1 connection or server error (message on stderr),
 *	  2 usage error.
 *
 *-------------------------------------------------------------------------
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb_client.h"

#define DEFAULT_PORT	7420
#define DEFAULT_HOST	"127.0.0.1"
#define DEFAULT_OWNER	"rbufctl"

typedef struct ctl_opts
{
	const char *host;
	int			port;
	const char *secret_file;
	const char *owner;
	int			timeout_ms;
	int			json;
} ctl_opts;

static void
usage(FILE *f)
{
	fprintf(f,
			"Usage: rbufctl [OPTION]... COMMAND\n"
			"Administer an rbufd memory server.\n"
			"\n"
			"Commands:\n"
			"  status             memory, counters, leases and clients\n"
			"  ping               measure the round-trip time\n"
			"\n"
			"Options:\n"
			"  --host HOST        server address (default %s)\n"
			"  --port PORT        server port (default %d)\n"
			"  --secret-file F    shared secret (mode 0600); without it, connect\n"
			"                     unauthenticated (--insecure-no-auth daemons)\n"
			"  --owner NAME       owner name to present (default %s)\n"
			"  --timeout MS       connect and I/O timeout (default 5000)\n"
			"  --json             machine-readable output\n"
			"  --help             show this help and exit\n"
			"\n"
			"Exit status: 0 ok, 1 connection or server error, 2 usage error.\n",
			DEFAULT_HOST, DEFAULT_PORT, DEFAULT_OWNER);
}

static int
parse_int(const char *s, int min, int max, int *out)
{
	char	   *end;
	long		v;

	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < min || v > max)
		return -1;
	*out = (int) v;
	return 0;
}

/* Human-readable byte count into buf. */
static const char *
fmt_bytes(uint64_t b, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double		v = (double) b;
	int			u = 0;

	while (v >= 1024.0 && u < 4)
	{
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 " B", b);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

static const char *
fmt_duration(uint64_t ms, char *buf, size_t len)
{
	uint64_t	s = ms / 1000;

	if (s >= 86400)
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, (s % 86400) / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, (s % 3600) / 60);
	else if (s >= 60)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else
		snprintf(buf, len, "%.1fs", (double) ms / 1000.0);
	return buf;
}

/* Owner names and addresses are printable ASCII; escape for JSON. */
static void
json_str(const char *s)
{
	putchar('"');
	for (; *s; s++)
	{
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

static const char *const counter_names[RB_SF__COUNT] = {
	"uptime_ms", "mem_total", "mem_leased", "mem_free", "mem_largest_free",
	"clients", "leases", "ops_read", "ops_write", "bytes_read",
	"bytes_written", "leases_granted", "leases_renewed", "leases_released",
	"leases_expired", "auth_failures", "protocol_errors", "rejected",
	"read_ops_per_sec", "write_ops_per_sec"
};

static void
print_status_json(const ctl_opts *o, const rb_conn *c, const rb_stats *st,
				  const rb_stats_lease *ls, uint32_t nl,
				  const rb_stats_client *cl, uint32_t nc)
{
	printf("{\"server\":");
	json_str(c->server);
	printf(",\"host\":");
	json_str(o->host);
	printf(",\"port\":%d,\"protocol_version\":%u,\"server_caps\":%u,"
		   "\"server_instance\":\"%016" PRIx64 "\",\"counters\":{",
		   o->port, c->version, c->server_caps, c->server_instance);
	for (int i = 0; i < RB_SF__COUNT; i++)
		printf("%s\"%s\":%" PRIu64, i ? "," : "", counter_names[i], st->v[i]);
	printf("},\"leases\":[");
	for (uint32_t i = 0; i < nl; i++)
	{
		printf("%s{\"id\":\"%016" PRIx64 "\",\"owner\":", i ? "," : "",
			   ls[i].info.lease_id);
		json_str(ls[i].owner);
		printf(",\"bytes\":%" PRIu64 ",\"ttl_ms\":%u,\"numa_node\":%d,"
			   "\"expires_at_ms\":%" PRIu64 "}",
			   ls[i].info.bytes, ls[i].info.ttl_ms, ls[i].info.numa_node,
			   ls[i].info.expires_at_ms);
	}
	printf("],\"clients\":[");
	for (uint32_t i = 0; i < nc; i++)
	{
		printf("%s{\"owner\":", i ? "," : "");
		json_str(cl[i].owner);
		printf(",\"address\":");
		json_str(cl[i].addr);
		printf(",\"connected_ms\":%" PRIu64 ",\"ops\":%" PRIu64
			   ",\"authenticated\":%s}",
			   cl[i].connected_ms, cl[i].ops,
			   cl[i].authenticated ? "true" : "false");
	}
	printf("]}\n");
}

static void
print_status_text(const rb_conn *c, const rb_stats *st,
				  const rb_stats_lease *ls, uint32_t nl,
				  const rb_stats_client *cl, uint32_t nc)
{
	const uint64_t *v = st->v;
	char		b1[32],
				b2[32],
				b3[32],
				b4[32];

	printf("rbufd at %s: protocol v%u, instance %016" PRIx64 ", up %s\n",
		   c->server, c->version, c->server_instance,
		   fmt_duration(v[RB_SF_UPTIME_MS], b1, sizeof(b1)));
	printf("memory:   total %s, leased %s, free %s, largest free %s\n",
		   fmt_bytes(v[RB_SF_MEM_TOTAL], b1, sizeof(b1)),
		   fmt_bytes(v[RB_SF_MEM_LEASED], b2, sizeof(b2)),
		   fmt_bytes(v[RB_SF_MEM_FREE], b3, sizeof(b3)),
		   fmt_bytes(v[RB_SF_MEM_LARGEST_FREE], b4, sizeof(b4)));
	printf("clients:  %" PRIu64 "    leases: %" PRIu64 "\n",
		   v[RB_SF_CLIENTS], v[RB_SF_LEASES]);
	printf("ops/s:    read %" PRIu64 ", write %" PRIu64 "\n",
		   v[RB_SF_READ_OPS_PER_SEC], v[RB_SF_WRITE_OPS_PER_SEC]);
	printf("io:       %" PRIu64 " reads (%s), %" PRIu64 " writes (%s)\n",
		   v[RB_SF_OPS_READ], fmt_bytes(v[RB_SF_BYTES_READ], b1, sizeof(b1)),
		   v[RB_SF_OPS_WRITE], fmt_bytes(v[RB_SF_BYTES_WRITTEN], b2, sizeof(b2)));
	printf("leases:   %" PRIu64 " granted, %" PRIu64 " renewed, %" PRIu64
		   " released, %" PRIu64 " expired\n",
		   v[RB_SF_LEASES_GRANTED], v[RB_SF_LEASES_RENEWED],
		   v[RB_SF_LEASES_RELEASED], v[RB_SF_LEASES_EXPIRED]);
	printf("errors:   %" PRIu64 " auth failures, %" PRIu64
		   " protocol errors, %" PRIu64 " rejected\n",
		   v[RB_SF_AUTH_FAILURES], v[RB_SF_PROTOCOL_ERRORS],
		   v[RB_SF_REJECTED]);

	printf("\n%-16s  %-24s  %12s  %10s  %4s\n",
		   "LEASE", "OWNER", "BYTES", "TTL", "NUMA");
	for (uint32_t i = 0; i < nl; i++)
	{
		char		numa[16];

		if (ls[i].info.numa_node < 0)
			snprintf(numa, sizeof(numa), "-");
		else
			snprintf(numa, sizeof(numa), "%d", ls[i].info.numa_node);
		printf("%016" PRIx64 "  %-24s  %12" PRIu64 "  %10s  %4s\n",
			   ls[i].info.lease_id, ls[i].owner, ls[i].info.bytes,
			   fmt_duration(ls[i].info.ttl_ms, b1, sizeof(b1)), numa);
	}
	if (nl == 0)
		printf("(no leases)\n");
	if (nl < v[RB_SF_LEASES])
		printf("(%" PRIu64 " more not listed)\n", v[RB_SF_LEASES] - nl);

	printf("\n%-24s  %-28s  %10s  %12s  %4s\n",
		   "CLIENT OWNER", "ADDRESS", "CONNECTED", "OPS", "AUTH");
	for (uint32_t i = 0; i < nc; i++)
		printf("%-24s  %-28s  %10s  %12" PRIu64 "  %4s\n",
			   cl[i].owner[0] ? cl[i].owner : "-", cl[i].addr,
			   fmt_duration(cl[i].connected_ms, b1, sizeof(b1)), cl[i].ops,
			   cl[i].authenticated ? "yes" : "no");
}

static int
cmd_status(const ctl_opts *o, rb_conn *c)
{
	rb_stats	st;
	rb_stats_lease *ls;
	rb_stats_client *cl;
	uint32_t	nl = 0,
				nc = 0;
	rb_error	rc;

	ls = calloc(RB_MAX_STATS_LIST, sizeof(*ls));
	cl = calloc(RB_MAX_STATS_LIST, sizeof(*cl));
	if (ls == NULL || cl == NULL)
	{
		fprintf(stderr, "rbufctl: out of memory\n");
		free(ls);
		free(cl);
		return 1;
	}
	rc = rb_stats_get(c, &st, ls, RB_MAX_STATS_LIST, &nl,
					  cl, RB_MAX_STATS_LIST, &nc);
	if (rc != RB_OK)
		fprintf(stderr, "rbufctl: %s\n", rb_errmsg(c));
	else if (o->json)
		print_status_json(o, c, &st, ls, nl, cl, nc);
	else
		print_status_text(c, &st, ls, nl, cl, nc);
	free(ls);
	free(cl);
	return rc == RB_OK ? 0 : 1;
}

static int
cmd_ping(const ctl_opts *o, rb_conn *c)
{
	uint32_t	rtt;

	if (rb_ping(c, &rtt) != RB_OK)
	{
		fprintf(stderr, "rbufctl: %s\n", rb_errmsg(c));
		return 1;
	}
	if (o->json)
	{
		printf("{\"server\":");
		json_str(c->server);
		printf(",\"rtt_us\":%u,\"protocol_version\":%u,"
			   "\"mem_total\":%" PRIu64 "}\n",
			   rtt, c->version, c->server_mem_total);
	}
	else
		printf("reply from rbufd at %s: time=%u us (protocol v%u)\n",
			   c->server, rtt, c->version);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"host", required_argument, NULL, 'h'},
		{"port", required_argument, NULL, 'p'},
		{"secret-file", required_argument, NULL, 's'},
		{"owner", required_argument, NULL, 'o'},
		{"timeout", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, '?' + 256},
		{NULL, 0, NULL, 0}
	};
	ctl_opts	o = {DEFAULT_HOST, DEFAULT_PORT, NULL, DEFAULT_OWNER, 5000, 0};
	rb_client_opts co;
	rb_conn		c;
	uint8_t		secret[RB_SECRET_MAX_LEN];
	size_t		secret_len = 0;
	const char *cmd;
	char		err[512];
	int			ch;
	int			rc;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1)
	{
		switch (ch)
		{
			case 'h':
				o.host = optarg;
				break;
			case 'p':
				if (parse_int(optarg, 1, 65535, &o.port) < 0)
				{
					fprintf(stderr, "rbufctl: invalid port \"%s\"\n", optarg);
					return 2;
				}
				break;
			case 's':
				o.secret_file = optarg;
				break;
			case 'o':
				o.owner = optarg;
				break;
			case 't':
				if (parse_int(optarg, 1, 3600 * 1000, &o.timeout_ms) < 0)
				{
					fprintf(stderr, "rbufctl: invalid timeout \"%s\"\n", optarg);
					return 2;
				}
				break;
			case 'j':
				o.json = 1;
				break;
			case '?' + 256:
				usage(stdout);
				return 0;
			default:
				fprintf(stderr, "Try \"rbufctl --help\" for more information.\n");
				return 2;
		}
	}
	if (optind != argc - 1)
	{
		fprintf(stderr, "rbufctl: %s\n",
				optind >= argc ? "no command given" : "too many arguments");
		fprintf(stderr, "Try \"rbufctl --help\" for more information.\n");
		return 2;
	}
	cmd = argv[optind];
	if (strcmp(cmd, "status") != 0 && strcmp(cmd, "ping") != 0)
	{
		fprintf(stderr, "rbufctl: unknown command \"%s\"\n", cmd);
		fprintf(stderr, "Try \"rbufctl --help\" for more information.\n");
		return 2;
	}
	if (!rb_owner_valid(o.owner, strlen(o.owner)))
	{
		fprintf(stderr, "rbufctl: invalid owner name \"%s\"\n", o.owner);
		return 2;
	}
	if (o.secret_file &&
		!rb_secret_load(o.secret_file, secret, &secret_len, err, sizeof(err)))
	{
		fprintf(stderr, "rbufctl: %s\n", err);
		return 1;
	}

	memset(&co, 0, sizeof(co));
	co.host = o.host;
	co.port = o.port;
	co.secret = secret_len ? secret : NULL;
	co.secret_len = secret_len;
	co.owner = o.owner;
	co.connect_timeout_ms = o.timeout_ms;
	co.io_timeout_ms = o.timeout_ms;
	rb_conn_init(&c);
	if (rb_connect(&c, &co) != RB_OK)
	{
		fprintf(stderr, "rbufctl: %s\n", rb_errmsg(&c));
		return 1;
	}
	rc = strcmp(cmd, "status") == 0 ? cmd_status(&o, &c) : cmd_ping(&o, &c);
	rb_close(&c);
	return rc;
}
