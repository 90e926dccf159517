/* check_ratelimit.c - token buckets: refill, burst, keys, eviction, sharing. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ratelimit.h"
#include "settings.h"

#define SUITE_NAME "ratelimit"
#include "check_main.h"

#define MS 1000000LL		/* ns */
#define T0 (1000LL * 1000 * MS)	/* an arbitrary monotonic time */

static struct rl_table *
table_new(void)
{
	struct rl_table	*t = NULL;

	/* As the pool's shared memory has it: a set is one cache line. */
	ck_assert_int_eq(posix_memalign((void **)&t, 64, sizeof(*t)), 0);
	memset(t, 0, sizeof(*t));
	return t;
}

/* One client's calls: at t ms after T0, the verdict and Retry-After. */
struct step {
	long long	 t_ms;
	enum rl_verdict	 v;
	long long	 retry;		/* when RL_LIMIT */
};

static const struct {
	const char	*name;
	long long	 rate, burst;
	struct step	 steps[12];
	int		 n;
} sequences[] = {
	{ "burst of 3, then limited", 1, 3, {
	    { 0, RL_ALLOW, 0 }, { 0, RL_ALLOW, 0 }, { 0, RL_ALLOW, 0 },
	    { 0, RL_LIMIT, 1 }, { 999, RL_LIMIT, 1 },
	    { 1000, RL_ALLOW, 0 }, { 1000, RL_LIMIT, 1 } }, 7 },
	{ "refill: one token per interval", 2, 2, {
	    { 0, RL_ALLOW, 0 }, { 0, RL_ALLOW, 0 }, { 0, RL_LIMIT, 1 },
	    { 500, RL_ALLOW, 0 }, { 500, RL_LIMIT, 1 },
	    { 1000, RL_ALLOW, 0 }, { 5000, RL_ALLOW, 0 },
	    { 5000, RL_ALLOW, 0 }, { 5000, RL_LIMIT, 1 } }, 9 },
	{ "a limited call costs nothing", 1, 1, {
	    { 0, RL_ALLOW, 0 }, { 10, RL_LIMIT, 1 }, { 20, RL_LIMIT, 1 },
	    { 1000, RL_ALLOW, 0 } }, 4 },
	{ "Retry-After rounds up to whole seconds", 1, 1, {
	    { 0, RL_ALLOW, 0 }, { 0, RL_LIMIT, 1 },
	    { 1000, RL_ALLOW, 0 } }, 3 },
	{ "slow rate: Retry-After in seconds", 1, 2, {
	    { 0, RL_ALLOW, 0 }, { 0, RL_ALLOW, 0 }, { 0, RL_LIMIT, 1 },
	    { 100, RL_LIMIT, 1 } }, 4 },
	{ "a polling client (every 2 s) is never limited", 20, 60, {
	    { 0, RL_ALLOW, 0 }, { 2000, RL_ALLOW, 0 }, { 4000, RL_ALLOW, 0 },
	    { 6000, RL_ALLOW, 0 }, { 8000, RL_ALLOW, 0 } }, 5 },
	{ "rate 0 is off", 0, 1, {
	    { 0, RL_OFF, 0 }, { 0, RL_OFF, 0 }, { 0, RL_OFF, 0 } }, 3 },
};

START_TEST(test_sequences)
{
	struct rl_table	*t = table_new();
	int		 i, ev;
	long long	 retry;
	enum rl_verdict	 v;

	for (i = 0; i < sequences[_i].n; i++) {
		const struct step *s = &sequences[_i].steps[i];

		retry = 0;
		v = ratelimit_take_in(t, 0x1234567890abcdefULL,
		    T0 + s->t_ms * MS, sequences[_i].rate,
		    sequences[_i].burst, &retry, &ev);
		ck_assert_msg(v == s->v, "%s, step %d: verdict %d, want %d",
		    sequences[_i].name, i, v, s->v);
		if (v == RL_LIMIT)
			ck_assert_msg(retry == s->retry, "%s, step %d: "
			    "Retry-After %lld, want %lld", sequences[_i].name,
			    i, retry, s->retry);
		ck_assert_int_eq(ev, 0);
	}
	free(t);
}
END_TEST

/*
 * Retry-After rounds the wait up to whole seconds. Since limited calls are
 * not charged, the wait never exceeds one interval, so with rates of at
 * least one call per second (all RATE_LIMIT allows) it is always 1.
 */
