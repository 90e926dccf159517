/* cache.c - direct-mapped, time-limited caches of statuses and memberships. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cache.h"

struct cache_member {
	char	 user[UUID_STRLEN + 1];
	char	 org[UUID_STRLEN + 1];
	bool	 member;
	bool	 used;
	int64_t	 at_ms;
};

struct cache {
	size_t			 slots;
	int64_t			 ttl_ms;
	struct cache_course	*courses;
	struct cache_member	*members;
};

/* FNV-1a over one or two strings. */
static uint64_t
hash2(const char *a, const char *b)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (; *a != '\0'; a++)
		h = (h ^ (unsigned char)*a) * UINT64_C(1099511628211);
	if (b != NULL)
		for (h ^= 0xff; *b != '\0'; b++)
			h = (h ^ (unsigned char)*b) * UINT64_C(1099511628211);
	return h;
}

struct cache *
cache_new(size_t slots, int64_t ttl_ms)
{
	struct cache *c;

	if (ttl_ms <= 0 || slots == 0)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->slots = slots;
	c->ttl_ms = ttl_ms;
	c->courses = calloc(slots, sizeof(*c->courses));
	c->members = calloc(slots, sizeof(*c->members));
	if (c->courses == NULL || c->members == NULL) {
		cache_free(c);
		return NULL;
	}
	return c;
}

void
cache_free(struct cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	if (c->courses != NULL)
		for (i = 0; i < c->slots; i++)
			free(c->courses[i].data);
	free(c->courses);
	free(c->members);
	free(c);
}

static bool
fresh(const struct cache *c, int64_t at, int64_t now)
{
	return now >= at && now - at < c->ttl_ms;
}

/* The slot of a course in a language. */
static size_t
course_slot(const struct cache *c, const char *course, int lang)
{
	return (size_t)((hash2(course, NULL) + (uint64_t)lang) % c->slots);
}

const struct cache_course *
cache_course_get(struct cache *c, const char *course, int lang,
    int64_t now_ms)
{
	struct cache_course *e;

	if (c == NULL)
		return NULL;
	e = &c->courses[course_slot(c, course, lang)];
	if (!e->used || strcmp(e->course, course) != 0 || e->lang != lang ||
	    !fresh(c, e->at_ms, now_ms))
		return NULL;
	return e;
}

void
cache_course_put(struct cache *c, const char *course, int lang,
    const char *owner, const char *org, const char *data, size_t len,
    int64_t now_ms)
{
	struct cache_course	*e;
	char			*p;

	if (c == NULL)
		return;
	e = &c->courses[course_slot(c, course, lang)];
	if (e->cap < len + 1) {
		if ((p = realloc(e->data, len + 1)) == NULL) {
			e->used = false;
			return;
		}
		e->data = p;
		e->cap = len + 1;
	}
	memcpy(e->data, data, len);
	e->data[len] = '\0';
	e->len = len;
	memcpy(e->course, course, UUID_STRLEN + 1);
	memcpy(e->owner, owner, UUID_STRLEN + 1);
	e->lang = lang;
	e->has_org = org != NULL;
	if (org != NULL)
		memcpy(e->org, org, UUID_STRLEN + 1);
	e->at_ms = now_ms;
	e->used = true;
}

int
cache_member_get(struct cache *c, const char *user, const char *org,
    int64_t now_ms)
{
	struct cache_member *e;

	if (c == NULL)
		return -1;
	e = &c->members[hash2(user, org) % c->slots];
	if (!e->used || strcmp(e->user, user) != 0 ||
	    strcmp(e->org, org) != 0 || !fresh(c, e->at_ms, now_ms))
		return -1;
	return e->member ? 1 : 0;
}

void
cache_member_put(struct cache *c, const char *user, const char *org,
    bool member, int64_t now_ms)
{
	struct cache_member *e;

	if (c == NULL)
		return;
	e = &c->members[hash2(user, org) % c->slots];
	memcpy(e->user, user, UUID_STRLEN + 1);
	memcpy(e->org, org, UUID_STRLEN + 1);
	e->member = member;
	e->at_ms = now_ms;
	e->used = true;
}
