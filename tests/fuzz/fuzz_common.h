/*
 * fuzz_common.h - shared oracles of the libFuzzer targets: what every output
 * of the service must be, whatever came in.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define FUZZ_DEPTH 32

/* Stop with a message libFuzzer shows next to the crash. */
#define FUZZ_CHECK(cond, ...) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "oracle failed: %s: ", #cond);		\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		abort();						\
	}								\
} while (0)

/* The text is one JSON value (RFC 8259). */
static inline int
fuzz_valid_json(const char *s, size_t n)
{
	size_t		 pos;
	const char	*why;

	return json_validate(s, n, 64, &pos, &why) == 0;
}

/* A canonical lower-case UUID of 36 characters. */
static inline int
fuzz_canonical_uuid(const char *s)
{
	size_t i;

	if (strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return 1;
}

#endif
