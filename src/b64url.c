/* b64url.c - base64url (RFC 4648 section 5): decoding, canonical check. */
#include "config.h"

#include <stdint.h>

#include "b64url.h"

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

bool
b64url_decode(const char *s, size_t n, struct buf *b)
{
	uint32_t	 acc = 0;
	size_t		 i, bits = 0;
	int		 v;

	while (n > 0 && s[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return false;
	for (i = 0; i < n; i++) {
		if ((v = b64val((unsigned char)s[i])) < 0)
			return false;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_putc(b, (char)((acc >> bits) & 0xff));
		}
	}
	return buf_ok(b);
}

bool
b64url_canonical(const char *s, size_t n)
{
	size_t	 i;
	int	 last;

	if (n % 4 == 1)
		return false;
	for (i = 0; i < n; i++)
		if (b64val((unsigned char)s[i]) < 0)
			return false;
	if (n == 0)
		return true;
	last = b64val((unsigned char)s[n - 1]);
	/* The bits past the last whole byte: 4 after 2 characters, 2 after
	 * 3 (RFC 4648 section 3.5: a canonical encoding has them zero). */
	switch (n % 4) {
	case 2:
		return (last & 0x0f) == 0;
	case 3:
		return (last & 0x03) == 0;
	default:
		return true;
	}
}