START_TEST(test_retry_after_slow)
{
	struct rl_table	*t = table_new();
	long long	 retry = 0;

	/* 1 call per second, burst 1: after 1 call at T0, at T0 + 0.2 s
	 * the next is 0.8 s away: 1 s. */
	ck_assert(ratelimit_take_in(t, 7, T0, 1, 1, &retry, NULL) == RL_ALLOW);
	ck_assert(ratelimit_take_in(t, 7, T0 + 200 * MS, 1, 1, &retry, NULL) ==
	    RL_LIMIT);
	ck_assert_int_eq(retry, 1);
	free(t);
}
END_TEST

/* One client's excess never touches another's bucket. */
START_TEST(test_clients_independent)
{
	struct rl_table	*t = table_new();
	long long	 retry;
	int		 i;

	for (i = 0; i < 100; i++)
		(void)ratelimit_take_in(t, 1111, T0, 1, 5, &retry, NULL);
	ck_assert(ratelimit_take_in(t, 1111, T0, 1, 5, &retry, NULL) ==
	    RL_LIMIT);
	for (i = 0; i < 5; i++)
		ck_assert(ratelimit_take_in(t, 2222, T0, 1, 5, &retry, NULL) ==
		    RL_ALLOW);
	free(t);
}
END_TEST

/* A peek says what a take would, and takes nothing: no call, no slot. */
START_TEST(test_peek)
{
	struct rl_table	*t = table_new();
	long long	 retry = 0;
	int		 i;

	for (i = 0; i < 10; i++)
		ck_assert(ratelimit_peek_in(t, 77, T0, 1, 2, &retry) ==
		    RL_ALLOW);
	for (i = 0; i < RL_SLOTS; i++)
		ck_assert_uint_eq(t->slots[i].key, 0);
	ck_assert(ratelimit_take_in(t, 77, T0, 1, 2, &retry, NULL) == RL_ALLOW);
	ck_assert(ratelimit_peek_in(t, 77, T0, 1, 2, &retry) == RL_ALLOW);
	ck_assert(ratelimit_take_in(t, 77, T0, 1, 2, &retry, NULL) == RL_ALLOW);
	retry = 0;
	ck_assert(ratelimit_peek_in(t, 77, T0, 1, 2, &retry) == RL_LIMIT);
	ck_assert_int_eq(retry, 1);
	ck_assert(ratelimit_take_in(t, 77, T0, 1, 2, &retry, NULL) == RL_LIMIT);
	/* One interval later, one call: the peek agrees, and took nothing. */
	ck_assert(ratelimit_peek_in(t, 77, T0 + 1000 * MS, 1, 2, &retry) ==
	    RL_ALLOW);
	ck_assert(ratelimit_take_in(t, 77, T0 + 1000 * MS, 1, 2, &retry,
	    NULL) == RL_ALLOW);
	ck_assert(ratelimit_peek_in(t, 77, T0 + 1000 * MS, 1, 2, &retry) ==
	    RL_LIMIT);
	/* Another key in the same set is not this one. */
	ck_assert(ratelimit_peek_in(t, 77 ^ 1, T0, 1, 2, &retry) == RL_ALLOW);
	ck_assert(ratelimit_peek_in(NULL, 77, T0, 1, 2, &retry) == RL_OFF);
	ck_assert(ratelimit_peek_in(t, 77, T0, 0, 2, &retry) == RL_OFF);
	ck_assert(ratelimit_peek_in(t, 0, T0, 1, 2, &retry) == RL_OFF);
	free(t);
}
END_TEST

START_TEST(test_off)
{
	struct rl_table	*t = table_new();
	long long	 retry;

	ck_assert(ratelimit_take_in(NULL, 1, T0, 1, 1, &retry, NULL) == RL_OFF);
	ck_assert(ratelimit_take_in(t, 0, T0, 1, 1, &retry, NULL) == RL_OFF);
	ck_assert(ratelimit_take_in(t, 1, T0, 0, 1, &retry, NULL) == RL_OFF);
	free(t);
}
END_TEST

/* Keys that land in the same set: the top bits pick the set. */
#define SAME_SET(i) (((uint64_t)5 << 40) | (uint64_t)(i + 1))

/* The table holds RL_SLOTS clients: RL_WAYS in each set, and no set
 * shares a slot with another (each client keeps its bucket). */
