/* b64url.h - base64url (RFC 4648 section 5): decoding, canonical check. */
#ifndef CS_B64URL_H
#define CS_B64URL_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

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

#endif
