/* intparse.c - strict decimal integers (no atoi anywhere). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "intparse.h"

bool
parse_int_range(const char *s, long long min, long long max, long long *out)
{
	char		*end;
	long long	 v;

	if (s == NULL || *s == '\0' || (*s != '-' && (*s < '0' || *s > '9')))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}
