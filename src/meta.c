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
	return 0;
}
