/*
 * check_genstate.c - the state machine, progress, messages, metadata and
 * ETA, through meta_read() and render_status() as the service runs them.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "genstate.h"
#include "json.h"
#include "meta.h"
#include "render.h"

#define SUITE_NAME "genstate"
#include "check_main.h"

#define ID "123e4567-e89b-12d3-a456-426614174000"
#define T0 INT64_C(1762344000000)	/* 2025-11-05T12:00:00.000Z */
#define T1 INT64_C(1762344075000)	/* 2025-11-05T12:01:15.000Z */

static const struct {
	const char	*status;	/* NULL: SQL NULL */
	const char	*meta;		/* NULL: SQL NULL */
	int64_t		 elapsed_ms;
	const char	*phase;		/* JSON: "\"sections\"" or "null" */
	int		 progress;
	const char	*message;
	const char	*eta;		/* JSON: "92" or "null" */
	const char	*metadata;	/* JSON */
} cases[] = {
	/* 0: doc/decisions.md, D12, a NULL status is idle */
	{ NULL, NULL, 0, "null", 0, "Генерация не начата", "null", "null" },
	{ "idle", "{\"batch_count\":3}", 0, "null", 0, "Генерация не начата", "null", "null" },
	{ "queued", NULL, 5000, "null", 0, "Ожидание в очереди", "null", "null" },
	/* 3: doc/decisions.md, D3, generating before any metadata */
	{ "generating", NULL, 0, "\"metadata\"", 0, "Генерация метаданных курса", "150",
	  "{\"batchesCompleted\":0,\"totalBatches\":8}" },
	{ "generating", "{}", 30000, "\"metadata\"", 0, "Генерация метаданных курса", "300",
	  "{\"batchesCompleted\":0,\"totalBatches\":8}" },
	{ "generating", "[1,2]", 0, "\"metadata\"", 0, "Генерация метаданных курса", "150",
	  "{\"batchesCompleted\":0,\"totalBatches\":8}" },
	/* 6: the contract's generating example */
	{ "generating", "{\"batch_count\":4,\"total_batches\":8,\"last_phase\":\"sections\","
	  "\"model_used\":{\"sections\":\"openai/gpt-oss-20b\"},\"quality_scores\":{\"overall\":0.87}}",
	  75000, "\"sections\"", 45, "Генерация секций (50% завершено)", "92",
	  "{\"batchesCompleted\":4,\"totalBatches\":8,\"currentModel\":\"openai/gpt-oss-20b\",\"qualityScore\":0.87}" },
	/* 7: doc/decisions.md, D1 and D2: 36.25 rounds to 36, the message says 37% */
	{ "generating", "{\"batch_count\":3,\"total_batches\":8,\"last_phase\":\"sections\"}",
	  36250, "\"sections\"", 36, "Генерация секций (37% завершено)", "64",
	  "{\"batchesCompleted\":3,\"totalBatches\":8}" },
	{ "generating", "{\"batch_count\":0,\"total_batches\":8,\"last_phase\":\"sections\"}",
	  10000, "\"sections\"", 10, "Генерация секций (0% завершено)", "90",
	  "{\"batchesCompleted\":0,\"totalBatches\":8}" },
	{ "generating", "{\"batch_count\":8,\"total_batches\":8,\"last_phase\":\"sections\"}",
	  80000, "\"sections\"", 80, "Генерация секций (100% завершено)", "20",
	  "{\"batchesCompleted\":8,\"totalBatches\":8}" },
	/* 10: doc/decisions.md, D5: counts past the total are clamped */
	{ "generating", "{\"batch_count\":12,\"total_batches\":8,\"last_phase\":\"sections\"}",
	  80000, "\"sections\"", 80, "Генерация секций (100% завершено)", "20",
	  "{\"batchesCompleted\":8,\"totalBatches\":8}" },
	{ "generating", "{\"batch_count\":-2,\"last_phase\":\"sections\"}",
	  10000, "\"sections\"", 10, "Генерация секций (0% завершено)", "90",
	  "{\"batchesCompleted\":0,\"totalBatches\":8}" },
	/* 12: zero, missing and mistyped totals mean 8 */
	{ "generating", "{\"batch_count\":2,\"total_batches\":0,\"last_phase\":\"sections\"}",
	  27500, "\"sections\"", 28, "Генерация секций (25% завершено)", "73",
	  "{\"batchesCompleted\":2,\"totalBatches\":8}" },
	{ "generating", "{\"batch_count\":2,\"last_phase\":\"sections\"}",
	  27500, "\"sections\"", 28, "Генерация секций (25% завершено)", "73",
	  "{\"batchesCompleted\":2,\"totalBatches\":8}" },
	{ "generating", "{\"batch_count\":\"3\",\"total_batches\":\"4\",\"last_phase\":\"sections\"}",
	  10000, "\"sections\"", 10, "Генерация секций (0% завершено)", "90",
	  "{\"batchesCompleted\":0,\"totalBatches\":8}" },
	{ "generating", "{\"batch_count\":2.5,\"total_batches\":8,\"last_phase\":\"sections\"}",
	  10000, "\"sections\"", 10, "Генерация секций (0% завершено)", "90",
	  "{\"batchesCompleted\":0,\"totalBatches\":8}" },
	/* 16: thirds: 33.33 -> 33 (33%), 56.67 -> 57 (66%) */
	{ "generating", "{\"batch_count\":1,\"total_batches\":3,\"last_phase\":\"sections\"}",
	  33333, "\"sections\"", 33, "Генерация секций (33% завершено)", "67",
	  "{\"batchesCompleted\":1,\"totalBatches\":3}" },
	{ "generating", "{\"batch_count\":2,\"total_batches\":3,\"last_phase\":\"sections\"}",
	  0, "\"sections\"", 57, "Генерация секций (66% завершено)", "0",
	  "{\"batchesCompleted\":2,\"totalBatches\":3}" },
	/* 18: validation 87.5 -> 88, saving 97.5 -> 98 */
	{ "generating", "{\"last_phase\":\"validation\"}", 87500, "\"validation\"", 88,
	  "Проверка качества", "13", "{\"batchesCompleted\":0,\"totalBatches\":8}" },
	{ "generating", "{\"duration_ms\":{\"metadata\":1,\"sections\":2,\"saving\":3}}", 97500,
	  "\"saving\"", 98, "Сохранение результатов", "3",
	  "{\"batchesCompleted\":0,\"totalBatches\":8}" },
	/* 20: doc/decisions.md, D4: the furthest of the two signals wins */
	{ "generating", "{\"last_phase\":\"sections\",\"duration_ms\":{\"validation\":5}}", 87500,
	  "\"validation\"", 88, "Проверка качества", "13",
	  "{\"batchesCompleted\":0,\"totalBatches\":8}" },
	{ "generating", "{\"last_phase\":\"validation\",\"duration_ms\":{\"sections\":5}}", 87500,
	  "\"validation\"", 88, "Проверка качества", "13",
	  "{\"batchesCompleted\":0,\"totalBatches\":8}" },
	{ "generating", "{\"last_phase\":\"bogus\",\"duration_ms\":{\"sections\":0}}", 0,
	  "\"metadata\"", 0, "Генерация метаданных курса", "150",
	  "{\"batchesCompleted\":0,\"totalBatches\":8}" },
	{ "generating", "{\"duration_ms\":{\"metadata\":1200,\"sections\":\"x\"}}", 0,
	  "\"metadata\"", 0, "Генерация метаданных курса", "150",
	  "{\"batchesCompleted\":0,\"totalBatches\":8}" },
	/* 24: doc/decisions.md, D6: currentModel */
	{ "generating", "{\"model_used\":\"m-plain\"}", 0, "\"metadata\"", 0,
	  "Генерация метаданных курса", "150",
	  "{\"batchesCompleted\":0,\"totalBatches\":8,\"currentModel\":\"m-plain\"}" },
	{ "generating", "{\"model_used\":{\"metadata\":\"m-meta\",\"sections\":\"m-sec\"}}", 0,
	  "\"metadata\"", 0, "Генерация метаданных курса", "150",
	  "{\"batchesCompleted\":0,\"totalBatches\":8,\"currentModel\":\"m-meta\"}" },
	{ "generating", "{\"last_phase\":\"validation\",\"model_used\":{\"sections\":\"m-sec\"}}",
	  87500, "\"validation\"", 88, "Проверка качества", "13",
	  "{\"batchesCompleted\":0,\"totalBatches\":8}" },
	{ "generating", "{\"model_used\":{\"metadata\":7}}", 0, "\"metadata\"", 0,
	  "Генерация метаданных курса", "150",
	  "{\"batchesCompleted\":0,\"totalBatches\":8}" },
	/* 28: doc/decisions.md, D7: a qualityScore outside 0..1 is left out */
	{ "generating", "{\"quality_scores\":{\"overall\":1.5}}", 0, "\"metadata\"", 0,
	  "Генерация метаданных курса", "150",
	  "{\"batchesCompleted\":0,\"totalBatches\":8}" },
	{ "generating", "{\"quality_scores\":{\"overall\":1}}", 0, "\"metadata\"", 0,
	  "Генерация метаданных курса", "150",
	  "{\"batchesCompleted\":0,\"totalBatches\":8,\"qualityScore\":1}" },
	/* 30: the clock may say the course starts in the future */
	{ "generating", "{}", -5000, "\"metadata\"", 0, "Генерация метаданных курса", "150",
	  "{\"batchesCompleted\":0,\"totalBatches\":8}" },
	/* 31: the contract's completed example; doc/decisions.md, D8: 0.28 stays 0.28 */
	{ "completed", "{\"total_lessons\":24,\"total_sections\":8,\"cost_usd\":0.28,"
	  "\"duration_ms\":{\"total\":150000},\"quality_scores\":{\"overall\":0.88}}", 150000,
	  "\"saving\"", 100, "Генерация завершена", "null",
	  "{\"totalLessons\":24,\"totalSections\":8,\"cost\":0.28,\"duration\":150000,\"qualityScore\":0.88}" },
	{ "completed", NULL, 0, "\"saving\"", 100, "Генерация завершена", "null", "{}" },
	{ "completed", "{\"total_lessons\":2.5,\"total_sections\":\"8\",\"cost_usd\":\"0.28\","
	  "\"duration_ms\":{\"total\":1.5},\"quality_scores\":{\"overall\":-0.1}}", 0,
	  "\"saving\"", 100, "Генерация завершена", "null", "{}" },
	{ "completed", "{\"total_lessons\":24.0,\"cost_usd\":0.30000000000000004}", 0,
	  "\"saving\"", 100, "Генерация завершена", "null",
	  "{\"totalLessons\":24,\"cost\":0.30000000000000004}" },
	/* 35: the contract's failed example */
	{ "failed", "{\"last_phase\":\"sections\",\"last_progress\":35,"
	  "\"error_message\":\"Token budget exceeded, Gemini fallback failed\",\"retryable\":true}",
	  105000, "\"sections\"", 35, "Ошибка генерации", "null",
	  "{\"error\":\"Token budget exceeded, Gemini fallback failed\",\"retryable\":true}" },
	{ "failed", NULL, 0, "null", 0, "Ошибка генерации", "null", "{\"retryable\":false}" },
	{ "failed", "{\"last_progress\":35.5,\"retryable\":\"yes\",\"error_message\":42}", 0,
	  "null", 36, "Ошибка генерации", "null", "{\"retryable\":false}" },
	{ "failed", "{\"last_progress\":100,\"last_phase\":\"saving\"}", 0, "\"saving\"", 99,
	  "Ошибка генерации", "null", "{\"retryable\":false}" },
	{ "failed", "{\"last_progress\":-4,\"error_message\":\"line1\\nline2 \\\"q\\\"\"}", 0,
	  "null", 0, "Ошибка генерации", "null",
	  "{\"error\":\"line1\\nline2 \\\"q\\\"\",\"retryable\":false}" },
	/* 40 */
	{ "cancelled", "{\"last_phase\":\"sections\"}", 0, "null", 0, "Генерация отменена", "null",
	  "null" },
};

