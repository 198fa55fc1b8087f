/*-------------------------------------------------------------------------
 *
 * rbtest.h
 *	  Tiny TAP producer and rbufd process control for the C test programs:
 *	  start a real rbufd on an ephemeral loopback port, stop it, check its
 *	  log for sanitizer reports, and talk raw frames to it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RBTEST_H
#define RBTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rb_protocol.h"

/* ---- TAP ---- */
extern bool tap_ok(bool cond, const char *fmt,...) __attribute__((format(printf, 2, 3)));
extern void tap_diag(const char *fmt,...) __attribute__((format(printf, 1, 2)));
extern void tap_skip(const char *why, const char *fmt,...) __attribute__((format(printf, 2, 3)));
extern int	tap_done(void);		/* prints the plan; returns exit status */

#define tap_is(got, want, ...) \
	(tap_ok((long long) (got) == (long long) (want), __VA_ARGS__) ? true : \
	 (tap_diag("  got %lld, want %lld", (long long) (got), (long long) (want)), false))

/* ---- rbufd process control ---- */
typedef struct rbd_proc
{
	pid_t		pid;
	int			port;
	char		dir[256];		/* private temp dir: secret, port file, log */
	char		secret_path[300];
	char		log_path[300];
	char		port_path[300];
	uint8_t		secret[64];
	size_t		secret_len;
	int			exit_status;	/* after rbd_stop: wait status */
} rbd_proc;

/* Path of the rbufd binary: $RBUFD or build/bin/rbufd. */
extern const char *rbd_binary(void);

/*
 * Start rbufd with a fresh secret (unless no_auth) on 127.0.0.1, port 0,
 * plus the extra arguments (NULL-terminated).  Waits for the port file.
 * Returns false (and prints a diag with the log tail) on failure.
 */
extern bool rbd_start(rbd_proc *p, bool no_auth, const char *const *extra);

/*
 * Run rbufd with the given args and expect it to exit by itself within
 * timeout_ms; returns its wait status (or -1) and copies its stderr into
 * out.
 */
extern int	rbd_run_expect_exit(const char *const *args, int timeout_ms,
								char *out, size_t outlen);

/* SIGTERM and wait (up to 10 s, then SIGKILL); true if it exited 0. */
extern bool rbd_stop(rbd_proc *p);
extern bool rbd_alive(const rbd_proc *p);

/* True if the daemon's log has no ASan/UBSan/TSan/LSan report. */
extern bool rbd_log_clean(const rbd_proc *p);
extern bool rbd_log_contains(const rbd_proc *p, const char *needle);
extern void rbd_log_tail(const rbd_proc *p, int lines);

/* ---- raw sockets for malformed-frame tests ---- */
extern int	raw_connect(int port);
extern bool raw_send(int fd, const void *buf, size_t len);

/*
 * Receive one frame within timeout_ms.  Returns 1 with header (and up to
 * payload_max bytes of payload) on success, 0 on EOF, -1 on timeout/error.
 */
extern int	raw_recv_frame(int fd, rb_hdr *h, uint8_t *payload,
						   size_t payload_max, int timeout_ms);

/* True if the peer closed the connection within timeout_ms. */
extern bool raw_wait_closed(int fd, int timeout_ms);

/* HELLO (+ AUTH with secret unless NULL) over a raw socket; true if ok. */
extern bool raw_handshake(int fd, const char *owner,
						  const uint8_t *secret, size_t secret_len);

extern uint64_t now_ms(void);
extern void sleep_ms(int ms);

/* Fill len bytes with a pattern determined by seed (distinct seeds differ). */
extern void fill_page(uint8_t *p, size_t len, uint32_t seed);

#endif							/* RBTEST_H */
