/* intparse.h - strict decimal integers (no atoi anywhere). */
#ifndef CS_INTPARSE_H
#define CS_INTPARSE_H

#include <stdbool.h>

/*
 * Strict decimal integer parse of a whole string into [min, max].
 * Returns false on junk, overflow or range (no atoi anywhere).
 */
bool	 parse_int_range(const char *s, long long min, long long max,
	    long long *out);

#endif
