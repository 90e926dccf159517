/* cache.c - set-associative caches of statuses and memberships, kept
 * exact by invalidation or limited in time. */
#include "config.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "uuid.h"

struct cache_member {
	char	 user[UUID_STRLEN + 1];
	char	 org[UUID_STRLEN + 1];
	uint64_t key;
	bool	 member;
	bool	 used;
	int64_t	 at_ms;
	uint64_t tick;
};

struct cache {
	size_t			 sets;		/* a power of two */
	int64_t			 ttl_ms;
	bool			 exact;
	uint64_t		 tick;
	struct cache_course	*courses;	/* sets * CACHE_WAYS */
	struct cache_member	*members;
	struct cache_seen	*seen;		/* shared, or NULL */
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
	return h ^ (h >> 29);
}

struct cache *
cache_new(size_t entries, int64_t ttl_ms)
{
	struct cache	*c;
	size_t		 sets = 1;

	if (ttl_ms <= 0 || entries == 0 || entries > ((size_t)1 << 30))
		return NULL;
	while (sets * CACHE_WAYS < entries)
		sets <<= 1;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->sets = sets;
	c->ttl_ms = ttl_ms;
	c->courses = calloc(sets * CACHE_WAYS, sizeof(*c->courses));
	c->members = calloc(sets * CACHE_WAYS, sizeof(*c->members));
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
		for (i = 0; i < c->sets * CACHE_WAYS; i++)
			free(c->courses[i].data);
	free(c->courses);
	free(c->members);
	free(c);
}

void
cache_flush(struct cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	/* The texts' buffers are kept for reuse; the bound is on entries. */
	for (i = 0; i < c->sets * CACHE_WAYS; i++) {
		c->courses[i].used = false;
		c->members[i].used = false;
	}
}

void
cache_set_exact(struct cache *c, bool exact)
{
	if (c == NULL || c->exact == exact)
		return;
	cache_flush(c);
	c->exact = exact;
}

bool
cache_is_exact(const struct cache *c)
{
	return c != NULL && c->exact;
}

static bool
fresh(const struct cache *c, int64_t at, int64_t now)
{
	return c->exact || (now >= at && now - at < c->ttl_ms);
}

/* Keys: courses and memberships apart (bit 0), also in the shared table. */
static uint64_t
course_key(const char *course)
{
	return hash2(course, NULL) | 1;
}

static uint64_t
member_key(const char *user, const char *org)
{
	return hash2(user, org) & ~(uint64_t)1;
}

/* The first entry of a key's set (a course's languages share one). */
static struct cache_course *
course_set(const struct cache *c, uint64_t key)
{
	return &c->courses[((key >> 1) & (c->sets - 1)) * CACHE_WAYS];
}

static struct cache_member *
member_set(const struct cache *c, uint64_t key)
{
	return &c->members[((key >> 1) & (c->sets - 1)) * CACHE_WAYS];
}

static struct cache_seen *
seen_slot(const struct cache *c, uint64_t key)
{
	return &c->seen[(key >> 17) % CACHE_SEEN_SLOTS];
}

/* Has another worker read key as another version since at_ms? */
static bool
seen_newer(const struct cache *c, uint64_t key, uint32_t ver, int64_t at_ms)
{
	struct cache_seen	*s;
	uint64_t		 k, v, v2;

	if (c->seen == NULL)
		return false;
	s = seen_slot(c, key);
	v = __atomic_load_n(&s->val, __ATOMIC_ACQUIRE);
	k = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);
	v2 = __atomic_load_n(&s->val, __ATOMIC_ACQUIRE);
	if (k != key)
		return false;
	if (v != v2)
		return true;	/* being written: take it as news */
	return (uint32_t)v != ver &&
	    (int32_t)((uint32_t)(v >> 32) - (uint32_t)at_ms) >= 0;
}

static void
seen_put(const struct cache *c, uint64_t key, uint32_t ver, int64_t done_ms)
{
	struct cache_seen *s;

	if (c->seen == NULL)
		return;
	s = seen_slot(c, key);
	__atomic_store_n(&s->key, key, __ATOMIC_RELEASE);
	__atomic_store_n(&s->val, (uint64_t)(uint32_t)done_ms << 32 | ver,
	    __ATOMIC_RELEASE);
}

void
cache_share(struct cache *c, struct cache_seen *seen)
{
	if (c != NULL)
		c->seen = seen;
}

void
cache_course_seen(struct cache *c, const char *course, uint32_t ver,
    int64_t done_ms)
{
	if (c != NULL)
		seen_put(c, course_key(course), ver, done_ms);
}

void
cache_member_seen(struct cache *c, const char *user, const char *org,
    bool member, int64_t done_ms)
{
	if (c != NULL)
		seen_put(c, member_key(user, org), member ? 1 : 2, done_ms);
}

