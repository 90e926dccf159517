/*
 * genstate.c - the generation state machine, progress, messages and ETA.
 * Pure functions: every input arrives typed, nothing here does I/O.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "genstate.h"

/* JavaScript's Number.isSafeInteger bound: integers the client reads exactly. */
#define SAFE_INT 9007199254740991.0

static const char *const status_names[GS__MAX] = {
	"idle", "queued", "generating", "completed", "failed", "cancelled",
};

static const char *const phase_names[GP__MAX] = {
	"metadata", "sections", "validation", "saving",
};

/* The contract's messages, exactly (section 4.2), and the same in English.
 * The sections message takes a percentage: its entry is the text before the
 * number, sections_tail the text after it (gen_message()). */
static const char *const messages[GL__MAX][GM__MAX] = {
	[GL_RU] = {
		"Генерация не начата",
		"Ожидание в очереди",
		"Генерация метаданных курса",
		"Генерация секций (",
		"Проверка качества",
		"Сохранение результатов",
		"Генерация завершена",
		"Ошибка генерации",
		"Генерация отменена",
	},
	[GL_EN] = {
		"Generation not started",
		"Waiting in queue",
		"Generating course metadata",
		"Generating sections (",
		"Checking quality",
		"Saving results",
		"Generation complete",
		"Generation failed",
		"Generation cancelled",
	},
};

static const char *const sections_tail[GL__MAX] = {
	[GL_RU] = "% завершено)",
	[GL_EN] = "% complete)",
};

bool
gen_status_parse(const char *s, bool is_null, enum gen_status *out)
{
	int i;

	if (is_null) {
		*out = GS_IDLE;
		return true;
	}
	for (i = 0; i < GS__MAX; i++)
		if (strcmp(s, status_names[i]) == 0) {
			*out = (enum gen_status)i;
			return true;
		}
	return false;
}

const char *
gen_status_name(enum gen_status s)
{
	return s < GS__MAX ? status_names[s] : "idle";
}

const char *
gen_phase_name(enum gen_phase p)
{
	return p < GP__MAX ? phase_names[p] : NULL;
}

enum gen_phase
gen_phase_parse(const char *s, size_t n)
{
	int i;

	for (i = 0; i < GP__MAX; i++)
		if (strlen(phase_names[i]) == n && memcmp(s, phase_names[i], n) == 0)
			return (enum gen_phase)i;
	return GP_NONE;
}

/* A number that is an integer JavaScript represents exactly. */
static bool
is_safe_int(const struct opt_num *n)
{
	return n->set && n->v == floor(n->v) && fabs(n->v) <= SAFE_INT;
}

/* Copy an optional integer field; a present non-integer is dropped. */
static void
take_int(const struct opt_num *in, struct opt_int *out, unsigned *dropped,
    unsigned bit)
{
	out->set = false;
	if (!in->set)
		return;
	if (is_safe_int(in)) {
		out->set = true;
		out->v = (int64_t)in->v;
	} else
		*dropped |= bit;
}

/* qualityScore must lie in 0..1 (output schema). */
static void
take_quality(const struct gen_meta *m, struct gen_state *st)
{
	st->quality_score.set = false;
	if (!m->quality_overall.set)
		return;
	if (m->quality_overall.v >= 0 && m->quality_overall.v <= 1)
		st->quality_score = m->quality_overall;
	else
		st->dropped |= GD_QUALITY;
}

/*
 * doc/decisions.md, D4: the phase is the furthest one shown by either
 * signal, the worker's last_phase or the latest phase with a positive duration.
 */
static enum gen_phase
current_phase(const struct gen_meta *m)
{
	enum gen_phase	 p = GP_METADATA;
	int		 i;

	for (i = GP__MAX - 1; i >= 0; i--)
		if (m->duration[i].set && m->duration[i].v > 0) {
			p = (enum gen_phase)i;
			break;
		}
	if (m->last_phase != GP_NONE && m->last_phase > p)
		p = m->last_phase;
	return p;
}

/* Round half up, as Math.round does for non-negative values. */
static int
round_half_up(double v)
{
	return (int)floor(v + 0.5);
}

int64_t
gen_eta_seconds(double p, double e)
{
	double rate, a, b, eta;

	if (!(p >= 0))
		p = 0;
	if (p > 100)
		p = 100;
	if (!(e >= 0))
		e = 0;
	a = e / (p > GEN_ETA_MIN_PROGRESS ? p : GEN_ETA_MIN_PROGRESS);
	b = (GEN_ETA_NOMINAL_S / 100.0) *
	    (p < GEN_ETA_MIN_PROGRESS ?
	    (GEN_ETA_MIN_PROGRESS - p) / GEN_ETA_MIN_PROGRESS : 0);
	rate = a > b ? a : b;
	eta = ceil((100.0 - p) * rate - 1e-9);
	if (!(eta >= 0))
		return 0;
	if (eta > 2147483647.0)
		return 2147483647;
	return (int64_t)eta;
}

static void
compute_generating(const struct gen_meta *m, int64_t elapsed_ms,
    struct gen_state *st)
{
	int64_t	 total = GEN_DEFAULT_BATCHES, done = 0, num;

