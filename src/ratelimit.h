/*
 * ratelimit.h - per-client token buckets (GCRA) in a fixed-size table.
 *
 * A client is a user id (from a valid token) or, for calls without one, a
 * client address (IPv4, or the /64 of an IPv6 address). Each client has one
 * 64-bit "theoretical arrival time" (TAT); a call is allowed while the TAT
 * is at most burst-1 intervals ahead of now, and moves it one interval on.
 * That is a token bucket of `burst` tokens refilled at `rate` per second,
 * kept in one word updated with compare-and-swap: no lock, so a worker that
 * dies in the middle holds nothing up, and workers never wait on each other.
 *
 * The table lives in memory the caller provides (in the standalone pool,
 * inside the shared mapping the master makes for the metrics before
 * forking, so the limit holds for the pool as a whole). It has RL_SLOTS
 * slots in sets of RL_WAYS; a client is found by a seeded 64-bit hash of
 * its key. A full set gives up its entry with the earliest TAT: an idle
 * entry (TAT in the past) holds nothing a fresh bucket would not, and an
 * active one evicted means that client starts again with a full bucket
 * (the limiter fails open, never against an honest client); both are
 * counted in the metrics.
 */
#ifndef CS_RATELIMIT_H
#define CS_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A set is one cache line: a call reads and writes one line that other
 * processes of the pool may have written. */
#define RL_WAYS		4
#define RL_SETS		4096
#define RL_SLOTS	(RL_WAYS * RL_SETS)	/* 16384 clients, 256 KiB */

struct rl_slot {
	uint64_t	 key;		/* hash of the client; 0: empty */
	int64_t		 tat;		/* ns on CLOCK_MONOTONIC */
};

/* The shared part: a hash seed and the slots. Zeroed memory is a valid
 * empty table (the seed is set by ratelimit_attach). */
struct rl_table {
	uint64_t	 seed;
	struct rl_slot	 slots[RL_SLOTS] __attribute__((aligned(64)));
};

enum rl_kind {
	RL_USER,		/* a user id (UUID text) */
	RL_ADDRESS,		/* REMOTE_ADDR */
	RL__MAX
};

/* The verdict of one call. */
enum rl_verdict {
	RL_ALLOW,
	RL_LIMIT,
	RL_OFF			/* no table, or rate 0: not counted */
};

/*
 * Use `t` (zeroed memory, or a table already in use by other processes)
 * from now on in this process; seeds it if it has no seed yet. NULL turns
 * the limiter off (plain CGI: no state outlives a request).
 */
void	 ratelimit_attach(struct rl_table *t);

/*
 * The 64-bit key of a client: for RL_USER the text of the user id, for
 * RL_ADDRESS a numeric IPv4 or IPv6 address (IPv6 reduced to its /64, so
 * one host cannot walk its prefix to get fresh buckets). Returns 0 when
 * the id is NULL or empty, or the address not numeric (the call is then
 * not limited by key: there is nothing to key it by).
 */
uint64_t ratelimit_key(enum rl_kind, const char *id);

/*
 * Take one call from the bucket of `key` at time now_ns (CLOCK_MONOTONIC),
 * `rate` calls per second, `burst` at most at once. RL_LIMIT sets
 * *retry_after_s to the whole seconds after which a call will be allowed
 * again (at least 1). *evicted (may be NULL) is set to 1 when an idle
 * entry and 2 when an active one was given up for this client, else 0.
 */
enum rl_verdict ratelimit_take(uint64_t key, int64_t now_ns, long long rate,
	    long long burst, long long *retry_after_s, int *evicted);

/*
 * Whether ratelimit_take would limit `key` now, without taking a call or
 * claiming a slot (an absent client is RL_ALLOW): to refuse a call before
 * paying for what it would take to know its client (a token's signature).
 */
enum rl_verdict ratelimit_peek(uint64_t key, int64_t now_ns, long long rate,
	    long long burst, long long *retry_after_s);

/* The same on an explicit table (tests). */
enum rl_verdict ratelimit_peek_in(struct rl_table *, uint64_t key,
	    int64_t now_ns, long long rate, long long burst,
	    long long *retry_after_s);
enum rl_verdict ratelimit_take_in(struct rl_table *, uint64_t key,
	    int64_t now_ns, long long rate, long long burst,
	    long long *retry_after_s, int *evicted);

#endif
