/* text.h - pure text helpers: UUIDs, percent-decoding, query strings, times. */
#ifndef CS_TEXT_H
#define CS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define UUID_STRLEN 36

/*
 * Check that s (n bytes) is a UUID as zod's z.string().uuid() accepts it:
 * 8-4-4-4-12 hexadecimal digits, any case. On success writes the canonical
 * lower-case form (37 bytes with the NUL) into out, if out is not NULL.
 */
bool	 uuid_canon(const char *s, size_t n, char out[UUID_STRLEN + 1]);

/*
 * Percent-decode n bytes of a query-string component into b, turning '+'
 * into a space (URLSearchParams semantics). Returns false on a malformed
 * escape ('%' not followed by two hex digits).
 */
bool	 url_decode(const char *s, size_t n, bool plus_is_space, struct buf *b);

enum qs_err {
	QS_OK,
	QS_BAD_ESCAPE,		/* malformed percent-encoding */
	QS_DUPLICATE,		/* a known parameter given twice */
	QS_NOMEM,
	QS__MAX
};

/* The parameters tRPC reads from a query string. */
struct qs_params {
	bool		 has_batch;
	struct buf	 batch;		/* decoded value of "batch" */
	bool		 has_input;
	struct buf	 input;		/* decoded value of "input" */
};

void	 qs_params_init(struct qs_params *);
void	 qs_params_free(struct qs_params *);
/*
 * Parse a query string (without '?') into p. Unknown parameters are
 * ignored, as tRPC ignores them. On QS_DUPLICATE, *which names it.
 */
enum qs_err qs_parse(const char *qs, size_t n, struct qs_params *p,
	    const char **which);

/*
 * Format milliseconds since the epoch as ISO 8601 UTC with milliseconds
 * ("2025-11-05T12:00:00.000Z"). Returns false when the year falls outside
 * 0000..9999, which that format cannot express.
 */
#define ISOTIME_LEN 24
bool	 isotime_format(int64_t ms, char out[ISOTIME_LEN + 1]);

/*
 * Decode base64url (RFC 4648 section 5; '=' padding optional) of n bytes,
 * appending to b. Returns false on a character outside the alphabet or an
 * impossible length.
 */
bool	 b64url_decode(const char *s, size_t n, struct buf *b);

/*
 * Whether s (n bytes) is base64url in its one canonical spelling, as a
 * JWS part must be (RFC 7515 section 2): the alphabet only, no padding, a
 * possible length and the unused bits of the last character zero.
 */
bool	 b64url_canonical(const char *s, size_t n);

/*
 * Whether an Accept-Language header prefers English to Russian: the highest
 * q of an "en" range is above the highest q of a "ru" range (RFC 9110
 * 12.5.4; region subtags ignored, "*" and other languages ignored).
 */
bool	 accept_lang_prefers_en(const char *header);

/*
 * Strict decimal integer parse of a whole string into [min, max].
 * Returns false on junk, overflow or range (no atoi anywhere).
 */
bool	 parse_int_range(const char *s, long long min, long long max,
	    long long *out);

#endif