/* Mapped by the pool's master before it forks (cache_seen_premap). */
static struct cache_seen *premapped;

void
cache_seen_premap(void)
{
	void *m;

	if (premapped != NULL)
		return;
	m = mmap(NULL, CACHE_SEEN_SLOTS * sizeof(struct cache_seen),
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	premapped = m == MAP_FAILED ? NULL : m;
}

/* Map the table in fd (just opened or created), if it is ours. */
static struct cache_seen *
seen_map_fd(int fd)
{
	struct stat	 st;
	size_t		 size = CACHE_SEEN_SLOTS * sizeof(struct cache_seen);
	void		*m;

	/* In a shared namespace someone else may have made it: not ours. */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != getuid() || (st.st_mode & 077) != 0 ||
	    ((size_t)st.st_size != size && ftruncate(fd, (off_t)size) != 0)) {
		close(fd);
		return NULL;
	}
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return m == MAP_FAILED ? NULL : m;
}

/*
 * Without a master (spawn-fcgi, mod_fcgid) the workers find the same table
 * by the listening socket they share: a file next to a unix socket
 * ("<socket>.cache", where the workers may create it), else POSIX shared
 * memory named after the user and the socket's address. A restart of the
 * same deployment reuses it; what an older run left there is harmless (its
 * times are in the past).
 */