START_TEST(test_state)
{
	enum gen_status		 gs;
	struct gen_meta		 m;
	struct gen_state	 st;
	struct jdoc		*doc = NULL;
	struct buf		 out, want;
	const char		*meta = cases[_i].meta;

	ck_assert(gen_status_parse(cases[_i].status ? cases[_i].status : "",
	    cases[_i].status == NULL, &gs));
	ck_assert_int_eq(meta_read(meta, meta ? strlen(meta) : 0, &m, &doc), 0);
	gen_state_compute(gs, &m, cases[_i].elapsed_ms, &st);
	buf_init(&out);
	buf_init(&want);
	ck_assert(render_status(ID, &st, GL_RU, T0, T1, &out));
	buf_printf(&want, "{\"courseId\":\"" ID "\",\"status\":\"%s\",\"phase\":%s,"
	    "\"progress\":%d,\"message\":\"%s\",\"estimatedRemainingSeconds\":%s,"
	    "\"startedAt\":\"2025-11-05T12:00:00.000Z\","
	    "\"lastUpdatedAt\":\"2025-11-05T12:01:15.000Z\",\"metadata\":%s}",
	    cases[_i].status ? cases[_i].status : "idle", cases[_i].phase,
	    cases[_i].progress, cases[_i].message, cases[_i].eta,
	    cases[_i].metadata);
	ck_assert_msg(strcmp(buf_cstr(&out), buf_cstr(&want)) == 0,
	    "case %d:\n got %s\nwant %s", _i, buf_cstr(&out), buf_cstr(&want));
	buf_free(&out);
	buf_free(&want);
	jdoc_free(doc);
}
END_TEST

