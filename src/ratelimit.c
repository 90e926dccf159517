/* ratelimit.c - per-client token buckets (GCRA), lock-free, fixed table. */
#include "config.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "ratelimit.h"

#define NS 1000000000LL
/* Attempts at finding or claiming a slot before the call is let through
 * unlimited (only under pathological contention on one set). */
#define CLAIM_TRIES 8

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define CAS(x, expected, desired) __atomic_compare_exchange_n(&(x), \
	    &(expected), (desired), false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)

static struct rl_table *table;

void
ratelimit_attach(struct rl_table *t)
{
	uint64_t seed = 0, zero = 0;

	table = t;
	if (t == NULL || LOAD(t->seed) != 0)
		return;
	/* The seed keeps clients from choosing keys that share a set. */
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^
		    (uint64_t)ts.tv_sec;
	}
	seed |= 1;
	(void)CAS(t->seed, zero, seed);
}

/* MurmurHash3's 64-bit finaliser. */
static uint64_t
fmix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint64_t
hash_bytes(uint64_t seed, enum rl_kind kind, const unsigned char *p,
    size_t n)
{
	uint64_t	 h = fmix64(seed ^ ((uint64_t)kind + 1) * 0x9e3779b97f4a7c15ULL);
	uint64_t	 w;
	size_t		 i;

	for (i = 0; i < n; i += 8) {
		w = 0;
		memcpy(&w, p + i, n - i < 8 ? n - i : 8);
		h = fmix64(h ^ w) + 0x9e3779b97f4a7c15ULL;
	}
	h = fmix64(h ^ n);
	return h != 0 ? h : 1;
}

uint64_t
ratelimit_key(enum rl_kind kind, const char *id)
{
	unsigned char	 a[16];
	uint64_t	 seed = table != NULL ? LOAD(table->seed) : 0;
	static const unsigned char v4mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	if (id == NULL || *id == '\0')
		return 0;
	if (kind == RL_USER)
		return hash_bytes(seed, kind, (const unsigned char *)id,
		    strnlen(id, 256));
	if (inet_pton(AF_INET, id, a) == 1)
		return hash_bytes(seed, kind, a, 4);
	if (inet_pton(AF_INET6, id, a) != 1)
		return 0;
	if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0)
		return hash_bytes(seed, kind, a + 12, 4);
	/* One IPv6 host usually owns a whole /64. */
	return hash_bytes(seed, kind, a, 8);
}

/* The first of the RL_WAYS slots of key's set (the top bits pick it). */
static struct rl_slot *
rl_set(struct rl_table *t, uint64_t key)
{
	return &t->slots[(size_t)(key >> 40) % RL_SETS * RL_WAYS];
}

/*
 * The slot of `key` in its set, claimed if absent (an empty slot, else the
 * one with the earliest TAT, reset to a fresh bucket). NULL after
 * CLAIM_TRIES lost races.
 */
static struct rl_slot *
find_slot(struct rl_table *t, uint64_t key, int64_t now, int *evicted)
{
	struct rl_slot	*set = rl_set(t, key);
	int		 tries, i, victim;
	uint64_t	 k;
	int64_t		 min, tat;

	for (tries = 0; tries < CLAIM_TRIES; tries++) {
		victim = -1;
		min = INT64_MAX;
		for (i = 0; i < RL_WAYS; i++) {
			if ((k = LOAD(set[i].key)) == key)
				return &set[i];
			if (k == 0) {
				/* Never used: its TAT is 0, a full bucket. */
				if (CAS(set[i].key, k, key))
					return &set[i];
				break;		/* lost it: look again */
			}
			if ((tat = LOAD(set[i].tat)) < min) {
				min = tat;
				victim = i;
			}
		}
		if (i < RL_WAYS || victim < 0)
			continue;
		k = LOAD(set[victim].key);
		if (k == key)
			return &set[victim];
		/*
		 * Reset the bucket before the key changes hands, so that a
		 * process finding the new key there never reads the old
		 * client's TAT (which may be past the limit: a 429 for a
		 * client that made no call). In between, the old client's
		 * calls may still take from the fresh bucket, which the new
		 * client then inherits: a few tokens at most, never a debt
		 * larger than those calls. A TAT that moved meanwhile
		 * means the set changed: look again.
		 */
		tat = min;
		if (!CAS(set[victim].tat, tat, 0))
			continue;
		if (!CAS(set[victim].key, k, key))
			continue;	/* another process took the slot */
		if (evicted != NULL)
			*evicted = min > now ? 2 : 1;
		return &set[victim];
	}
	return NULL;
}

/* The GCRA's emission interval and tolerance for rate and burst. */
static void
gcra(long long rate, long long burst, int64_t *interval, int64_t *tolerance)
{
	if (burst < 1)
		burst = 1;
	*interval = NS / rate;
	if (*interval < 1)
		*interval = 1;
	*tolerance = (int64_t)(burst - 1) * *interval;
}

/* Whole seconds until a bucket whose TAT is tat admits a call (>= 1). */
static long long
retry_after(int64_t tat, int64_t tolerance, int64_t now)
{
	int64_t wait = tat - tolerance - now;

	return wait > NS ? (wait + NS - 1) / NS : 1;
}

enum rl_verdict
ratelimit_peek_in(struct rl_table *t, uint64_t key, int64_t now,
    long long rate, long long burst, long long *retry_after_s)
{
	struct rl_slot	*set;
	int64_t		 interval, tolerance, tat;
	int		 i;

	if (t == NULL || rate <= 0 || key == 0)
		return RL_OFF;
	gcra(rate, burst, &interval, &tolerance);
	set = rl_set(t, key);
	for (i = 0; i < RL_WAYS; i++) {
		if (LOAD(set[i].key) != key)
			continue;
		tat = LOAD(set[i].tat);
		if (LOAD(set[i].key) == key && tat - now > tolerance) {
			*retry_after_s = retry_after(tat, tolerance, now);
			return RL_LIMIT;
		}
		break;
	}
	return RL_ALLOW;
}

enum rl_verdict
ratelimit_take_in(struct rl_table *t, uint64_t key, int64_t now,
    long long rate, long long burst, long long *retry_after_s, int *evicted)
{
	struct rl_slot	*s;
	int64_t		 interval, tolerance, old, tat;
	int		 tries;

	if (evicted != NULL)
		*evicted = 0;
	if (t == NULL || rate <= 0 || key == 0)
		return RL_OFF;
	gcra(rate, burst, &interval, &tolerance);
	for (tries = 0; tries < CLAIM_TRIES; tries++) {
		if ((s = find_slot(t, key, now, evicted)) == NULL)
			break;
		for (;;) {
			old = LOAD(s->tat);
			if (LOAD(s->key) != key)
				break;		/* evicted meanwhile */
			tat = old > now ? old : now;
			if (tat - now > tolerance) {
				*retry_after_s = retry_after(tat, tolerance,
				    now);
				return RL_LIMIT;
			}
			if (CAS(s->tat, old, tat + interval))
				return RL_ALLOW;
		}
	}
	/* Lost every race for a slot: let the call through. */
	return RL_ALLOW;
}

enum rl_verdict
ratelimit_take(uint64_t key, int64_t now_ns, long long rate, long long burst,
    long long *retry_after_s, int *evicted)
{
	return ratelimit_take_in(table, key, now_ns, rate, burst,
	    retry_after_s, evicted);
}

enum rl_verdict
ratelimit_peek(uint64_t key, int64_t now_ns, long long rate, long long burst,
    long long *retry_after_s)
{
	return ratelimit_peek_in(table, key, now_ns, rate, burst,
	    retry_after_s);
}
