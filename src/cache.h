/*
 * cache.h - the per-worker cache of statuses and membership verdicts
 * (NOTES 15): rendered statuses are cached per course together with the
 * course's owner and organization, and memberships per (user, org), so the
 * decision for the asking user is still taken on every request.
 *
 * Two ways for an entry to stay valid. Exact: until invalidated (the
 * worker applies the database's change notifications, sql/006-notify.sql,
 * and flushes everything when it may have missed some). TTL, where no
 * notification can arrive: ttl_ms after it was stored. The cache holds at
 * most a fixed number of entries of each kind, in sets of CACHE_WAYS; a
 * full set drops its least recently used entry.
 */
#ifndef CS_CACHE_H
#define CS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "text.h"

#define CACHE_WAYS	8

/* What the answer's time-dependent field (estimatedRemainingSeconds) is
 * computed from, and where its value sits in the rendered text. */
struct cache_eta {
	bool	 set;		/* false: the field is null, data is final */
	size_t	 at;		/* offset of the value in data */
	size_t	 end;		/* offset just after it */
	double	 progress;	/* progress_exact */
	int64_t	 created_ms;	/* generation start, epoch ms (DB clock) */
};

struct cache_course {
	char		 course[UUID_STRLEN + 1];
	char		 owner[UUID_STRLEN + 1];
	char		 org[UUID_STRLEN + 1];
	bool		 has_org;
	int		 lang;		/* the rendered message's language */
	char		*data;		/* the rendered result (JSON) */
	size_t		 len;
	size_t		 cap;
	struct cache_eta eta;
	uint64_t	 key;		/* hash of the course id */
	uint32_t	 ver;		/* hash of the row as read */
	int64_t		 at_ms;		/* monotonic time its read began */
	uint64_t	 tick;		/* last use, for eviction */
	bool		 used;
};

struct cache;

/*
 * A cache of at most `entries` statuses and as many memberships (rounded
 * up to whole sets), whose entries live ttl_ms in TTL mode. Starts in TTL
 * mode. Returns NULL when ttl_ms <= 0 or entries == 0 (cache off) or on
 * ENOMEM.
 */
struct cache *cache_new(size_t entries, int64_t ttl_ms);
void	 cache_free(struct cache *);
/* Exact mode (entries valid until invalidated) or TTL mode. Switching
 * flushes. */
void	 cache_set_exact(struct cache *, bool exact);
bool	 cache_is_exact(const struct cache *);
/* The fresh entry for a course rendered in `lang`, or NULL. Valid until
 * the next put, invalidation or flush. */
const struct cache_course *cache_course_get(struct cache *,
	    const char *course, int lang, int64_t now_ms);
/* Store a course's rendered result (eta may be NULL: nothing depends on
 * the time); ver identifies the row's content, now_ms is when the read
 * began. Silently skipped on ENOMEM. */
void	 cache_course_put(struct cache *, const char *course, int lang,
	    const char *owner, const char *org, const char *data, size_t len,
	    const struct cache_eta *eta, uint32_t ver, int64_t now_ms);
/* Membership of user in org: 1 member, 0 not, -1 unknown or stale. */
int	 cache_member_get(struct cache *, const char *user, const char *org,
	    int64_t now_ms);
void	 cache_member_put(struct cache *, const char *user, const char *org,
	    bool member, int64_t now_ms);
/* Forget a course (every language) or a membership verdict. Return the
 * number of entries dropped. */
size_t	 cache_forget_course(struct cache *, const char *course);
size_t	 cache_forget_member(struct cache *, const char *user,
	    const char *org);
/* Forget everything. */
void	 cache_flush(struct cache *);
/*
 * Apply one change notification of sql/006-notify.sql ("c:<id>,...",
 * "m:<user>/<org>,...", "*"). Anything else flushes: a payload not
 * understood must not leave a stale entry. Returns true when it flushed.
 */
bool	 cache_apply_notice(struct cache *, const char *payload);
/*
 * What the workers have read lately, shared between them: each slot says
 * "course K (or membership K) was read as version V by a read that ended
 * at T". An entry whose read began before T and that holds another
 * version is stale: another worker has seen a change this one's
 * notification has not brought yet (the notifications reach each worker's
 * connection at its own pace). So no client sees a state and then an
 * older one. Entries of the slot table are only hints: a torn or
 * overwritten slot costs a read, or leaves the entry to its notification.
 */
struct cache_seen {
	uint64_t	 key;
	uint64_t	 val;		/* T (ms, low 32 bits) << 32 | V */
};
#define CACHE_SEEN_SLOTS 8192
/* The pool's master: map the table before forking the workers. */
void	 cache_seen_premap(void);
/* The table shared by the workers on listen_fd: the master's, else one
 * found by the socket (a file beside a unix socket, else POSIX shared
 * memory named after the user and the address), or NULL. */
struct cache_seen *cache_seen_map(int listen_fd);
void	 cache_share(struct cache *, struct cache_seen *);
/* Publish a read (done_ms: when it ended). */
void	 cache_course_seen(struct cache *, const char *course, uint32_t ver,
	    int64_t done_ms);
void	 cache_member_seen(struct cache *, const char *user, const char *org,
	    bool member, int64_t done_ms);
/* Bytes held (entries and rendered texts), for the documentation. */
size_t	 cache_bytes(const struct cache *);

#endif
