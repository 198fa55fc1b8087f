/*-------------------------------------------------------------------------
 *
 * log.c
 *	  rbufd logging.  Lines look like
 *		2026-11-20 23:59:59.123 UTC [1234] INFO:  message
 *	  and are written with a single write(2) so that lines from different
 *	  threads never interleave.
 *
 *-------------------------------------------------------------------------
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static _Atomic int log_level = RBD_LOG_INFO;

static const char *const level_names[] = {
	"DEBUG", "INFO", "WARNING", "ERROR", "FATAL", "NONE"
};

void
rbd_log_set_level(rbd_log_level level)
{
	atomic_store(&log_level, (int) level);
}

rbd_log_level
rbd_log_get_level(void)
{
	return (rbd_log_level) atomic_load(&log_level);
}

bool
rbd_log_enabled(rbd_log_level level)
{
	int			cur = atomic_load_explicit(&log_level, memory_order_relaxed);

	if (cur == RBD_LOG_NONE)
		return false;
	return level == RBD_LOG_FATAL || (int) level >= cur;
}

const char *
rbd_log_level_name(rbd_log_level level)
{
	if ((int) level < 0 || level > RBD_LOG_NONE)
		return "?";
	return level_names[level];
}

/* Accepts the names users configure: debug, info, warning, error. */
bool
rbd_log_level_parse(const char *s, rbd_log_level *level)
{
	if (strcasecmp(s, "debug") == 0)
		*level = RBD_LOG_DEBUG;
	else if (strcasecmp(s, "info") == 0)
		*level = RBD_LOG_INFO;
	else if (strcasecmp(s, "warning") == 0)
		*level = RBD_LOG_WARNING;
	else if (strcasecmp(s, "error") == 0)
		*level = RBD_LOG_ERROR;
	else
		return false;
	return true;
}

void
rbd_log(rbd_log_level level, const char *fmt,...)
{
	char		line[1024];
	struct timespec ts;
	struct tm	tm;
	size_t		n;
	int			r;
	va_list		ap;
	int			save_errno = errno;

	if (!rbd_log_enabled(level))
		return;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ".%03ld UTC [%ld] %s:  ",
				 (long) (ts.tv_nsec / 1000000), (long) getpid(),
				 level_names[level]);
	if (r > 0)
		n += (size_t) r;

	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (r > 0)
		n += (size_t) r;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';

	/* Nothing useful to do if stderr is gone. */
	while (write(STDERR_FILENO, line, n) < 0 && errno == EINTR)
		;
	errno = save_errno;
}