struct cache_seen *
cache_seen_map(int listen_fd)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_un	*sun = (struct sockaddr_un *)&ss;
	socklen_t		 sl = sizeof(ss);
	char			 name[sizeof(sun->sun_path) + 16];
	const unsigned char	*p = (const unsigned char *)&ss;
	uint64_t		 h = UINT64_C(14695981039346656037);
	int			 fd;
	socklen_t		 i;

	if (premapped != NULL)
		return premapped;
	memset(&ss, 0, sizeof(ss));
	if (getsockname(listen_fd, (struct sockaddr *)&ss, &sl) != 0)
		return NULL;
	if (ss.ss_family == AF_UNIX && sun->sun_path[0] == '/' &&
	    strnlen(sun->sun_path, sizeof(sun->sun_path)) <
	    sizeof(sun->sun_path) &&
	    snprintf(name, sizeof(name), "%s.cache", sun->sun_path) <
	    (int)sizeof(name) &&
	    (fd = open(name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) >= 0)
		return seen_map_fd(fd);
	for (i = 0; i < sl && i < (socklen_t)sizeof(ss); i++)
		h = (h ^ p[i]) * UINT64_C(1099511628211);
	snprintf(name, sizeof(name), "/coursegen-status.%lu.%016llx",
	    (unsigned long)getuid(), (unsigned long long)h);
	if ((fd = shm_open(name, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return NULL;
	return seen_map_fd(fd);
}

const struct cache_course *
cache_course_get(struct cache *c, const char *course, int lang,
    int64_t now_ms)
{
	struct cache_course	*e;
	uint64_t		 key;
	size_t			 w;

	if (c == NULL)
		return NULL;
	key = course_key(course);
	e = course_set(c, key);
	for (w = 0; w < CACHE_WAYS; w++, e++)
		if (e->used && e->key == key && e->lang == lang &&
		    memcmp(e->course, course, UUID_STRLEN) == 0) {
			if (!fresh(c, e->at_ms, now_ms) ||
			    seen_newer(c, e->key, e->ver, e->at_ms))
				return NULL;
			e->tick = ++c->tick;
			return e;
		}
	return NULL;
}

void
cache_course_put(struct cache *c, const char *course, int lang,
    const char *owner, const char *org, const char *data, size_t len,
    const struct cache_eta *eta, uint32_t ver, int64_t now_ms)
{
	struct cache_course	*set, *e = NULL;
	char			*p;
	size_t			 w;

	if (c == NULL)
		return;
	set = course_set(c, course_key(course));
	/* The same key, else a free way, else the least recently used. */
	for (w = 0; w < CACHE_WAYS; w++)
		if (set[w].used && set[w].lang == lang &&
		    memcmp(set[w].course, course, UUID_STRLEN) == 0) {
			e = &set[w];
			break;
		}
	for (w = 0; e == NULL && w < CACHE_WAYS; w++)
		if (!set[w].used)
			e = &set[w];
	if (e == NULL) {
		e = &set[0];
		for (w = 1; w < CACHE_WAYS; w++)
			if (set[w].tick < e->tick)
				e = &set[w];
	}
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
	if (eta != NULL && eta->set && eta->at <= eta->end && eta->end <= len)
		e->eta = *eta;
	else
		memset(&e->eta, 0, sizeof(e->eta));
	e->key = course_key(course);
	e->ver = ver;
	e->at_ms = now_ms;
	e->tick = ++c->tick;
	e->used = true;
}

int
cache_member_get(struct cache *c, const char *user, const char *org,
    int64_t now_ms)
{
	struct cache_member	*e;
	uint64_t		 key;
	size_t			 w;

	if (c == NULL)
		return -1;
	key = member_key(user, org);
	e = member_set(c, key);
	for (w = 0; w < CACHE_WAYS; w++, e++)
		if (e->used && e->key == key &&
		    memcmp(e->user, user, UUID_STRLEN) == 0 &&
		    memcmp(e->org, org, UUID_STRLEN) == 0) {
			if (!fresh(c, e->at_ms, now_ms) ||
			    seen_newer(c, e->key, e->member ? 1 : 2, e->at_ms))
				return -1;
			e->tick = ++c->tick;
			return e->member ? 1 : 0;
		}
	return -1;
}

void
cache_member_put(struct cache *c, const char *user, const char *org,
    bool member, int64_t now_ms)
{
	struct cache_member	*set, *e = NULL;
	size_t			 w;

	if (c == NULL)
		return;
	set = member_set(c, member_key(user, org));
	for (w = 0; w < CACHE_WAYS; w++)
		if (set[w].used && memcmp(set[w].user, user, UUID_STRLEN) == 0 &&
		    memcmp(set[w].org, org, UUID_STRLEN) == 0) {
			e = &set[w];
			break;
		}
	for (w = 0; e == NULL && w < CACHE_WAYS; w++)
		if (!set[w].used)
			e = &set[w];
	if (e == NULL) {
		e = &set[0];
		for (w = 1; w < CACHE_WAYS; w++)
			if (set[w].tick < e->tick)
				e = &set[w];
	}
	memcpy(e->user, user, UUID_STRLEN + 1);
	memcpy(e->org, org, UUID_STRLEN + 1);
	e->key = member_key(user, org);
	e->member = member;
	e->at_ms = now_ms;
	e->tick = ++c->tick;
	e->used = true;
}

size_t
cache_forget_course(struct cache *c, const char *course)
{
	struct cache_course	*e;
	size_t			 w, n = 0;

	if (c == NULL)
		return 0;
	e = course_set(c, course_key(course));
	for (w = 0; w < CACHE_WAYS; w++, e++)
		if (e->used && memcmp(e->course, course, UUID_STRLEN) == 0) {
			e->used = false;
			n++;
		}
	return n;
}

size_t
cache_forget_member(struct cache *c, const char *user, const char *org)
{
	struct cache_member	*e;
	size_t			 w, n = 0;

	if (c == NULL)
		return 0;
	e = member_set(c, member_key(user, org));
	for (w = 0; w < CACHE_WAYS; w++, e++)
		if (e->used && memcmp(e->user, user, UUID_STRLEN) == 0 &&
		    memcmp(e->org, org, UUID_STRLEN) == 0) {
			e->used = false;
			n++;
		}
	return n;
}

/* Copy the canonical form of the UUID at p (UUID_STRLEN characters) into
 * out; false when it is not one. */
static bool
take_uuid(const char *p, size_t avail, char *out)
{
	return avail >= UUID_STRLEN && uuid_canon(p, UUID_STRLEN, out);
}

bool
cache_apply_notice(struct cache *c, const char *payload)
{
	char		 a[UUID_STRLEN + 1], b[UUID_STRLEN + 1];
	const char	*p;
	size_t		 n;

	if (c == NULL || payload == NULL)
		return false;
	n = strlen(payload);
	if (n > 2 && payload[0] == 'c' && payload[1] == ':') {
		for (p = payload + 2;; p += UUID_STRLEN + 1) {
			if (!take_uuid(p, n - (size_t)(p - payload), a))
				break;
			cache_forget_course(c, a);
			if (p[UUID_STRLEN] == '\0')
				return false;
			if (p[UUID_STRLEN] != ',')
				break;
		}
	} else if (n > 2 && payload[0] == 'm' && payload[1] == ':') {
		for (p = payload + 2;; p += 2 * UUID_STRLEN + 2) {
			if (!take_uuid(p, n - (size_t)(p - payload), a) ||
			    p[UUID_STRLEN] != '/' ||
			    !take_uuid(p + UUID_STRLEN + 1,
			    n - (size_t)(p - payload) - UUID_STRLEN - 1, b))
				break;
			cache_forget_member(c, a, b);
			if (p[2 * UUID_STRLEN + 1] == '\0')
				return false;
			if (p[2 * UUID_STRLEN + 1] != ',')
				break;
		}
	}
	/* "*", or anything not understood (also a malformed tail). */
	cache_flush(c);
	return true;
}

size_t
cache_bytes(const struct cache *c)
{
	size_t i, n;

	if (c == NULL)
		return 0;
	n = sizeof(*c) + c->sets * CACHE_WAYS *
	    (sizeof(struct cache_course) + sizeof(struct cache_member));
	for (i = 0; i < c->sets * CACHE_WAYS; i++)
		n += c->courses[i].cap;
	return n;
}
