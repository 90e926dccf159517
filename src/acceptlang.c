/* acceptlang.c - the one Accept-Language question the status message asks. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acceptlang.h"

/* The q-value (0..1000) of a language range whose parameters run from p
 * (at ';' or end) to end; 1000 when none is given. */
static int
qvalue(const char *p, const char *end)
{
	char	*e;
	double	 v;

	while (p < end) {
		for (p++; p < end && (*p == ' ' || *p == '\t'); p++)
			;
		if (end - p >= 2 && (*p == 'q' || *p == 'Q') && p[1] == '=') {
			v = strtod(p + 2, &e);
			if (e == p + 2 || e > end || !(v >= 0))
				return 0;
			return v >= 1 ? 1000 : (int)(v * 1000 + 0.5);
		}
		while (p < end && *p != ';')
			p++;
	}
	return 1000;
}

bool
accept_lang_prefers_en(const char *h)
{
	int		 en = 0, ru = 0, q;
	const char	*item, *end, *semi;
	size_t		 n;

	if (h == NULL)
		return false;
	for (item = h; *item != '\0'; item = *end ? end + 1 : end) {
		for (end = item; *end != '\0' && *end != ','; end++)
			;
		while (item < end && (*item == ' ' || *item == '\t'))
			item++;
		for (semi = item; semi < end && *semi != ';'; semi++)
			;
		for (n = 0; item + n < semi && item[n] != '-' && item[n] != ' ';
		    n++)
			;
		q = qvalue(semi, end);
		if (n == 2 && strncasecmp(item, "en", 2) == 0 && q > en)
			en = q;
		else if (n == 2 && strncasecmp(item, "ru", 2) == 0 && q > ru)
			ru = q;
	}
	return en > ru;
}
