/*-------------------------------------------------------------------------
 *
 * rbtest.c
 *	  TAP output, rbufd process control and raw-socket helpers shared by the
 *	  C test programs (see rbtest.h).
 *
 *-------------------------------------------------------------------------
 */
#include "rbtest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rb_auth.h"

static int	tap_count = 0;
static int	tap_failed = 0;

/*
 * Directories made by rbd_start, removed at exit when every test passed
 * (kept for a look at the logs otherwise).
 */
#define MAX_RBD_DIRS 32
static char rbd_dirs[MAX_RBD_DIRS][256];
static int	n_rbd_dirs = 0;

bool
tap_ok(bool cond, const char *fmt,...)
{
	va_list		ap;

	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

void
tap_diag(const char *fmt,...)
{
	va_list		ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

void
tap_skip(const char *why, const char *fmt,...)
{
	va_list		ap;

	tap_count++;
	printf("ok %d - ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" # SKIP %s\n", why);
	fflush(stdout);
}

int
tap_done(void)
{
	printf("1..%d\n", tap_count);
	if (tap_failed)
		printf("# failed %d of %d\n", tap_failed, tap_count);
	fflush(stdout);
	return tap_failed ? 1 : 0;
}

uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

const char *
rbd_binary(void)
{
	const char *b = getenv("RBUFD");

	return (b && *b) ? b : "build/bin/rbufd";
}

static bool
write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int			fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	bool		ok;

	if (fd < 0)
		return false;
	ok = write(fd, data, len) == (ssize_t) len;
	close(fd);
	return ok;
}

static void
remove_rbd_dirs(void)
{
	static const char *const files[] = {"secret", "rbufd.log", "port"};
	char		path[sizeof(rbd_dirs[0]) + 16];

	for (int i = 0; i < n_rbd_dirs; i++)
	{
		if (tap_failed)
		{
			printf("# kept %s for inspection\n", rbd_dirs[i]);
			continue;
		}
		for (int f = 0; f < 3; f++)
		{
			if (snprintf(path, sizeof(path), "%s/%s", rbd_dirs[i],
						 files[f]) < (int) sizeof(path))
				(void) unlink(path);
		}
		if (rmdir(rbd_dirs[i]) != 0)
			printf("# could not remove %s: %s\n", rbd_dirs[i], strerror(errno));
	}
}

static void
remember_dir(const char *dir)
{
	if (n_rbd_dirs == 0)
		atexit(remove_rbd_dirs);
	if (n_rbd_dirs < MAX_RBD_DIRS)
		snprintf(rbd_dirs[n_rbd_dirs++], sizeof(rbd_dirs[0]), "%s", dir);
}

bool
rbd_start(rbd_proc *p, bool no_auth, const char *const *extra)
{
	const char *argv[64];
	int			argc = 0;
	char		tmpl[] = "/tmp/rbtest.XXXXXX";
	uint64_t	deadline;

	memset(p, 0, sizeof(*p));
	p->pid = -1;
	if (mkdtemp(tmpl) == NULL)
	{
		tap_diag("mkdtemp failed: %s", strerror(errno));
		return false;
	}
	snprintf(p->dir, sizeof(p->dir), "%s", tmpl);
	remember_dir(p->dir);
	snprintf(p->secret_path, sizeof(p->secret_path), "%s/secret", p->dir);
	snprintf(p->log_path, sizeof(p->log_path), "%s/rbufd.log", p->dir);
	snprintf(p->port_path, sizeof(p->port_path), "%s/port", p->dir);

	argv[argc++] = rbd_binary();
	argv[argc++] = "--listen";
	argv[argc++] = "127.0.0.1";
	argv[argc++] = "--port";
	argv[argc++] = "0";
	argv[argc++] = "--port-file";
	argv[argc++] = p->port_path;
	if (no_auth)
		argv[argc++] = "--insecure-no-auth";
	else
	{
		/* A printable random secret, so it survives the newline rule. */
		uint8_t		raw[32];

		if (!rb_random_bytes(raw, sizeof(raw)))
			return false;
		for (int i = 0; i < 32; i++)
			p->secret[i] = (uint8_t) "0123456789abcdef"[raw[i] & 15];
		p->secret_len = 32;
		if (!write_file(p->secret_path, p->secret, p->secret_len, 0600))
			return false;
		argv[argc++] = "--secret-file";
		argv[argc++] = p->secret_path;
	}
	for (int i = 0; extra && extra[i] && argc < 62; i++)
		argv[argc++] = extra[i];
	argv[argc] = NULL;

	p->pid = fork();
	if (p->pid < 0)
		return false;
	if (p->pid == 0)
	{
		int			fd = open(p->log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (fd >= 0)
		{
			dup2(fd, 2);
			dup2(fd, 1);
			close(fd);
		}
		execv(argv[0], (char *const *) argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}

	deadline = now_ms() + 15000;	/* sanitizer builds start slowly */
	while (now_ms() < deadline)
	{
		FILE	   *f = fopen(p->port_path, "r");
		int			status;

		if (f)
		{
			int			port = 0;

			if (fscanf(f, "%d", &port) == 1 && port > 0)
			{
				fclose(f);
				p->port = port;
				return true;
			}
			fclose(f);
		}
		if (waitpid(p->pid, &status, WNOHANG) == p->pid)
		{
			tap_diag("rbufd exited during startup (status %d)", status);
			p->pid = -1;
			rbd_log_tail(p, 20);
			return false;
		}
		sleep_ms(20);
	}
	tap_diag("rbufd did not write its port file in time");
	rbd_log_tail(p, 20);
	kill(p->pid, SIGKILL);
	waitpid(p->pid, NULL, 0);
	p->pid = -1;
	return false;
}

int
rbd_run_expect_exit(const char *const *args, int timeout_ms, char *out,
					size_t outlen)
{
	int			pipefd[2];
	pid_t		pid;
	size_t		n = 0;
	int			status = -1;
	uint64_t	deadline = now_ms() + (uint64_t) timeout_ms;

	if (pipe(pipefd) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
	{
		dup2(pipefd[1], 2);
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		close(pipefd[1]);
		execv(args[0], (char *const *) args);
		_exit(127);
	}
	close(pipefd[1]);
	fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	out[0] = '\0';
	for (;;)
	{
		struct pollfd pfd = {pipefd[0], POLLIN, 0};
		int64_t		left = (int64_t) deadline - (int64_t) now_ms();

		if (left <= 0)
		{
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(pipefd[0]);
			return -1;
		}
		if (poll(&pfd, 1, (int) left) > 0)
		{
			char		buf[512];
			ssize_t		r = read(pipefd[0], buf, sizeof(buf));

			if (r > 0)
			{
				size_t		c = (size_t) r;

				if (n + c >= outlen)
					c = outlen - n - 1;
				memcpy(out + n, buf, c);
				n += c;
				out[n] = '\0';
				continue;
			}
			if (r == 0)
				break;
		}
	}
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

bool
rbd_alive(const rbd_proc *p)
{
	return p->pid > 0 && kill(p->pid, 0) == 0 &&
		waitpid(p->pid, NULL, WNOHANG) == 0;
}

bool
rbd_stop(rbd_proc *p)
{
	uint64_t	deadline;
	int			status = -1;
	bool		exited = false;

	if (p->pid <= 0)
		return false;
	kill(p->pid, SIGCONT);		/* in case a test left it stopped */
	kill(p->pid, SIGTERM);
	deadline = now_ms() + 10000;
	while (now_ms() < deadline)
	{
		if (waitpid(p->pid, &status, WNOHANG) == p->pid)
		{
			exited = true;
			break;
		}
		sleep_ms(10);
	}
	if (!exited)
	{
		tap_diag("rbufd did not exit within 10 s of SIGTERM; killing it");
		kill(p->pid, SIGKILL);
		waitpid(p->pid, &status, 0);
	}
	p->pid = -1;
	p->exit_status = status;
	return exited && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool
rbd_log_contains(const rbd_proc *p, const char *needle)
{
	FILE	   *f = fopen(p->log_path, "r");
	char		line[4096];
	bool		found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

bool
rbd_log_clean(const rbd_proc *p)
{
	static const char *const bad[] = {
		"AddressSanitizer", "LeakSanitizer", "ThreadSanitizer",
		"UndefinedBehaviorSanitizer", "runtime error:", NULL
	};

	for (int i = 0; bad[i]; i++)
		if (rbd_log_contains(p, bad[i]))
		{
			tap_diag("rbufd log has a sanitizer report (%s):", bad[i]);
			rbd_log_tail(p, 40);
			return false;
		}
	return true;
}

void
rbd_log_tail(const rbd_proc *p, int lines)
{
	char		cmd[400];

	snprintf(cmd, sizeof(cmd), "tail -n %d '%s' | sed 's/^/#   /'",
			 lines, p->log_path);
	fflush(stdout);
	if (system(cmd) != 0)
		tap_diag("(could not show %s)", p->log_path);
	fflush(stdout);
}

int
raw_connect(int port)
{
	struct sockaddr_in sa;
	int			fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int			one = 1;

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t) port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
	{
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

bool
raw_send(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0)
	{
		ssize_t		n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t) n;
	}
	return true;
}

/* Read exactly len bytes within the deadline; 1 ok, 0 EOF, -1 timeout. */
static int
raw_read_full(int fd, uint8_t *buf, size_t len, uint64_t deadline)
{
	while (len > 0)
	{
		struct pollfd pfd = {fd, POLLIN, 0};
		int64_t		left = (int64_t) deadline - (int64_t) now_ms();
		ssize_t		n;

		if (left <= 0 || poll(&pfd, 1, (int) left) <= 0)
			return -1;
		n = recv(fd, buf, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ECONNRESET)
			return 0;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		buf += n;
		len -= (size_t) n;
	}
	return 1;
}

int
raw_recv_frame(int fd, rb_hdr *h, uint8_t *payload, size_t payload_max,
			   int timeout_ms)
{
	uint8_t		hdr[RB_HDR_SIZE];
	uint64_t	deadline = now_ms() + (uint64_t) timeout_ms;
	int			r = raw_read_full(fd, hdr, sizeof(hdr), deadline);
	size_t		left;

	if (r <= 0)
		return r;
	rb_hdr_decode(hdr, h);
	if (!rb_hdr_valid(h))
		return -1;
	left = h->length;
	if (left <= payload_max)
		return raw_read_full(fd, payload, left, deadline) < 0 ? -1 : 1;
	/* Keep what fits, drain the rest. */
	if (raw_read_full(fd, payload, payload_max, deadline) <= 0)
		return -1;
	left -= payload_max;
	while (left > 0)
	{
		uint8_t		sink[4096];
		size_t		c = left < sizeof(sink) ? left : sizeof(sink);

		if (raw_read_full(fd, sink, c, deadline) <= 0)
			return -1;
		left -= c;
	}
	return 1;
}

bool
raw_wait_closed(int fd, int timeout_ms)
{
	uint64_t	deadline = now_ms() + (uint64_t) timeout_ms;

	for (;;)
	{
		struct pollfd pfd = {fd, POLLIN, 0};
		int64_t		left = (int64_t) deadline - (int64_t) now_ms();
		uint8_t		sink[4096];
		ssize_t		n;

		if (left <= 0 || poll(&pfd, 1, (int) left) <= 0)
			return false;
		n = recv(fd, sink, sizeof(sink), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return true;
	}
}

bool
raw_handshake(int fd, const char *owner, const uint8_t *secret,
			  size_t secret_len)
{
	uint8_t		buf[RB_HDR_SIZE + RB_HELLO_REQ_FIXED + RB_MAX_OWNER_LEN];
	uint8_t		reply[RB_HELLO_REPLY_SIZE + 256];
	uint8_t		cnonce[RB_NONCE_LEN];
	uint8_t		snonce[RB_NONCE_LEN];
	size_t		olen = strlen(owner);
	rb_hdr		h;

	if (!rb_random_bytes(cnonce, sizeof(cnonce)))
		return false;
	rb_hdr_encode(buf, RB_OP_HELLO, 0, 0,
				  (uint32_t) (RB_HELLO_REQ_FIXED + olen), 1);
	rb_put_u16(buf + RB_HDR_SIZE, RB_PROTO_VERSION_MIN);
	rb_put_u16(buf + RB_HDR_SIZE + 2, RB_PROTO_VERSION);
	rb_put_u16(buf + RB_HDR_SIZE + 4, (uint16_t) olen);
	rb_put_u16(buf + RB_HDR_SIZE + 6, 0);
	memcpy(buf + RB_HDR_SIZE + 8, cnonce, RB_NONCE_LEN);
	memcpy(buf + RB_HDR_SIZE + RB_HELLO_REQ_FIXED, owner, olen);
	if (!raw_send(fd, buf, RB_HDR_SIZE + RB_HELLO_REQ_FIXED + olen))
		return false;
	if (raw_recv_frame(fd, &h, reply, sizeof(reply), 5000) != 1 ||
		h.status != RB_ST_OK || h.length != RB_HELLO_REPLY_SIZE)
		return false;
	memcpy(snonce, reply + 24, RB_NONCE_LEN);
	if (secret == NULL)
		return rb_get_u16(reply + 2) == 0;

	rb_hdr_encode(buf, RB_OP_AUTH, 0, 0, RB_MAC_LEN, 2);
	if (!rb_auth_mac(secret, secret_len, RB_AUTH_LABEL_CLIENT, snonce, cnonce,
					 owner, olen, buf + RB_HDR_SIZE))
		return false;
	if (!raw_send(fd, buf, RB_HDR_SIZE + RB_MAC_LEN))
		return false;
	return raw_recv_frame(fd, &h, reply, sizeof(reply), 5000) == 1 &&
		h.status == RB_ST_OK;
}

void
fill_page(uint8_t *p, size_t len, uint32_t seed)
{
	uint32_t	x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++)
	{
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t) x;
	}
}