/* Values the schema would reject are reported so the service logs them. */
START_TEST(test_dropped_reported)
{
	struct gen_meta		 m;
	struct gen_state	 st;
	struct jdoc		*doc;
	const char		*meta = "{\"total_lessons\":2.5,\"quality_scores\":{\"overall\":3}}";

	ck_assert_int_eq(meta_read(meta, strlen(meta), &m, &doc), 0);
	gen_state_compute(GS_COMPLETED, &m, 0, &st);
	ck_assert_uint_eq(st.dropped, GD_LESSONS | GD_QUALITY);
	jdoc_free(doc);
}
END_TEST

static const struct {
	const char	*s;
	bool		 is_null;
	bool		 ok;
	enum gen_status	 want;
} status_cases[] = {
	{ "", true, true, GS_IDLE },
	{ "idle", false, true, GS_IDLE },
	{ "queued", false, true, GS_QUEUED },
	{ "generating", false, true, GS_GENERATING },
	{ "completed", false, true, GS_COMPLETED },
	{ "failed", false, true, GS_FAILED },
	{ "cancelled", false, true, GS_CANCELLED },
	{ "Generating", false, false, GS_IDLE },
	{ "paused", false, false, GS_IDLE },
	{ "", false, false, GS_IDLE },
};

START_TEST(test_status_parse)
{
	enum gen_status s = GS__MAX;
	bool ok = gen_status_parse(status_cases[_i].s, status_cases[_i].is_null, &s);

	ck_assert_int_eq(ok, status_cases[_i].ok);
	if (ok)
		ck_assert_int_eq(s, status_cases[_i].want);
}
END_TEST

