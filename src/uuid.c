/* uuid.c - UUIDs as zod checks them, in canonical lower case. */
#include "config.h"

#include "hex.h"
#include "uuid.h"

bool
uuid_canon(const char *s, size_t n, char out[UUID_STRLEN + 1])
{
	size_t i;

	if (n != UUID_STRLEN)
		return false;
	for (i = 0; i < UUID_STRLEN; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
		} else if (hexval(c) < 0)
			return false;
		if (out != NULL)
			out[i] = (c >= 'A' && c <= 'F') ? (char)(c + 32) :
			    (char)c;
	}
	if (out != NULL)
		out[UUID_STRLEN] = '\0';
	return true;
}
