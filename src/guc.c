/*-------------------------------------------------------------------------
 *
 * guc.c
 *	  Configuration parameters of remote_buffer: definitions, check hooks,
 *	  the remote_buffer.peers parser and values derived from the settings.
 *
 * Check hooks run in every process that (re)reads the configuration, so
 * they only look at the value itself: they never open files or touch the
 * network.  The secret file is read only by the lease manager, through
 * rb_secret_reload().
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <unistd.h>

#include "access/xlog.h"
#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "utils/guc.h"

#include "guc.h"
#include "intercept.h"
#include "rb_auth.h"
#include "rb_client.h"

char	   *rb_guc_peers = NULL;
int			rb_guc_size_mb = 0;
int			rb_guc_max_size_mb = 1024;
int			rb_guc_lease_size_mb = 64;
int			rb_guc_transport = RB_TRANSPORT_AUTO;
int			rb_guc_lease_ttl_ms = 30000;
int			rb_guc_io_timeout_ms = 100;
char	   *rb_guc_secret_file = NULL;
char	   *rb_guc_owner = NULL;

/* "rdma" is listed so that it gets a specific message from the hook */
static const struct config_enum_entry rb_transport_options[] = {
	{"auto", RB_TRANSPORT_AUTO, false},
	{"tcp", RB_TRANSPORT_TCP, false},
	{"rdma", RB_TRANSPORT_RDMA, false},
	{NULL, 0, false}
};

/* ---------- peers list ---------- */

static bool
rb_is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

/*
 * Parse one entry, item[0..len), already trimmed and non-empty, into *out.
 */
static bool
rb_parse_peer(const char *item, size_t len, RbPeerAddr *out,
			  char *err, size_t errlen)
{
	const char *host;
	size_t		hostlen;
	const char *port;
	size_t		portlen;
	bool		bracketed = false;
	long		portnum = 0;

	if (item[0] == '[')
	{
		const char *close = memchr(item, ']', len);
		char		addr[RB_HOST_MAXLEN + 1];
		struct in6_addr a6;
		char	   *zone;

		if (close == NULL)
		{
			snprintf(err, errlen,
					 "Entry \"%.*s\" has no closing bracket.", (int) len, item);
			return false;
		}
		host = item + 1;
		hostlen = close - host;
		if (hostlen == 0 || hostlen > RB_HOST_MAXLEN)
		{
			snprintf(err, errlen,
					 "Entry \"%.*s\" has an empty or overlong address in brackets.",
					 (int) len, item);
			return false;
		}
		memcpy(addr, host, hostlen);
		addr[hostlen] = '\0';
		/* a zone ("%eth0") is allowed; the address before it must parse */
		zone = strchr(addr, '%');
		if (zone != NULL)
			*zone = '\0';
		if (inet_pton(AF_INET6, addr, &a6) != 1)
		{
			snprintf(err, errlen,
					 "Entry \"%.*s\": \"%.*s\" is not an IPv6 address.",
					 (int) len, item, (int) hostlen, host);
			return false;
		}
		if (close + 1 == item + len || close[1] != ':')
		{
			snprintf(err, errlen,
					 "Entry \"%.*s\" has no port number; write [address]:port.",
					 (int) len, item);
			return false;
		}
		port = close + 2;
		bracketed = true;
	}
	else
	{
		const char *colon = NULL;

		for (const char *c = item; c < item + len; c++)
			if (*c == ':')
			{
				if (colon != NULL)
				{
					snprintf(err, errlen,
							 "Entry \"%.*s\" has more than one colon; IPv6 addresses must be enclosed in brackets, as in [::1]:7420.",
							 (int) len, item);
					return false;
				}
				colon = c;
			}
		if (colon == NULL)
		{
			snprintf(err, errlen,
					 "Entry \"%.*s\" has no port number; peers are written as host:port.",
					 (int) len, item);
			return false;
		}
		host = item;
		hostlen = colon - item;
		if (hostlen == 0 || hostlen > 253)
		{
			snprintf(err, errlen,
					 "Entry \"%.*s\" has an empty or overlong host name.",
					 (int) len, item);
			return false;
		}
		for (size_t i = 0; i < hostlen; i++)
			if (!rb_is_name_char(host[i]))
			{
				snprintf(err, errlen,
						 "Entry \"%.*s\" has an invalid character in its host name.",
						 (int) len, item);
				return false;
			}
		port = colon + 1;
	}

	portlen = item + len - port;
	if (portlen == 0 || portlen > 5)
	{
		snprintf(err, errlen,
				 "Entry \"%.*s\" has no valid port number.", (int) len, item);
		return false;
	}
	for (size_t i = 0; i < portlen; i++)
	{
		if (port[i] < '0' || port[i] > '9')
		{
			snprintf(err, errlen,
					 "Entry \"%.*s\" has no valid port number.", (int) len, item);
			return false;
		}
		portnum = portnum * 10 + (port[i] - '0');
	}
	if (portnum < 1 || portnum > 65535)
	{
		snprintf(err, errlen,
				 "Entry \"%.*s\": the port number must be between 1 and 65535.",
				 (int) len, item);
		return false;
	}

	memcpy(out->host, host, hostlen);
	out->host[hostlen] = '\0';
	out->port = (int) portnum;
	snprintf(out->name, sizeof(out->name), bracketed ? "[%s]:%d" : "%s:%d",
			 out->host, out->port);
	return true;
}

