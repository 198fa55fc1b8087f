/*-------------------------------------------------------------------------
 *
 * log.h
 *	  rbufd logging: one line per message on stderr, with a UTC timestamp,
 *	  the process id and a severity.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RBD_LOG_H
#define RBD_LOG_H

#include <stdbool.h>

typedef enum rbd_log_level
{
	RBD_LOG_DEBUG = 0,
	RBD_LOG_INFO,
	RBD_LOG_WARNING,
	RBD_LOG_ERROR,
	RBD_LOG_FATAL,				/* startup failures; always printed */
	RBD_LOG_NONE				/* suppress everything (fuzzer) */
} rbd_log_level;

extern void rbd_log_set_level(rbd_log_level level);
extern rbd_log_level rbd_log_get_level(void);
extern bool rbd_log_enabled(rbd_log_level level);
extern const char *rbd_log_level_name(rbd_log_level level);
extern bool rbd_log_level_parse(const char *s, rbd_log_level *level);

extern void rbd_log(rbd_log_level level, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

#define rbd_debug(...)	rbd_log(RBD_LOG_DEBUG, __VA_ARGS__)
#define rbd_info(...)	rbd_log(RBD_LOG_INFO, __VA_ARGS__)
#define rbd_warning(...) rbd_log(RBD_LOG_WARNING, __VA_ARGS__)
#define rbd_error(...)	rbd_log(RBD_LOG_ERROR, __VA_ARGS__)
#define rbd_fatal(...)	rbd_log(RBD_LOG_FATAL, __VA_ARGS__)

#endif							/* RBD_LOG_H */