static const struct {
	double	 p, e;
	int64_t	 eta;
} eta_cases[] = {
	{ 0, 0, 150 }, { 0, 10, 150 }, { 0, 15, 150 }, { 0, 30, 300 },
	{ 10, 0, 0 }, { 10, 10, 90 }, { 45, 75, 92 }, { 80, 80, 20 },
	{ 87.5, 87.5, 13 }, { 97.5, 97.5, 3 }, { 100, 50, 0 }, { 5, 0, 72 },
	{ -1, -1, 150 }, { 50, 1e12, 2147483647 },
};

START_TEST(test_eta)
{
	ck_assert_int_eq(gen_eta_seconds(eta_cases[_i].p, eta_cases[_i].e),
	    eta_cases[_i].eta);
}
END_TEST

/* doc/decisions.md, D11: at the same elapsed time, more progress never means more
 * time left. */
START_TEST(test_eta_monotone)
{
	static const double ps[] = { 0, 1, 5, 9.9, 10, 10.5, 20, 45, 80, 87.5,
	    97.5, 100 };
	static const double es[] = { 0, 1, 5, 14, 15, 16, 60, 150, 600, 3600 };
	size_t i, j;

	for (j = 0; j < sizeof(es) / sizeof(es[0]); j++)
		for (i = 1; i < sizeof(ps) / sizeof(ps[0]); i++)
			ck_assert_msg(gen_eta_seconds(ps[i], es[j]) <=
			    gen_eta_seconds(ps[i - 1], es[j]),
			    "p %.1f -> %.1f at e %.0f", ps[i - 1], ps[i], es[j]);
}
END_TEST

/* The same messages in English, for Accept-Language: en. */
static const struct {
	enum gen_status	 status;
	const char	*meta;
	const char	*ru, *en;
} msg_cases[] = {
	{ GS_IDLE, NULL, "Генерация не начата", "Generation not started" },
	{ GS_QUEUED, NULL, "Ожидание в очереди", "Waiting in queue" },
	{ GS_GENERATING, NULL, "Генерация метаданных курса", "Generating course metadata" },
	{ GS_GENERATING, "{\"last_phase\":\"sections\",\"batch_count\":3}",
	  "Генерация секций (37% завершено)", "Generating sections (37% complete)" },
	{ GS_GENERATING, "{\"last_phase\":\"validation\"}", "Проверка качества", "Checking quality" },
	{ GS_GENERATING, "{\"last_phase\":\"saving\"}", "Сохранение результатов", "Saving results" },
	{ GS_COMPLETED, NULL, "Генерация завершена", "Generation complete" },
	{ GS_FAILED, NULL, "Ошибка генерации", "Generation failed" },
	{ GS_CANCELLED, NULL, "Генерация отменена", "Generation cancelled" },
};

