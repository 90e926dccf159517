/*
 * fuzz_notice.c - the status cache's change notifications (cache_apply_notice),
 * payloads as the database hands them over (sql/006-notify.sql, or anything
 * another session sends on the channel).
 *
 * Input: the payload (NUL ends it early, as in a C string from libpq).
 * Oracles: a payload either flushes everything or forgets exactly the courses
 * and memberships it names: an entry it does not name stays cached, a course
 * named in a course list that did not flush is gone.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>

#include "cache.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const courses[] = {
	"c0000000-0000-4000-8000-000000000001",
	"c0000000-0000-4000-8000-000000000002",
};
#define USER "a0000000-0000-4000-8000-000000000001"
#define ORG "b0000000-0000-4000-8000-000000000001"

/* Does text name id (any case)? */
static int
names(const char *text, const char *id)
{
	size_t i, n = strlen(text), m = strlen(id);

	for (i = 0; i + m <= n; i++)
		if (strncasecmp(text + i, id, m) == 0)
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cache	*c = cache_new(16, 1000);
	char		*payload;
	size_t		 i;
	bool		 flushed;

	if (c == NULL || (payload = malloc(size + 1)) == NULL) {
		cache_free(c);
		return 0;
	}
	memcpy(payload, data, size);
	payload[size] = '\0';
	cache_set_exact(c, true);
	for (i = 0; i < 2; i++)
		cache_course_put(c, courses[i], 0, USER, ORG, "{}", 2, NULL, 1, 0);
	cache_member_put(c, USER, ORG, true, 0);
	flushed = cache_apply_notice(c, payload);
	for (i = 0; i < 2; i++) {
		bool kept = cache_course_get(c, courses[i], 0, 0) != NULL;

		FUZZ_CHECK(!(flushed && kept), "course %zu kept after a flush", i);
		FUZZ_CHECK(flushed || kept || names(payload, courses[i]),
		    "course %zu dropped but not named", i);
		/* a list of courses that did not flush was understood whole */
		FUZZ_CHECK(flushed || strncmp(payload, "c:", 2) != 0 || !kept ||
		    !names(payload, courses[i]), "course %zu named but kept", i);
	}
	FUZZ_CHECK(!flushed || cache_member_get(c, USER, ORG, 0) < 0,
	    "membership kept after a flush");
	free(payload);
	cache_free(c);
	return 0;
}
