/* log.c - one line per event on stderr or syslog, with a level. */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

static enum log_level	 threshold = LOG_LVL_INFO;
static bool		 to_syslog;

static const int syslog_prio[LOG_LVL__MAX] = {
	LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG,
};

static const char *const level_names[LOG_LVL__MAX] = {
	"error", "warn", "info", "debug",
};

void
log_use_syslog(void)
{
	openlog("coursegen-status", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	to_syslog = true;
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
	n = snprintf(line, sizeof(line), "coursegen-status[%ld]: %s: ",
	    (long)getpid(), level_names[l]);
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