START_TEST(test_messages)
{
	struct gen_meta		 m;
	struct gen_state	 st;
	struct jdoc		*doc;
	const char		*meta = msg_cases[_i].meta;
	char			 out[128];

	ck_assert_int_eq(meta_read(meta, meta ? strlen(meta) : 0, &m, &doc), 0);
	gen_state_compute(msg_cases[_i].status, &m, 0, &st);
	gen_message(&st, GL_RU, out, sizeof(out));
	ck_assert_str_eq(out, msg_cases[_i].ru);
	gen_message(&st, GL_EN, out, sizeof(out));
	ck_assert_str_eq(out, msg_cases[_i].en);
	jdoc_free(doc);
}
END_TEST

/* startedAt: the metadata's started_at when it is a valid time, else
 * created_at (T0 here). */
static const struct {
	const char	*meta;
	int64_t		 started_ms;
} started_cases[] = {
	{ NULL, T0 },
	{ "{}", T0 },
	/* as PostgreSQL writes a timestamptz into jsonb */
	{ "{\"started_at\":\"2025-11-05T12:01:15.123456+00:00\"}", T1 + 123 },
	{ "{\"started_at\":\"2025-11-05T12:01:15+00:00\"}", T1 },
	{ "{\"started_at\":\"2025-11-05T12:01:15Z\"}", T1 },
	{ "{\"started_at\":\"2025-11-05T12:01:15.5Z\"}", T1 + 500 },
	{ "{\"started_at\":\"2025-11-05 15:01:15+03\"}", T1 },
	{ "{\"started_at\":\"2025-11-05T06:31:15.000-05:30\"}", T1 },
	{ "{\"started_at\":\"2025-11-05T13:01:15+0100\"}", T1 },
	{ "{\"started_at\":\"1970-01-01T00:00:00Z\"}", 0 },
	{ "{\"started_at\":\"1969-12-31T23:59:59.999Z\"}", -1 },
	{ "{\"started_at\":\"2024-02-29T00:00:00Z\"}", INT64_C(1709164800000) },
	/* not a time: created_at */
	{ "{\"started_at\":\"2023-02-29T00:00:00Z\"}", T0 },
	{ "{\"started_at\":\"2025-11-05T12:01:15\"}", T0 },	/* no zone */
	{ "{\"started_at\":\"2025-11-05T24:00:00Z\"}", T0 },
	{ "{\"started_at\":\"2025-13-05T12:00:00Z\"}", T0 },
	{ "{\"started_at\":\"2025-11-05T12:01:15.Z\"}", T0 },
	{ "{\"started_at\":\"2025-11-05T12:01:15Zjunk\"}", T0 },
	{ "{\"started_at\":\"2025-11-05T12:01:15+1:00\"}", T0 },
	{ "{\"started_at\":\"2025-11-5T12:01:15Z\"}", T0 },
	{ "{\"started_at\":\"now\"}", T0 },
	{ "{\"started_at\":\"\"}", T0 },
	{ "{\"started_at\":1762344075000}", T0 },
	{ "{\"started_at\":null}", T0 },
};

START_TEST(test_started)
{
	struct gen_meta		 m;
	struct jdoc		*doc;
	const char		*meta = started_cases[_i].meta;

	ck_assert_int_eq(meta_read(meta, meta ? strlen(meta) : 0, &m, &doc), 0);
	ck_assert_int_eq(gen_started_ms(&m, T0), started_cases[_i].started_ms);
	jdoc_free(doc);
}
END_TEST

static void
add_tests(TCase *tc)
{
	tcase_add_loop_test(tc, test_started, 0, N(started_cases));
	tcase_add_loop_test(tc, test_messages, 0, N(msg_cases));
	tcase_add_loop_test(tc, test_state, 0, N(cases));
	tcase_add_test(tc, test_dropped_reported);
	tcase_add_loop_test(tc, test_status_parse, 0, N(status_cases));
	tcase_add_loop_test(tc, test_eta, 0, N(eta_cases));
	tcase_add_test(tc, test_eta_monotone);
}
