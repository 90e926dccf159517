/* render.c - the getStatus output object (contract section 5) as JSON. */
#include "config.h"

#include "isotime.h"
#include "json.h"
#include "render.h"

static void
opt_int(struct jw *w, const char *key, const struct opt_int *v)
{
	if (v->set) {
		jw_key(w, key);
		jw_int(w, v->v);
	}
}

static void
opt_num(struct jw *w, const char *key, const struct opt_num *v)
{
	if (v->set) {
		jw_key(w, key);
		jw_num(w, v->v);
	}
}

static void
opt_str(struct jw *w, const char *key, const struct opt_str *v)
{
	if (v->s != NULL) {
		jw_key(w, key);
		jw_strn(w, v->s, v->len);
	}
}

bool
render_status(const char *course_id, const struct gen_state *st,
    enum gen_lang lang, int64_t created_ms, int64_t updated_ms,
    struct buf *out)
{
	struct jw	 w;
	char		 started[ISOTIME_LEN + 1], updated[ISOTIME_LEN + 1];
	char		 msg[128];
	const char	*phase = gen_phase_name(st->phase);

	if (!isotime_format(created_ms, started) ||
	    !isotime_format(updated_ms, updated))
		return false;
	gen_message(st, lang, msg, sizeof(msg));

	jw_init(&w, out, JW_COMPACT);
	jw_obj_open(&w);
	jw_key(&w, "courseId");
	jw_str(&w, course_id);
	jw_key(&w, "status");
	jw_str(&w, gen_status_name(st->status));
	jw_key(&w, "phase");
	if (phase != NULL)
		jw_str(&w, phase);
	else
		jw_null(&w);
	jw_key(&w, "progress");
	jw_int(&w, st->progress);
	jw_key(&w, "message");
	jw_str(&w, msg);
	jw_key(&w, "estimatedRemainingSeconds");
	if (st->eta_set)
		jw_int(&w, st->eta_seconds);
	else
		jw_null(&w);
	jw_key(&w, "startedAt");
	jw_str(&w, started);
	jw_key(&w, "lastUpdatedAt");
	jw_str(&w, updated);
	jw_key(&w, "metadata");
	if (st->metadata_null)
		jw_null(&w);
	else {
		jw_obj_open(&w);
		opt_int(&w, "batchesCompleted", &st->batches_completed);
		opt_int(&w, "totalBatches", &st->total_batches);
		opt_str(&w, "currentModel", &st->current_model);
		if (st->status == GS_GENERATING)
			opt_num(&w, "qualityScore", &st->quality_score);
		opt_int(&w, "totalLessons", &st->total_lessons);
		opt_int(&w, "totalSections", &st->total_sections);
		opt_num(&w, "cost", &st->cost);
		opt_int(&w, "duration", &st->duration);
		if (st->status == GS_COMPLETED)
			opt_num(&w, "qualityScore", &st->quality_score);
		opt_str(&w, "error", &st->error);
		if (st->has_retryable) {
			jw_key(&w, "retryable");
			jw_bool(&w, st->retryable);
		}
		jw_obj_close(&w);
	}
	jw_obj_close(&w);
	return buf_ok(out);
}
