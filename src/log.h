/* log.h - one line per event on stderr or syslog, with a level; request
 * text escaped. */
#ifndef CS_LOG_H
#define CS_LOG_H

#include <stddef.h>

enum log_level {
	LOG_LVL_ERROR,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
	LOG_LVL__MAX
};

/*
 * Send lines to syslog (facility daemon) instead of stderr. When there is
 * no syslog socket (/dev/log, often absent in containers) it says so on
 * stderr, stays there and returns -1.
 */
int	 log_use_syslog(void);
/* Back to stderr (a reload that changes LOG_TARGET). */
void	 log_use_stderr(void);
/*
 * Point stderr at the file `path` (LOG_FILE: appended to, created 0640,
 * never through a symlink; chowned to `owner` unless it is -1) and
 * remember it for log_reopen(). Returns 0, or -1 with errno.
 */
int	 log_open_file(const char *path, long owner);
/*
 * Open the LOG_FILE again onto stderr, after logrotate moved it away.
 * Async-signal-safe. Returns 0, or -1 (nothing changes).
 */
int	 log_reopen(void);
/* Set the threshold; messages above it are dropped. */
void	 log_set_level(enum log_level);
/* Parse "error", "warn", "info", "debug". Returns 0, or -1 if unknown. */
int	 log_level_parse(const char *, enum log_level *);
/*
 * Write one line: "coursegen-status[pid]: level: message", after a UTC
 * timestamp when stderr is a regular file (journald and syslog add their
 * own). The format
 * must be a literal; request-derived text goes through log_escape() first.
 */
void	 log_msg(enum log_level, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/*
 * Copy at most `n` bytes of untrusted text into `out` (size `outsz`),
 * escaping anything that is not printable ASCII as \xNN and truncating
 * with "..." so that a log line can never be split or forged. Returns out.
 */
char	*log_escape(const char *s, size_t n, char *out, size_t outsz);

#endif