START_TEST(test_capacity)
{
	struct rl_table	*t = table_new();
	long long	 retry;
	uint64_t	 k;
	int		 ev;
	size_t		 s, w;

	for (s = 0; s < RL_SETS; s++)
		for (w = 0; w < RL_WAYS; w++) {
			k = (uint64_t)s << 40 | (w + 1);
			ck_assert(ratelimit_take_in(t, k, T0, 1, 1, &retry,
			    &ev) == RL_ALLOW);
			ck_assert_msg(ev == 0, "set %zu way %zu evicted", s, w);
		}
	/* Each is still there: its bucket (burst 1) is empty. */
	for (s = 0; s < RL_SETS; s++)
		for (w = 0; w < RL_WAYS; w++) {
			k = (uint64_t)s << 40 | (w + 1);
			ck_assert(ratelimit_take_in(t, k, T0, 1, 1, &retry,
			    &ev) == RL_LIMIT);
		}
	ck_assert_uint_eq((uintptr_t)t->slots % 64, 0);
	free(t);
}
END_TEST

START_TEST(test_eviction)
{
	struct rl_table	*t = table_new();
	long long	 retry;
	int		 i, ev;

	/* Fill the set; key 0 is used first, so its TAT is the earliest. */
	for (i = 0; i < RL_WAYS; i++) {
		ck_assert(ratelimit_take_in(t, SAME_SET(i), T0 + i * MS, 1, 2,
		    &retry, &ev) == RL_ALLOW);
		ck_assert_int_eq(ev, 0);
	}
	/* Key 8, 3 s later: every bucket is full again (idle). */
	ck_assert(ratelimit_take_in(t, SAME_SET(RL_WAYS), T0 + 3000 * MS, 1,
	    2, &retry, &ev) == RL_ALLOW);
	ck_assert_int_eq(ev, 1);
	/* Key 0 was the one given up: it comes back with a full bucket and
	 * takes the slot of the next earliest (key 1), still idle. */
	ck_assert(ratelimit_take_in(t, SAME_SET(0), T0 + 3000 * MS, 1, 2,
	    &retry, &ev) == RL_ALLOW);
	ck_assert_int_eq(ev, 1);
	/* Now every entry is active at the same instant: drain them all. */
	for (i = 2; i <= RL_WAYS; i++)
		(void)ratelimit_take_in(t, SAME_SET(i), T0 + 3000 * MS, 1, 2,
		    &retry, NULL);
	ck_assert(ratelimit_take_in(t, SAME_SET(RL_WAYS + 1), T0 + 3000 * MS,
	    1, 2, &retry, &ev) == RL_ALLOW);
	ck_assert_int_eq(ev, 2);	/* someone's state was lost */
	/* Other sets are untouched by all this. */
	ck_assert(ratelimit_take_in(t, ((uint64_t)6 << 40) | 1, T0, 1, 1,
	    &retry, &ev) == RL_ALLOW);
	ck_assert_int_eq(ev, 0);
	free(t);
}
END_TEST

START_TEST(test_keys)
{
	struct rl_table *t = table_new();

	ratelimit_attach(t);
	ck_assert(t->seed != 0);
	ck_assert_uint_eq(ratelimit_key(RL_USER, NULL), 0);
	ck_assert_uint_eq(ratelimit_key(RL_USER, ""), 0);
	ck_assert_uint_eq(ratelimit_key(RL_ADDRESS, "unix:"), 0);
	ck_assert_uint_eq(ratelimit_key(RL_ADDRESS, "not an address"), 0);
	ck_assert_uint_ne(ratelimit_key(RL_USER,
	    "11111111-1111-4111-8111-111111111111"), 0);
	ck_assert_uint_ne(ratelimit_key(RL_USER,
	    "11111111-1111-4111-8111-111111111111"),
	    ratelimit_key(RL_USER, "11111111-1111-4111-8111-111111111112"));
	/* The same text as a user and as an address are two clients. */
	ck_assert_uint_ne(ratelimit_key(RL_USER, "10.0.0.1"),
	    ratelimit_key(RL_ADDRESS, "10.0.0.1"));
	ck_assert_uint_ne(ratelimit_key(RL_ADDRESS, "10.0.0.1"),
	    ratelimit_key(RL_ADDRESS, "10.0.0.2"));
	ck_assert_uint_eq(ratelimit_key(RL_ADDRESS, "10.0.0.1"),
	    ratelimit_key(RL_ADDRESS, "::ffff:10.0.0.1"));
	/* IPv6: one /64 is one client. */
	ck_assert_uint_eq(ratelimit_key(RL_ADDRESS, "2001:db8:1:2::1"),
	    ratelimit_key(RL_ADDRESS, "2001:db8:1:2:ffff:ffff:ffff:ffff"));
	ck_assert_uint_ne(ratelimit_key(RL_ADDRESS, "2001:db8:1:2::1"),
	    ratelimit_key(RL_ADDRESS, "2001:db8:1:3::1"));
	ratelimit_attach(NULL);
	free(t);
}
END_TEST