/*
 * Do two parsed entries name the same server?  Besides identical text this
 * catches what can be seen without resolving names: one IPv6 address
 * written two ways, and host names that differ only in case.  Listing a
 * server twice must be refused: the lease manager would treat it as two
 * peers with one owner, and re-attaching to either would release the
 * leases held through the other.
 */
static bool
rb_same_peer(const RbPeerAddr *a, const RbPeerAddr *b)
{
	if (a->port != b->port)
		return false;
	if (strchr(a->host, ':') != NULL && strchr(b->host, ':') != NULL)
	{
		char		ha[RB_HOST_MAXLEN + 1];
		char		hb[RB_HOST_MAXLEN + 1];
		char	   *za;
		char	   *zb;
		struct in6_addr a6;
		struct in6_addr b6;

		strlcpy(ha, a->host, sizeof(ha));
		strlcpy(hb, b->host, sizeof(hb));
		za = strchr(ha, '%');
		zb = strchr(hb, '%');
		if (za != NULL)
			*za++ = '\0';
		if (zb != NULL)
			*zb++ = '\0';
		/* both parsed before (rb_parse_peer) */
		if (inet_pton(AF_INET6, ha, &a6) != 1 ||
			inet_pton(AF_INET6, hb, &b6) != 1)
			return strcmp(a->host, b->host) == 0;
		return memcmp(&a6, &b6, sizeof(a6)) == 0 &&
			strcmp(za ? za : "", zb ? zb : "") == 0;
	}
	return pg_strcasecmp(a->host, b->host) == 0;
}

static bool
rb_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool
rb_parse_peers(const char *value, RbPeerAddr *out, int *npeers,
			   char *err, size_t errlen)
{
	const char *p = value ? value : "";
	int			nitems = 1;
	int			n = 0;

	*npeers = 0;
	while (rb_is_blank(*p))
		p++;
	if (*p == '\0')
		return true;			/* no peers: no remote tier */

	for (const char *c = p; *c; c++)
		if (*c == ',')
			nitems++;
	if (nitems > RB_MAX_PEERS)
	{
		snprintf(err, errlen,
				 "The list has %d entries; at most %d peers are supported.",
				 nitems, RB_MAX_PEERS);
		return false;
	}

	for (;;)
	{
		const char *start = p;
		const char *end = p;
		const char *next;

		while (*end != '\0' && *end != ',')
			end++;
		next = end;
		while (start < end && rb_is_blank(*start))
			start++;
		while (end > start && rb_is_blank(end[-1]))
			end--;
		if (start == end)
		{
			snprintf(err, errlen,
					 "The list has an empty entry; separate peers with single commas.");
			return false;
		}
		if (!rb_parse_peer(start, end - start, &out[n], err, errlen))
			return false;
		for (int k = 0; k < n; k++)
			if (rb_same_peer(&out[k], &out[n]))
			{
				if (strcmp(out[k].name, out[n].name) == 0)
					snprintf(err, errlen, "Peer \"%s\" is listed twice.",
							 out[n].name);
				else
					snprintf(err, errlen,
							 "Entries \"%s\" and \"%s\" name the same peer.",
							 out[k].name, out[n].name);
				return false;
			}
		n++;
		if (*next == '\0')
			break;
		p = next + 1;
	}
	*npeers = n;
	return true;
}

