/* query.c - percent-decoding and the query-string parameters tRPC reads. */
#include "config.h"

#include <sys/types.h>

#include <string.h>

#include "hex.h"
#include "query.h"

/*
 * Percent-decode n bytes into out (at most n bytes; NULL: only check).
 * Returns the decoded length, or -1 on a malformed escape.
 */
static ssize_t
pct_decode(const char *s, size_t n, bool plus_is_space, char *out)
{
	size_t	 i, o = 0;
	int	 hi, lo;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			if (n - i < 3 ||
			    (hi = hexval((unsigned char)s[i + 1])) < 0 ||
			    (lo = hexval((unsigned char)s[i + 2])) < 0)
				return -1;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_is_space)
			c = ' ';
		if (out != NULL)
			out[o] = c;
		o++;
	}
	return (ssize_t)o;
}

bool
url_decode(const char *s, size_t n, bool plus_is_space, struct buf *b)
{
	char	*room;
	ssize_t	 got;

	/* Never longer than the input: one reservation, no per-byte call. */
	if ((room = buf_space(b, n)) == NULL)
		return false;
	if ((got = pct_decode(s, n, plus_is_space, room)) < 0) {
		room[0] = '\0';
		return false;
	}
	buf_commit(b, (size_t)got);
	return true;
}

void
qs_params_init(struct qs_params *p)
{
	p->has_batch = p->has_input = false;
	buf_init(&p->batch);
	buf_init(&p->input);
}

void
qs_params_free(struct qs_params *p)
{
	buf_free(&p->batch);
	buf_free(&p->input);
	p->has_batch = p->has_input = false;
}

/*
 * The value of the parameter named by the n encoded bytes at key, or NULL
 * when it is not one tRPC reads. QS_BAD_ESCAPE in *rc for a bad escape.
 */
static const char *
qs_known(const char *key, size_t n, enum qs_err *rc)
{
	char	 k[16];
	ssize_t	 got;

	/* A name of five bytes is at most 15 encoded ones ("%62atch"). */
	got = pct_decode(key, n, true, n < sizeof(k) ? k : NULL);
	if (got < 0) {
		*rc = QS_BAD_ESCAPE;
		return NULL;
	}
	if (got != 5 || n >= sizeof(k))
		return NULL;
	if (memcmp(k, "batch", 5) == 0)
		return "batch";
	if (memcmp(k, "input", 5) == 0)
		return "input";
	return NULL;
}

enum qs_err
qs_parse(const char *qs, size_t n, struct qs_params *p, const char **which)
{
	size_t		 pos = 0, end, eq;
	const char	*name, *val;
	size_t		 vlen;
	struct buf	*dst;
	bool		*flag;
	enum qs_err	 rc = QS_OK;

	while (pos < n && rc == QS_OK) {
		for (end = pos; end < n && qs[end] != '&'; end++)
			;
		for (eq = pos; eq < end && qs[eq] != '='; eq++)
			;
		val = qs + eq + (eq < end);
		vlen = end - eq - (eq < end);
		if ((name = qs_known(qs + pos, eq - pos, &rc)) == NULL) {
			/* Still reject malformed escapes in ignored values. */
			if (rc == QS_OK && pct_decode(val, vlen, true, NULL) < 0)
				rc = QS_BAD_ESCAPE;
			pos = end + 1;
			continue;
		}
		*which = name;
		if (strcmp(name, "batch") == 0) {
			dst = &p->batch;
			flag = &p->has_batch;
		} else {
			dst = &p->input;
			flag = &p->has_input;
		}
		if (*flag)
			rc = QS_DUPLICATE;
		else if (!url_decode(val, vlen, true, dst))
			rc = buf_ok(dst) ? QS_BAD_ESCAPE : QS_NOMEM;
		else
			*flag = true;
		pos = end + 1;
	}
	return rc;
}