/*
 * Processes sharing one table (as the pool's workers do) never let more
 * than the burst through at one instant, and never lose a call to a race.
 */
START_TEST(test_shared_processes)
{
	enum { PROCS = 4, CALLS = 2000, BURST = 1000 };
	struct rl_table	*t;
	int		*allowed, i, status;
	pid_t		 pids[PROCS];

	t = mmap(NULL, sizeof(*t) + sizeof(int) * PROCS,
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert(t != MAP_FAILED);
	allowed = (int *)(void *)(t + 1);
	for (i = 0; i < PROCS; i++) {
		if ((pids[i] = fork()) == 0) {
			long long	 retry;
			int		 k, n = 0;

			for (k = 0; k < CALLS; k++)
				n += ratelimit_take_in(t, 42, T0, 1, BURST,
				    &retry, NULL) == RL_ALLOW;
			allowed[i] = n;
			_exit(0);
		}
		ck_assert_int_gt(pids[i], 0);
	}
	status = 0;
	for (i = 0; i < PROCS; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	for (i = 1; i < PROCS; i++)
		allowed[0] += allowed[i];
	ck_assert_int_eq(allowed[0], BURST);
	munmap(t, sizeof(*t) + sizeof(int) * PROCS);
}
END_TEST

/*
 * The shipped defaults against an honest front end, in simulated time: one
 * user with `pages` course pages open, each polling every 2 s (the
 * contract's hook) at its own phase, who opens the course list at once (a
 * full batch, MAX_BATCH 32 calls) and whose network comes back every
 * minute (every page refetches at once). Ten minutes, 1 ms steps. Returns
 * the number of limited calls.
 */
static int
honest_user(long long rate, long long burst, int pages)
{
	struct rl_table	*t = table_new();
	long long	 retry;
	int		 limited = 0, i, ms;

	for (i = 0; i < 32; i++)
		limited += ratelimit_take_in(t, 99, T0, rate, burst, &retry,
		    NULL) == RL_LIMIT;
	for (ms = 1; ms < 600 * 1000; ms++) {
		for (i = 0; i < pages; i++) {
			bool reconnect = ms % 60000 == 0;

			if (!reconnect && (ms + i * 1999 / pages) % 2000 != 0)
				continue;
			limited += ratelimit_take_in(t, 99, T0 + ms * MS, rate,
			    burst, &retry, NULL) == RL_LIMIT;
		}
	}
	free(t);
	return limited;
}

START_TEST(test_defaults_spare_honest_front_ends)
{
	struct settings	 set;
	char		 err[256];

	/* The defaults as shipped, not copies of them. */
	unsetenv("RATE_LIMIT");
	unsetenv("RATE_LIMIT_BURST");
	unsetenv("COURSEGEN_CONFIG");
	setenv("DATABASE_URL", "postgresql:///unused", 1);
	setenv("JWT_SECRET", "a-secret-of-at-least-32-bytes-for-hs256", 1);
	memset(&set, 0, sizeof(set));
	ck_assert_msg(settings_load(&set, NULL, err, sizeof(err)) == 0, "%s",
	    err);
	/* 30 pages (15 calls/s) with the bursts: never limited. */
	ck_assert_int_eq(honest_user(set.rate_limit, set.rate_limit_burst, 1),
	    0);
	ck_assert_int_eq(honest_user(set.rate_limit, set.rate_limit_burst, 30),
	    0);
	/* 50 pages (25 calls/s) is past the rate: the model does limit. */
	ck_assert_int_gt(honest_user(set.rate_limit, set.rate_limit_burst, 50),
	    0);
	settings_free(&set);
}
END_TEST

static void
add_tests(TCase *tc)
{
	tcase_add_loop_test(tc, test_sequences, 0, N(sequences));
	tcase_add_test(tc, test_retry_after_slow);
	tcase_add_test(tc, test_clients_independent);
	tcase_add_test(tc, test_peek);
	tcase_add_test(tc, test_off);
	tcase_add_test(tc, test_capacity);
	tcase_add_test(tc, test_eviction);
	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_shared_processes);
	tcase_add_test(tc, test_defaults_spare_honest_front_ends);
}