/* ---------- check hooks ---------- */

static bool
rb_check_peers(char **newval, void **extra, GucSource source)
{
	RbPeerAddr	peers[RB_MAX_PEERS];
	char		err[512];
	int			n;

	if (!rb_parse_peers(*newval, peers, &n, err, sizeof(err)))
	{
		GUC_check_errdetail("%s", err);
		return false;
	}
	return true;
}

static bool
rb_check_owner(char **newval, void **extra, GucSource source)
{
	if (*newval != NULL && (*newval)[0] != '\0' &&
		!rb_owner_valid(*newval, strlen(*newval)))
	{
		GUC_check_errdetail("An owner name is 1 to %d printable ASCII characters without spaces.",
							RB_MAX_OWNER_LEN);
		return false;
	}
	return true;
}

/* ---------- definitions ---------- */

void
rb_guc_define(void)
{
	DefineCustomBoolVariable("remote_buffer.enabled",
							 "Enables remote_buffer's handling of storage manager calls.",
							 "When off, intercepted calls go straight to the local storage manager.",
							 &rb_intercept_enabled,
							 true,
							 PGC_SUSET,
							 0,
							 NULL,
							 NULL,
							 NULL);

	DefineCustomStringVariable("remote_buffer.peers",
							   "Memory servers (rbufd) to lease remote memory from.",
							   "Comma-separated list of host:port entries; IPv6 addresses in brackets. Empty means no remote tier.",
							   &rb_guc_peers,
							   "",
							   PGC_SIGHUP,
							   GUC_LIST_INPUT,
							   rb_check_peers,
							   NULL,
							   NULL);

	/* max_size and lease_size first: size is compared against them */
	DefineCustomIntVariable("remote_buffer.max_size",
							"Largest remote tier possible without a restart.",
							"Sizes the shared memory of the segment table.",
							&rb_guc_max_size_mb,
							1024,
							0,
							INT_MAX,
							PGC_POSTMASTER,
							GUC_UNIT_MB,
							NULL,
							NULL,
							NULL);

	DefineCustomIntVariable("remote_buffer.lease_size",
							"Size of one segment of the remote tier, leased as a whole.",
							NULL,
							&rb_guc_lease_size_mb,
							64,
							1,
							1024,
							PGC_POSTMASTER,
							GUC_UNIT_MB,
							NULL,
							NULL,
							NULL);

	DefineCustomIntVariable("remote_buffer.size",
							"Size of the remote tier to lease from the peers.",
							"Rounded down to a multiple of remote_buffer.lease_size and capped at remote_buffer.max_size; 0 turns the remote tier off.",
							&rb_guc_size_mb,
							0,
							0,
							INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_MB,
							NULL,
							NULL,
							NULL);

	DefineCustomEnumVariable("remote_buffer.transport",
							 "Transport used to reach the peers.",
							 "\"auto\" uses one-sided RDMA where this host has an RDMA device and the peer offers it, TCP otherwise; \"rdma\" uses only peers reachable over RDMA.",
							 &rb_guc_transport,
							 RB_TRANSPORT_AUTO,
							 rb_transport_options,
							 PGC_SIGHUP,
							 0,
							 NULL,
							 NULL,
							 NULL);

	DefineCustomIntVariable("remote_buffer.lease_ttl",
							"Time to live requested for each lease.",
							"Leases are renewed after a third of it has passed.",
							&rb_guc_lease_ttl_ms,
							30000,
							1000,
							600000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL,
							NULL,
							NULL);

	DefineCustomIntVariable("remote_buffer.io_timeout",
							"Deadline for each request to a peer.",
							"Connecting, including authentication, may take twice as long.",
							&rb_guc_io_timeout_ms,
							100,
							1,
							60000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL,
							NULL,
							NULL);

	DefineCustomStringVariable("remote_buffer.secret_file",
							   "File holding the secret shared with the peers.",
							   "Empty means connecting without authentication, which only servers started with --insecure-no-auth accept.",
							   &rb_guc_secret_file,
							   "",
							   PGC_SIGHUP,
							   0,
							   NULL,
							   NULL,
							   NULL);

	DefineCustomStringVariable("remote_buffer.owner",
							   "Owner name presented to the peers.",
							   "Empty means one derived from the system identifier, host name, port and data directory.",
							   &rb_guc_owner,
							   "",
							   PGC_POSTMASTER,
							   0,
							   rb_check_owner,
							   NULL,
							   NULL);

	MarkGUCPrefixReserved("remote_buffer");
}

