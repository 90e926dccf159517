/* text.c - pure text helpers: UUIDs, percent-decoding, query strings, times. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "text.h"

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

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

/* Civil date from days since 1970-01-01 (Howard Hinnant's algorithm). */
static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t		 era, yy;
	unsigned	 doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yy + (*m <= 2);
}

bool
isotime_format(int64_t ms, char out[ISOTIME_LEN + 1])
{
	int64_t		 days, rem, y;
	unsigned	 mo, d, h, mi, s, msec;
	static const int64_t day_ms = 86400000;

	/* Year 0000-01-01 is -62167219200000 ms; 9999-12-31T23:59:59.999
	 * is 253402300799999 ms. */
	if (ms < INT64_C(-62167219200000) || ms > INT64_C(253402300799999))
		return false;
	days = ms / day_ms;
	rem = ms % day_ms;
	if (rem < 0) {
		rem += day_ms;
		days--;
	}
	civil_from_days(days, &y, &mo, &d);
	h = (unsigned)(rem / 3600000);
	mi = (unsigned)(rem / 60000 % 60);
	s = (unsigned)(rem / 1000 % 60);
	msec = (unsigned)(rem % 1000);
	out[0] = (char)('0' + y / 1000);
	out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10);
	out[3] = (char)('0' + y % 10);
	out[4] = '-';
	out[5] = (char)('0' + mo / 10);
	out[6] = (char)('0' + mo % 10);
	out[7] = '-';
	out[8] = (char)('0' + d / 10);
	out[9] = (char)('0' + d % 10);
	out[10] = 'T';
	out[11] = (char)('0' + h / 10);
	out[12] = (char)('0' + h % 10);
	out[13] = ':';
	out[14] = (char)('0' + mi / 10);
	out[15] = (char)('0' + mi % 10);
	out[16] = ':';
	out[17] = (char)('0' + s / 10);
	out[18] = (char)('0' + s % 10);
	out[19] = '.';
	out[20] = (char)('0' + msec / 100);
	out[21] = (char)('0' + msec / 10 % 10);
	out[22] = (char)('0' + msec % 10);
	out[23] = 'Z';
	out[24] = '\0';
	return true;
}

bool
parse_int_range(const char *s, long long min, long long max, long long *out)
{
	char		*end;
	long long	 v;

	if (s == NULL || *s == '\0' || (*s != '-' && (*s < '0' || *s > '9')))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

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
