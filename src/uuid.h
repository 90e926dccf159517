/* uuid.h - UUIDs as zod checks them, in canonical lower case. */
#ifndef CS_UUID_H
#define CS_UUID_H

#include <stdbool.h>
#include <stddef.h>

#define UUID_STRLEN 36

/*
 * Check that s (n bytes) is a UUID as zod's z.string().uuid() accepts it:
 * 8-4-4-4-12 hexadecimal digits, any case. On success writes the canonical
 * lower-case form (37 bytes with the NUL) into out, if out is not NULL.
 */
bool	 uuid_canon(const char *s, size_t n, char out[UUID_STRLEN + 1]);

#endif