/* ---------- derived values ---------- */

int
rb_client_transport_mode(void)
{
	switch (rb_guc_transport)
	{
		case RB_TRANSPORT_TCP:
			return RB_XPORT_TCP;
		case RB_TRANSPORT_RDMA:
			return RB_XPORT_RDMA;
		case RB_TRANSPORT_AUTO:
		default:
			return RB_XPORT_AUTO;
	}
}

const char *
rb_transport_name(int transport)
{
	switch (transport)
	{
		case RB_TRANSPORT_RDMA:
			return "rdma";
		case RB_TRANSPORT_AUTO:
		case RB_TRANSPORT_TCP:
		default:
			return "tcp";
	}
}

uint64
rb_segment_bytes(void)
{
	return (uint64) rb_guc_lease_size_mb * 1024 * 1024;
}

int
rb_segments_max(void)
{
	int64		n = (int64) rb_guc_max_size_mb / rb_guc_lease_size_mb;

	return (int) Min(n, RB_MAX_SEGMENTS);
}

int
rb_segments_wanted(void)
{
	int64		mb = Min(rb_guc_size_mb, rb_guc_max_size_mb);

	return (int) Min(mb / rb_guc_lease_size_mb, rb_segments_max());
}

int
rb_connect_timeout_ms(void)
{
	return 2 * rb_guc_io_timeout_ms;
}

bool
rb_secret_reload(RbSecret *secret)
{
	uint8		buf[RB_SECRET_MAX_LEN];
	size_t		len = 0;
	char		err[sizeof(secret->err)];
	bool		changed;

	StaticAssertStmt(sizeof(secret->bytes) == RB_SECRET_MAX_LEN,
					 "RbSecret must hold the longest secret");

	if (rb_guc_secret_file != NULL && rb_guc_secret_file[0] != '\0' &&
		!rb_secret_load(rb_guc_secret_file, buf, &len, err, sizeof(err)))
	{
		/* warn once per distinct problem */
		if (secret->ok || strcmp(err, secret->err) != 0)
			ereport(WARNING,
					(errmsg("could not load remote_buffer.secret_file: %s", err),
					 errhint("Peers that require authentication cannot be connected until the file can be read.")));
		explicit_bzero(secret->bytes, sizeof(secret->bytes));
		secret->len = 0;
		secret->ok = false;
		strlcpy(secret->err, err, sizeof(secret->err));
		return false;
	}
	changed = !secret->ok || len != secret->len ||
		(len > 0 && memcmp(buf, secret->bytes, len) != 0);
	if (len > 0)
		memcpy(secret->bytes, buf, len);
	secret->len = len;
	secret->ok = true;
	secret->err[0] = '\0';
	explicit_bzero(buf, sizeof(buf));
	return changed;
}

/* 32-bit FNV-1a: a fixed, documented function keeps derived names stable */
static uint32
rb_fnv1a32(const char *s)
{
	uint32		h = 2166136261u;

	for (; *s; s++)
	{
		h ^= (unsigned char) *s;
		h *= 16777619u;
	}
	return h;
}

void
rb_owner_name(char *buf, size_t len)
{
	char		host[256];
	char		key[256 + 16 + MAXPGPATH];

	if (rb_guc_owner != NULL && rb_guc_owner[0] != '\0')
	{
		strlcpy(buf, rb_guc_owner, len);
		return;
	}
	if (gethostname(host, sizeof(host)) != 0)
		strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	snprintf(key, sizeof(key), "%s:%d:%s", host, PostPortNumber,
			 DataDir ? DataDir : "");
	snprintf(buf, len, "pg-" UINT64_FORMAT "-%08x",
			 GetSystemIdentifier(), rb_fnv1a32(key));
}
