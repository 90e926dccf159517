/* intparse.h - strict integers, decimal or octal (no atoi anywhere). */
#ifndef CS_INTPARSE_H
#define CS_INTPARSE_H

#include <stdbool.h>

/*
 * Strict parse of a whole string as an integer in base 8 or 10 into
 * [min, max]: digits of the base only (a leading '-' in base 10), no
 * spaces, no '+', no "0x". Returns false on junk, overflow or range.
 */
bool	 parse_int_base(const char *s, int base, long long min, long long max,
	    long long *out);

/* parse_int_base() in base 10. */
bool	 parse_int_range(const char *s, long long min, long long max,
	    long long *out);

#endif
