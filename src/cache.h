/*
 * cache.h - the short-lived per-worker cache of section 8.1, made safe
 * (NOTES 15): rendered statuses are cached per course together with the
 * course's owner and organization, and memberships per (user, org), so the
 * decision for the asking user is still taken on every request.
 */
#ifndef CS_CACHE_H
#define CS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "text.h"

struct cache_course {
	char	 course[UUID_STRLEN + 1];
	char	 owner[UUID_STRLEN + 1];
	char	 org[UUID_STRLEN + 1];
	bool	 has_org;
	int	 lang;		/* the rendered message's language */
	char	*data;		/* the rendered result (JSON) */
	size_t	 len;
	size_t	 cap;
	int64_t	 at_ms;		/* monotonic time it was stored */
	bool	 used;
};

struct cache;

/*
 * A cache of `slots` entries of each kind, whose entries live ttl_ms.
 * Returns NULL when ttl_ms <= 0 (cache off) or on ENOMEM.
 */
struct cache *cache_new(size_t slots, int64_t ttl_ms);
void	 cache_free(struct cache *);
/* The fresh entry for a course rendered in `lang`, or NULL. Valid until
 * the next put. */
const struct cache_course *cache_course_get(struct cache *,
	    const char *course, int lang, int64_t now_ms);
/* Store a course's rendered result. Silently skipped on ENOMEM. */
void	 cache_course_put(struct cache *, const char *course, int lang,
	    const char *owner, const char *org, const char *data, size_t len,
	    int64_t now_ms);
/* Membership of user in org: 1 member, 0 not, -1 unknown or stale. */
int	 cache_member_get(struct cache *, const char *user, const char *org,
	    int64_t now_ms);
void	 cache_member_put(struct cache *, const char *user, const char *org,
	    bool member, int64_t now_ms);

#endif
