/* meta.c - read generation_metadata (JSON text) into a typed gen_meta. */
#include "config.h"

#include <string.h>

#include "json.h"
#include "meta.h"

static void
num(struct jref v, struct opt_num *out)
{
	out->set = jref_number(v, &out->v);
}

static void
str(struct jref v, struct opt_str *out)
{
	out->s = jref_string(v, &out->len);
	if (out->s == NULL)
		out->len = 0;
}

/* n decimal digits at s into *v; false unless all are digits. */
static bool
digits(const char *s, size_t n, int *v)
{
	size_t	i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t
days_from_civil(int y, int m, int d)
{
	int64_t	 era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

bool
meta_parse_time(const char *s, size_t n, int64_t *ms)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };
	int		 y, mo, d, h, mi, sec, frac = 0, oh = 0, om = 0, sign;
	size_t		 i = 19, fd = 0;
	bool		 leap;

	if (n < 20 || !digits(s, 4, &y) || s[4] != '-' ||
	    !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != ' ') || !digits(s + 11, 2, &h) ||
	    s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &sec))
		return false;
	if (s[i] == '.') {
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, fd++)
			if (fd < 3)
				frac = frac * 10 + (s[i] - '0');
		if (fd == 0)
			return false;
		for (; fd < 3; fd++)
			frac *= 10;
	}
	if (i >= n)
		return false;
	if (s[i] == 'Z' || s[i] == 'z') {
		if (i + 1 != n)
			return false;
		sign = 0;
	} else if (s[i] == '+' || s[i] == '-') {
		sign = s[i] == '-' ? -1 : 1;
		i++;
		if (n - i == 2) {
			if (!digits(s + i, 2, &oh))
				return false;
		} else if (n - i == 5 && s[i + 2] == ':') {
			if (!digits(s + i, 2, &oh) || !digits(s + i + 3, 2, &om))
				return false;
		} else if (n - i == 4) {
			if (!digits(s + i, 2, &oh) || !digits(s + i + 2, 2, &om))
				return false;
		} else
			return false;
		if (oh > 15 || om > 59)
			return false;
	} else
		return false;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 59)
		return false;
	*ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + sec;
	*ms -= (int64_t)sign * (oh * 3600 + om * 60);
	*ms = *ms * 1000 + frac;
	return true;
}

int
meta_read(const char *text, size_t len, struct gen_meta *m, struct jdoc **doc)
{
	struct jref	 root, d, mu, q;
	char		 err[96];
	const char	*s;
	size_t		 n;
	int		 i;

	memset(m, 0, sizeof(*m));
	m->last_phase = GP_NONE;
	*doc = NULL;
	if (text == NULL || len == 0)
		return 0;
	/* The column is jsonb, so depth is bounded by PostgreSQL already;
	 * 64 keeps a hostile document from costing more than it should. */
	if (jdoc_parse(text, len, 64, doc, err, sizeof(err)) != 0)
		return -1;
	root = jdoc_root(*doc);
	if (jref_type(root) != JT_OBJECT)
		return 0;
	m->present = true;
	num(jref_get(root, "batch_count"), &m->batch_count);
	num(jref_get(root, "total_batches"), &m->total_batches);
	num(jref_get(root, "last_progress"), &m->last_progress);
	num(jref_get(root, "total_lessons"), &m->total_lessons);
	num(jref_get(root, "total_sections"), &m->total_sections);
	num(jref_get(root, "cost_usd"), &m->cost_usd);

	d = jref_get(root, "duration_ms");
	num(jref_get(d, "total"), &m->duration_total);
	mu = jref_get(root, "model_used");
	str(mu, &m->model_used);
	for (i = 0; i < GP__MAX; i++) {
		const char *pn = gen_phase_name((enum gen_phase)i);

		num(jref_get(d, pn), &m->duration[i]);
		str(jref_get(mu, pn), &m->model_by_phase[i]);
	}
	q = jref_get(root, "quality_scores");
	num(jref_get(q, "overall"), &m->quality_overall);

	if ((s = jref_string(jref_get(root, "last_phase"), &n)) != NULL)
		m->last_phase = gen_phase_parse(s, n);
	str(jref_get(root, "error_message"), &m->error_message);
	m->retryable = jref_is_true(jref_get(root, "retryable"));
	if ((s = jref_string(jref_get(root, "started_at"), &n)) != NULL)
		m->started_set = meta_parse_time(s, n, &m->started_ms);
	return 0;
}
