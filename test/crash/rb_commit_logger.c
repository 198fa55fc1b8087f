/*
 * rb_commit_logger.c -- a client that keeps a log of acknowledged commits,
 * for the crash matrix (test/t/005_crash_matrix.pl).
 *
 *   rb_commit_logger CONNINFO LOGFILE FIRST_ID MAX_TXNS
 *
 * Runs transactions until the server goes away (or MAX_TXNS are done),
 * one id per transaction, counting up from FIRST_ID:
 *
 *   BEGIN;
 *   INSERT INTO crash_log (id, v, pad)
 *        VALUES (id, id * 7 + 1, repeat(md5(id::text), 4));
 *   UPDATE crash_counter SET n = n + 1, last_id = id WHERE k = id % 8;
 *   -- "A id" appended to LOGFILE
 *   COMMIT;
 *   -- "C id" appended to LOGFILE, only if COMMIT succeeded
 *
 * So after a crash every "C" id must be in crash_log with exactly that
 * content, every id in crash_log must have an "A" line (the server cannot
 * invent a transaction), and count(crash_log) must equal sum(crash_counter.n)
 * (both changes are in one transaction).  At most one id per client is
 * attempted but unacknowledged: its COMMIT was in flight when the server
 * died, and it may or may not have committed.
 *
 * Lines are written with write(2) on an O_APPEND descriptor: the client is
 * not what gets killed, so the kernel keeps every line it wrote; no fsync
 * is needed.  The "C" line is written only after PQexec returned the
 * COMMIT's success, so the log never claims more than the server
 * acknowledged.
 *
 * Exit status: 0 when it stopped because the connection was lost or
 * MAX_TXNS were done, 1 on a usage error or a failure that is not a lost
 * connection (such as a constraint violation: the test's schema is wrong).
 * The last line on stdout says how many ids were attempted and committed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

static int	logfd = -1;

static void
log_line(char kind, long long id)
{
	char		buf[64];
	int			len = snprintf(buf, sizeof(buf), "%c %lld\n", kind, id);
	ssize_t		off = 0;

	while (off < len)
	{
		ssize_t		w = write(logfd, buf + off, (size_t) (len - off));

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
		{
			perror("rb_commit_logger: write to log");
			exit(1);
		}
		off += w;
	}
}

/*
 * Run one statement.  Returns 1 on success, 0 if the connection is gone
 * (the expected end), and exits on any other error.
 */
static int
run(PGconn *conn, const char *sql, int nparams, const char *const *params,
	const char *want_status)
{
	PGresult   *res;
	int			ok;

	res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK &&
		strcmp(PQcmdStatus(res), want_status) == 0;
	if (!ok)
	{
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		fprintf(stderr, "rb_commit_logger: %s: %s (sqlstate %s, status %s)\n",
				sql, PQerrorMessage(conn), state ? state : "none",
				PQcmdStatus(res));

		/*
		 * A lost connection, or the server telling us it is going down
		 * (class 57: operator intervention, e.g. 57P01 admin shutdown,
		 * or 08: connection exception).  Anything else is a test bug.
		 */
		if (PQstatus(conn) == CONNECTION_BAD ||
			(state && (strncmp(state, "57", 2) == 0 ||
					   strncmp(state, "08", 2) == 0)))
		{
			PQclear(res);
			return 0;
		}
		PQclear(res);
		exit(1);
	}
	PQclear(res);
	return 1;
}

int
main(int argc, char **argv)
{
	PGconn	   *conn;
	long long	first;
	long long	max;
	long long	attempted = 0;
	long long	committed = 0;
	long long	id;

	if (argc != 5)
	{
		fprintf(stderr, "usage: rb_commit_logger CONNINFO LOGFILE FIRST_ID MAX_TXNS\n");
		return 1;
	}
	first = strtoll(argv[3], NULL, 10);
	max = strtoll(argv[4], NULL, 10);

	logfd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (logfd < 0)
	{
		perror("rb_commit_logger: open log");
		return 1;
	}

	conn = PQconnectdb(argv[1]);
	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "rb_commit_logger: connect: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return 1;
	}

	for (id = first; id < first + max; id++)
	{
		char		idbuf[32];
		const char *params[1] = {idbuf};

		snprintf(idbuf, sizeof(idbuf), "%lld", id);
		if (!run(conn, "BEGIN", 0, NULL, "BEGIN"))
			break;
		if (!run(conn,
				 "INSERT INTO crash_log (id, v, pad) "
				 "VALUES ($1::bigint, $1::bigint * 7 + 1, repeat(md5($1::text), 4))",
				 1, params, "INSERT 0 1"))
			break;
		if (!run(conn,
				 "UPDATE crash_counter SET n = n + 1, last_id = $1::bigint "
				 "WHERE k = $1::bigint % 8",
				 1, params, "UPDATE 1"))
			break;
		log_line('A', id);
		attempted++;
		if (!run(conn, "COMMIT", 0, NULL, "COMMIT"))
			break;
		log_line('C', id);
		committed++;
	}

	printf("attempted %lld committed %lld\n", attempted, committed);
	PQfinish(conn);
	close(logfd);
	return 0;
}