	/* doc/decisions.md, D5: a count from a document anyone may have written. */
	if (is_safe_int(&m->total_batches) && m->total_batches.v > 0 &&
	    m->total_batches.v <= 1000000)
		total = (int64_t)m->total_batches.v;
	else if (m->total_batches.set)
		st->dropped |= GD_BATCHES;
	if (is_safe_int(&m->batch_count)) {
		if (m->batch_count.v >= (double)total)
			done = total;
		else if (m->batch_count.v > 0)
			done = (int64_t)m->batch_count.v;
	} else if (m->batch_count.set)
		st->dropped |= GD_BATCHES;

	st->phase = current_phase(m);
	switch (st->phase) {
	case GP_SECTIONS:
		/* 10 + 70 * done / total, rounded once, in integers. */
		num = 10 * total + 70 * done;
		st->progress_exact = (double)num / (double)total;
		st->progress = (int)((2 * num + total) / (2 * total));
		st->msg = GM_SECTIONS;
		st->msg_percent = (int)(100 * done / total);
		break;
	case GP_VALIDATION:
		st->progress_exact = 87.5;
		st->progress = round_half_up(87.5);
		st->msg = GM_VALIDATION;
		break;
	case GP_SAVING:
		st->progress_exact = 97.5;
		st->progress = round_half_up(97.5);
		st->msg = GM_SAVING;
		break;
	case GP_METADATA:
	default:
		st->phase = GP_METADATA;
		st->progress_exact = 0;
		st->progress = 0;
		st->msg = GM_METADATA;
		break;
	}
	/* doc/decisions.md, D1: never 100 before completed; the phases above
	 * give at most 98 (saving), so no clamp is needed here. */

	st->metadata_null = false;
	st->batches_completed.set = st->total_batches.set = true;
	st->batches_completed.v = done;
	st->total_batches.v = total;
	/*
	 * doc/decisions.md, D6: the model of the current phase, or model_used
	 * itself.
	 */
	if (m->model_by_phase[st->phase].s != NULL)
		st->current_model = m->model_by_phase[st->phase];
	else if (m->model_used.s != NULL)
		st->current_model = m->model_used;
	take_quality(m, st);

	st->eta_set = true;
	st->eta_seconds = gen_eta_seconds(st->progress_exact,
	    (double)(elapsed_ms > 0 ? elapsed_ms : 0) / 1000.0);
}

int64_t
gen_started_ms(const struct gen_meta *m, int64_t created_ms)
{
	return m->started_set ? m->started_ms : created_ms;
}

void
gen_state_compute(enum gen_status status, const struct gen_meta *m,
    int64_t elapsed_ms, struct gen_state *st)
{
	memset(st, 0, sizeof(*st));
	st->status = status;
	st->phase = GP_NONE;
	st->metadata_null = true;

	switch (status) {
	case GS_IDLE:
		st->msg = GM_IDLE;
		break;
	case GS_QUEUED:
		st->msg = GM_QUEUED;
		break;
	case GS_GENERATING:
		compute_generating(m, elapsed_ms, st);
		break;
	case GS_COMPLETED:
		st->phase = GP_SAVING;
		st->progress = 100;
		st->progress_exact = 100;
		st->msg = GM_COMPLETED;
		st->metadata_null = false;
		take_int(&m->total_lessons, &st->total_lessons, &st->dropped,
		    GD_LESSONS);
		take_int(&m->total_sections, &st->total_sections, &st->dropped,
		    GD_SECTIONS);
		if (m->cost_usd.set)
			st->cost = m->cost_usd;
		take_int(&m->duration_total, &st->duration, &st->dropped,
		    GD_DURATION);
		take_quality(m, st);
		break;
	case GS_FAILED:
		st->phase = m->last_phase;
		if (m->last_progress.set) {
			double v = m->last_progress.v;

			st->progress = v <= 0 ? 0 : v >= 99 ? 99 :
			    round_half_up(v);
			if (v < 0 || v > 100)
				st->dropped |= GD_PROGRESS;
		}
		st->progress_exact = st->progress;
		st->msg = GM_FAILED;
		st->metadata_null = false;
		st->error = m->error_message;
		st->has_retryable = true;
		st->retryable = m->retryable;
		break;
	case GS_CANCELLED:
	case GS__MAX:
	default:
		st->status = GS_CANCELLED;
		st->msg = GM_CANCELLED;
		break;
	}
}

size_t
gen_message(const struct gen_state *st, enum gen_lang lang, char *out,
    size_t outsz)
{
	int n;

	if (lang >= GL__MAX)
		lang = GL_RU;
	if (st->msg == GM_SECTIONS)
		n = snprintf(out, outsz, "%s%d%s", messages[lang][GM_SECTIONS],
		    st->msg_percent, sections_tail[lang]);
	else
		n = snprintf(out, outsz, "%s", messages[lang][st->msg < GM__MAX ?
		    st->msg : GM_IDLE]);
	return n < 0 ? 0 : (size_t)n;
}
