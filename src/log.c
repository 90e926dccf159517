/* log.c - one line per event on stderr or syslog, with a level. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_level	 threshold = LOG_LVL_INFO;
static bool		 to_syslog;
static int		 stamp = -1;	/* timestamps: stderr is a file */
static char		 file_path[4096];	/* LOG_FILE, for reopening */

/* The syslog socket; glibc's _PATH_LOG. */
#define SYSLOG_SOCKET	"/dev/log"

static const int syslog_prio[LOG_LVL__MAX] = {
	LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG,
};

static const char *const level_names[LOG_LVL__MAX] = {
	"error", "warn", "info", "debug",
};

int
log_use_syslog(void)
{
	static bool	 warned;	/* once per pool: workers inherit it */
	struct stat	 st;

	if (to_syslog)
		return 0;
	/* Without the socket every line would be lost without a word. */
	if (stat(SYSLOG_SOCKET, &st) != 0 || !S_ISSOCK(st.st_mode)) {
		if (!warned)
			log_msg(LOG_LVL_WARN, "LOG_TARGET=syslog but %s is not "
			    "a socket (no syslog daemon here?): logging to "
			    "stderr", SYSLOG_SOCKET);
		warned = true;
		return -1;
	}
	openlog("coursegen-status", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	to_syslog = true;
	return 0;
}

void
log_use_stderr(void)
{
	if (to_syslog)
		closelog();
	to_syslog = false;
}

int
log_open_file(const char *path, long owner)
{
	int fd;

	if (strlen(path) >= sizeof(file_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0640)) < 0)
		return -1;
	/* Workers reopen it themselves after a rotation (as nginx does). */
	if (owner >= 0)
		(void)!fchown(fd, (uid_t)owner, (gid_t)-1);
	if (dup2(fd, STDERR_FILENO) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	memcpy(file_path, path, strlen(path) + 1);
	stamp = 1;
	return 0;
}

int
log_reopen(void)
{
	int fd, saved = errno, rc = -1;

	/* Async-signal-safe: open, dup2 and close only. */
	if (file_path[0] != '\0' && (fd = open(file_path, O_WRONLY |
	    O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640)) >= 0) {
		if (dup2(fd, STDERR_FILENO) >= 0)
			rc = 0;
		close(fd);
	}
	errno = saved;
	return rc;
}

/* "2026-12-02T13:45:01.123Z ", when stderr is a regular file. */
static size_t
timestamp(char *out, size_t outsz)
{
	struct timespec	 ts;
	struct tm	 tm;
	struct stat	 st;
	size_t		 n;

	if (stamp < 0)
		stamp = fstat(STDERR_FILENO, &st) == 0 && S_ISREG(st.st_mode);
	if (!stamp || clock_gettime(CLOCK_REALTIME, &ts) != 0 ||
	    gmtime_r(&ts.tv_sec, &tm) == NULL)
		return 0;
	n = strftime(out, outsz, "%Y-%m-%dT%H:%M:%S", &tm);
	if (n == 0 || n + 7 >= outsz)
		return 0;
	return n + (size_t)snprintf(out + n, outsz - n, ".%03ldZ ",
	    ts.tv_nsec / 1000000);
}

void
log_set_level(enum log_level l)
{
	threshold = l;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	int	 i;

	for (i = 0; i < LOG_LVL__MAX; i++)
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

void
log_msg(enum log_level l, const char *fmt, ...)
{
	char	 line[1024];
	int	 n;
	va_list	 ap;

	if (l > threshold)
		return;
	if (to_syslog) {
		va_start(ap, fmt);
		vsnprintf(line, sizeof(line), fmt, ap);
		va_end(ap);
		syslog(syslog_prio[l], "%s: %s", level_names[l], line);
		return;
	}
	n = (int)timestamp(line, sizeof(line));
	n += snprintf(line + n, sizeof(line) - (size_t)n,
	    "coursegen-status[%ld]: %s: ", (long)getpid(), level_names[l]);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One write per line so concurrent workers do not interleave. */
	n = (int)strlen(line);
	if ((size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

char *
log_escape(const char *s, size_t n, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t	 i, o = 0;

	if (outsz == 0)
		return out;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (o + 8 >= outsz) {
			if (outsz >= 4) {
				o = o < outsz - 4 ? o : outsz - 4;
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		}
	}
	out[o] = '\0';
	return out;
}
