/* query.c - percent-decoding and the query-string parameters tRPC reads. */
#include "config.h"

#include <string.h>

#include "hex.h"
#include "query.h"

bool
url_decode(const char *s, size_t n, bool plus_is_space, struct buf *b)
{
	size_t	 i, run = 0;
	int	 hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] != '%' && !(plus_is_space && s[i] == '+')) {
			run++;
			continue;
		}
		buf_append(b, s + i - run, run);
		run = 0;
		if (s[i] == '+') {
			buf_putc(b, ' ');
			continue;
		}
		if (n - i < 3 || (hi = hexval((unsigned char)s[i + 1])) < 0 ||
		    (lo = hexval((unsigned char)s[i + 2])) < 0)
			return false;
		buf_putc(b, (char)(hi << 4 | lo));
		i += 2;
	}
	buf_append(b, s + n - run, run);
	/* An empty result still leaves a valid (empty) C string. */
	if (b->data == NULL)
		buf_append(b, "", 0);
	return buf_ok(b);
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

enum qs_err
qs_parse(const char *qs, size_t n, struct qs_params *p, const char **which)
{
	size_t		 pos = 0, end, eq, klen;
	struct buf	 key;
	struct buf	*dst;
	bool		*flag;
	enum qs_err	 rc = QS_OK;

	buf_init(&key);
	while (pos < n && rc == QS_OK) {
		for (end = pos; end < n && qs[end] != '&'; end++)
			;
		for (eq = pos; eq < end && qs[eq] != '='; eq++)
			;
		buf_reset(&key);
		klen = eq - pos;
		if (!url_decode(qs + pos, klen, true, &key)) {
			rc = buf_ok(&key) ? QS_BAD_ESCAPE : QS_NOMEM;
			break;
		}
		dst = NULL;
		flag = NULL;
		if (key.len == 5 && memcmp(key.data, "batch", 5) == 0) {
			dst = &p->batch;
			flag = &p->has_batch;
			*which = "batch";
		} else if (key.len == 5 && memcmp(key.data, "input", 5) == 0) {
			dst = &p->input;
			flag = &p->has_input;
			*which = "input";
		}
		if (dst != NULL) {
			if (*flag)
				rc = QS_DUPLICATE;
			else if (!url_decode(qs + eq + (eq < end), end - eq -
			    (eq < end), true, dst))
				rc = buf_ok(dst) ? QS_BAD_ESCAPE : QS_NOMEM;
			else
				*flag = true;
		} else {
			/* Still reject malformed escapes in ignored values. */
			buf_reset(&key);
			if (!url_decode(qs + eq + (eq < end), end - eq -
			    (eq < end), true, &key))
				rc = buf_ok(&key) ? QS_BAD_ESCAPE : QS_NOMEM;
		}
		pos = end + 1;
	}
	buf_free(&key);
	return rc;
}
