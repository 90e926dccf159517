/* intparse.c - strict integers, decimal or octal (no atoi anywhere). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "intparse.h"

bool
parse_int_base(const char *s, int base, long long min, long long max,
    long long *out)
{
	char		*end;
	long long	 v;

	/* strtoll would skip spaces and take a sign: the first character
	 * must be a digit of the base, or '-' for a decimal number. */
	if (s == NULL || !((*s >= '0' && *s < '0' + (base < 10 ? base : 10)) ||
	    (base == 10 && *s == '-')))
		return false;
	errno = 0;
	v = strtoll(s, &end, base);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool
parse_int_range(const char *s, long long min, long long max, long long *out)
{
	return parse_int_base(s, 10, min, max, out);
}
