/* check_cache.c - the status and membership caches: TTL, exact mode, keys,
 * eviction, change notifications. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "uuid.h"

#define SUITE_NAME "cache"
#include "check_main.h"

#define C1 "c0000000-0000-0000-0000-000000000001"
#define C2 "c0000000-0000-0000-0000-000000000002"
#define U1 "a0000000-0000-0000-0000-000000000001"
#define U2 "a0000000-0000-0000-0000-000000000002"
#define O1 "b0000000-0000-0000-0000-000000000001"

START_TEST(test_off)
{
	ck_assert_ptr_null(cache_new(16, 0));
	ck_assert_ptr_null(cache_course_get(NULL, C1, 0, 0));
	ck_assert_int_eq(cache_member_get(NULL, U1, O1, 0), -1);
	cache_course_put(NULL, C1, 0, U1, NULL, "x", 1, NULL, 0, 0); /* no crash */
	ck_assert(!cache_apply_notice(NULL, "*"));
	cache_flush(NULL);
}
END_TEST

START_TEST(test_course_ttl)
{
	struct cache *c = cache_new(16, 1000);
	const struct cache_course *e;

	cache_course_put(c, C1, 0, U1, O1, "{\"a\":1}", 7, NULL, 0, 5000);
	e = cache_course_get(c, C1, 0, 5000);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->data, "{\"a\":1}");
	ck_assert_str_eq(e->owner, U1);
	ck_assert(e->has_org);
	ck_assert_str_eq(e->org, O1);
	ck_assert_ptr_nonnull(cache_course_get(c, C1, 0, 5999));
	ck_assert_ptr_null(cache_course_get(c, C1, 0, 6000));
	ck_assert_ptr_null(cache_course_get(c, C1, 0, 4999));	/* clock went back */
	ck_assert_ptr_null(cache_course_get(c, C2, 0, 5000));
	/* another language is another entry */
	ck_assert_ptr_null(cache_course_get(c, C1, 1, 5000));
	cache_free(c);
}
END_TEST

/* With one set every key lands in it: a lookup must never return another
 * course's entry, and a fifth course evicts the least recently used. */
START_TEST(test_collision)
{
	struct cache		*c = cache_new(1, 1000);
	const struct cache_course *e;
	char			 id[CACHE_WAYS + 1][UUID_STRLEN + 1];
	int			 i;

	for (i = 0; i <= CACHE_WAYS; i++)
		snprintf(id[i], sizeof(id[i]),
		    "d0000000-0000-0000-0000-0000000000%02d", i);
	cache_course_put(c, C1, 0, U1, NULL, "one", 3, NULL, 0, 0);
	cache_course_put(c, C2, 0, U2, NULL, "two-longer", 10, NULL, 0, 0);
	e = cache_course_get(c, C2, 0, 1);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->data, "two-longer");
	ck_assert(!e->has_org);
	ck_assert_str_eq(cache_course_get(c, C1, 0, 1)->data, "one");
	/* fill the set and one more: C2, then C1 were used last; id[2..]
	 * are newer, so C2 goes */
	for (i = 2; i <= CACHE_WAYS; i++)
		cache_course_put(c, id[i], 0, U1, NULL, "n", 1, NULL, 0, 2);
	ck_assert_ptr_nonnull(cache_course_get(c, C1, 0, 3));
	ck_assert_ptr_null(cache_course_get(c, C2, 0, 3));	/* evicted */
	for (i = 2; i <= CACHE_WAYS; i++)
		ck_assert_ptr_nonnull(cache_course_get(c, id[i], 0, 3));
	cache_member_put(c, U1, O1, true, 0);
	cache_member_put(c, U2, O1, false, 0);
	ck_assert_int_eq(cache_member_get(c, U1, O1, 1), 1);
	ck_assert_int_eq(cache_member_get(c, U2, O1, 1), 0);
	cache_free(c);
}
END_TEST

