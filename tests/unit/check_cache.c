/* check_cache.c - the status and membership caches: TTL, keys, replacement. */
#include "config.h"

#include <string.h>

#include "cache.h"

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
	cache_course_put(NULL, C1, 0, U1, NULL, "x", 1, 0);	/* no crash */
}
END_TEST

START_TEST(test_course_ttl)
{
	struct cache *c = cache_new(16, 1000);
	const struct cache_course *e;

	cache_course_put(c, C1, 0, U1, O1, "{\"a\":1}", 7, 5000);
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

/* With one slot every key collides: a lookup must never return the
 * other course's entry. */
START_TEST(test_collision)
{
	struct cache *c = cache_new(1, 1000);
	const struct cache_course *e;

	cache_course_put(c, C1, 0, U1, NULL, "one", 3, 0);
	cache_course_put(c, C2, 0, U2, NULL, "two-longer", 10, 0);
	ck_assert_ptr_null(cache_course_get(c, C1, 0, 1));
	e = cache_course_get(c, C2, 0, 1);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->data, "two-longer");
	ck_assert(!e->has_org);
	cache_member_put(c, U1, O1, true, 0);
	cache_member_put(c, U2, O1, false, 0);
	ck_assert_int_eq(cache_member_get(c, U1, O1, 1), -1);
	ck_assert_int_eq(cache_member_get(c, U2, O1, 1), 0);
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

static void
add_tests(TCase *tc)
{
	tcase_add_test(tc, test_off);
	tcase_add_test(tc, test_course_ttl);
	tcase_add_test(tc, test_collision);
	tcase_add_test(tc, test_member);
}