/* The bound holds: many more courses than entries never grow it. */
START_TEST(test_bounded)
{
	struct cache	*c = cache_new(64, 1000);
	char		 id[UUID_STRLEN + 1];
	size_t		 full = 0;
	int		 i, found = 0;

	for (i = 0; i < 10000; i++) {
		snprintf(id, sizeof(id), "c0000000-0000-0000-0000-%012d", i);
		cache_course_put(c, id, 0, U1, NULL, "0123456789", 10, NULL, 0, 0);
		if (i == 4999)
			full = cache_bytes(c);
	}
	ck_assert_uint_eq(cache_bytes(c), full);
	for (i = 0; i < 10000; i++) {
		snprintf(id, sizeof(id), "c0000000-0000-0000-0000-%012d", i);
		found += cache_course_get(c, id, 0, 0) != NULL;
	}
	ck_assert_int_le(found, 64);
	ck_assert_int_gt(found, 0);
	cache_free(c);
}
END_TEST

/* Exact mode: nothing expires; switching mode flushes. */
START_TEST(test_exact)
{
	struct cache *c = cache_new(16, 1000);

	ck_assert(!cache_is_exact(c));
	cache_set_exact(c, true);
	ck_assert(cache_is_exact(c));
	cache_course_put(c, C1, 0, U1, O1, "x", 1, NULL, 0, 0);
	cache_member_put(c, U1, O1, true, 0);
	ck_assert_ptr_nonnull(cache_course_get(c, C1, 0, 86400000));
	ck_assert_int_eq(cache_member_get(c, U1, O1, 86400000), 1);
	cache_set_exact(c, false);
	ck_assert_ptr_null(cache_course_get(c, C1, 0, 0));
	ck_assert_int_eq(cache_member_get(c, U1, O1, 0), -1);
	cache_free(c);
}
END_TEST

/* Change notifications: what each payload forgets. */
START_TEST(test_notice)
{
	static const struct {
		const char	*payload;
		bool		 flush;		/* everything forgotten */
		bool		 c1, c2, m1, m2; /* still cached afterwards */
	} t[] = {
		{ "c:" C1, false, false, true, true, true },
		{ "c:" C2 "," C1, false, false, false, true, true },
		{ "c:C0000000-0000-0000-0000-000000000001", false, false, true,
		    true, true },		/* any case */
		{ "m:" U1 "/" O1, false, true, true, false, true },
		{ "m:" U2 "/" O1 "," U1 "/" O1, false, true, true, false,
		    false },
		{ "m:" U1 "/" C1, false, true, true, true, true },
		{ "c:" U1, false, true, true, true, true },	/* unknown id */
		{ "*", true, false, false, false, false },
		{ "", true, false, false, false, false },
		{ "c:", true, false, false, false, false },
		{ "c:" C1 ",", true, false, false, false, false },
		{ "c:" C1 "x", true, false, false, false, false },
		{ "c:not-a-uuid", true, false, false, false, false },
		{ "m:" U1, true, false, false, false, false },
		{ "m:" U1 "/" O1 ";", true, false, false, false, false },
		{ "x:" C1, true, false, false, false, false },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct cache *c = cache_new(16, 1000);

		cache_set_exact(c, true);
		cache_course_put(c, C1, 0, U1, O1, "1", 1, NULL, 0, 0);
		cache_course_put(c, C1, 1, U1, O1, "1", 1, NULL, 0, 0);
		cache_course_put(c, C2, 0, U1, O1, "2", 1, NULL, 0, 0);
		cache_member_put(c, U1, O1, true, 0);
		cache_member_put(c, U2, O1, false, 0);
		ck_assert_msg(cache_apply_notice(c, t[i].payload) ==
		    t[i].flush, "%s", t[i].payload);
		ck_assert_msg((cache_course_get(c, C1, 0, 0) != NULL) ==
		    t[i].c1, "%s: C1", t[i].payload);
		ck_assert_msg((cache_course_get(c, C1, 1, 0) != NULL) ==
		    t[i].c1, "%s: C1 in the other language", t[i].payload);
		ck_assert_msg((cache_course_get(c, C2, 0, 0) != NULL) ==
		    t[i].c2, "%s: C2", t[i].payload);
		ck_assert_msg((cache_member_get(c, U1, O1, 0) >= 0) ==
		    t[i].m1, "%s: U1", t[i].payload);
		ck_assert_msg((cache_member_get(c, U2, O1, 0) >= 0) ==
		    t[i].m2, "%s: U2", t[i].payload);
		cache_free(c);
	}
}
END_TEST

/* The time-dependent field's place is kept only when it lies inside. */
START_TEST(test_eta)
{
	struct cache			*c = cache_new(16, 1000);
	struct cache_eta		 eta = { true, 2, 4, 10.0, 123 };
	const struct cache_course	*e;

	cache_course_put(c, C1, 0, U1, O1, "ab12cd", 6, &eta, 0, 0);
	e = cache_course_get(c, C1, 0, 0);
	ck_assert(e->eta.set);
	ck_assert_uint_eq(e->eta.at, 2);
	ck_assert_uint_eq(e->eta.end, 4);
	ck_assert_int_eq(e->eta.created_ms, 123);
	eta.end = 7;
	cache_course_put(c, C1, 0, U1, O1, "ab12cd", 6, &eta, 0, 0);
	ck_assert(!cache_course_get(c, C1, 0, 0)->eta.set);
	cache_free(c);
}
END_TEST

START_TEST(test_member)
{
	struct cache *c = cache_new(64, 500);

	ck_assert_int_eq(cache_member_get(c, U1, O1, 0), -1);
	cache_member_put(c, U1, O1, true, 100);
	ck_assert_int_eq(cache_member_get(c, U1, O1, 599), 1);
	ck_assert_int_eq(cache_member_get(c, U1, O1, 600), -1);
	ck_assert_int_eq(cache_member_get(c, U2, O1, 100), -1);
	cache_member_put(c, U1, O1, false, 700);
	ck_assert_int_eq(cache_member_get(c, U1, O1, 700), 0);
	cache_free(c);
}
END_TEST

/* The workers' shared table: another worker's newer read makes an older
 * entry stale, the same version or an earlier read does not. */
START_TEST(test_seen)
{
	struct cache_seen	*tbl = calloc(CACHE_SEEN_SLOTS, sizeof(*tbl));
	struct cache		*a = cache_new(16, 1000), *b = cache_new(16, 1000);

	cache_share(a, tbl);
	cache_share(b, tbl);
	cache_set_exact(a, true);
	cache_set_exact(b, true);
	/* b read version 1 at 100..110, a read version 2 at 200..210 */
	cache_course_put(b, C1, 0, U1, O1, "v1", 2, NULL, 1, 100);
	cache_course_seen(b, C1, 1, 110);
	ck_assert_ptr_nonnull(cache_course_get(b, C1, 0, 150));
	cache_course_put(a, C1, 0, U1, O1, "v2", 2, NULL, 2, 200);
	cache_course_seen(a, C1, 2, 210);
	ck_assert_ptr_null(cache_course_get(b, C1, 0, 220));
	ck_assert_ptr_nonnull(cache_course_get(a, C1, 0, 220));
	/* b reads again (version 2): both answer */
	cache_course_put(b, C1, 0, U1, O1, "v2", 2, NULL, 2, 230);
	cache_course_seen(b, C1, 2, 240);
	ck_assert_ptr_nonnull(cache_course_get(b, C1, 0, 250));
	ck_assert_ptr_nonnull(cache_course_get(a, C1, 0, 250));
	/* an entry read after the other's read ended is not affected */
	cache_course_put(b, C2, 0, U1, O1, "x", 1, NULL, 7, 300);
	cache_course_seen(a, C2, 8, 299);
	ck_assert_ptr_nonnull(cache_course_get(b, C2, 0, 310));
	/* memberships likewise */
	cache_member_put(b, U1, O1, true, 100);
	cache_member_seen(a, U1, O1, false, 150);
	ck_assert_int_eq(cache_member_get(b, U1, O1, 160), -1);
	cache_member_put(b, U2, O1, true, 100);
	cache_member_seen(a, U2, O1, true, 150);
	ck_assert_int_eq(cache_member_get(b, U2, O1, 160), 1);
	cache_free(a);
	cache_free(b);
	free(tbl);
}
END_TEST

static void
add_tests(TCase *tc)
{
	tcase_add_test(tc, test_off);
	tcase_add_test(tc, test_course_ttl);
	tcase_add_test(tc, test_collision);
	tcase_add_test(tc, test_member);
	tcase_add_test(tc, test_bounded);
	tcase_add_test(tc, test_exact);
	tcase_add_test(tc, test_notice);
	tcase_add_test(tc, test_eta);
	tcase_add_test(tc, test_seen);
}
