/*
 * metrics.h - counters in the Prometheus text format. In the standalone pool
 * they live in memory the master maps before forking, so every worker (and
 * the master, for restarts) adds to the same numbers and any worker answers
 * a scrape for the whole pool; elsewhere they are per process. The rate
 * limiter's table (ratelimit.h) lives in the same memory, for the same
 * reason.
 */
#ifndef CS_METRICS_H
#define CS_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "ratelimit.h"
#include "trpc.h"

/* Procedures, for the calls counter. */
enum metrics_proc {
	MP_GET_STATUS,		/* generation.getStatus */
	MP_UNKNOWN,		/* anything else (404) */
	MP_NONE,		/* request-level errors, before any call */
	MP__MAX
};

enum metrics_db {
	MDB_UNAVAILABLE,
	MDB_TIMEOUT,
	MDB_SCHEMA,
	MDB_OTHER,
	MDB__MAX
};

enum metrics_restart {
	MR_CRASH,
	MR_RECYCLE,
	MR_RELOAD,
	MR__MAX
};

/* Where the counters live. */
enum metrics_memory {
	METRICS_PRIVATE,	/* this process alone */
	METRICS_SHARED		/* MAP_SHARED, mapped before fork: the pool */
};

/*
 * Map the counters. Calling it again is a no-op. Returns 0, or -1 when
 * memory cannot be had (the counters then stay off and every call below
 * does nothing).
 */
int	 metrics_init(enum metrics_memory);

/* One call's outcome: answered, or failed with the error code. */
void	 metrics_call_ok(enum metrics_proc);
void	 metrics_call_failed(enum metrics_proc, enum trpc_code);
/* One request's time, in microseconds. */
void	 metrics_latency(uint64_t us);
void	 metrics_db_reconnect(void);
void	 metrics_db_error(enum metrics_db);
/* A look-up in one of the caches, and what it found. */
enum metrics_cache_of {
	MC_STATUS,		/* the status cache (cache.h) */
	MC_TOKENS		/* the token cache (auth.h) */
};
enum metrics_lookup {
	ML_MISS,
	ML_HIT
};
void	 metrics_cache(enum metrics_cache_of, enum metrics_lookup);
void	 metrics_restart(enum metrics_restart);
/* One call checked by the rate limiter; a table entry given up. */
void	 metrics_ratelimit(enum rl_kind, enum rl_verdict);
void	 metrics_ratelimit_evict(bool active);
/* One CORS preflight answered (204) or refused (403). */
void	 metrics_cors_preflight(bool allowed);
/* One call refused so before its token was verified. */
void	 metrics_ratelimit_unverified(void);
/* The status cache: a change notification applied (flushed: it emptied
 * the cache), the cache emptied after a reconnect, the mode it is in. */
enum metrics_cache_mode {
	MCM_OFF,
	MCM_TTL,
	MCM_EXACT,
	MCM__MAX
};
void	 metrics_cache_notice(bool flushed);
void	 metrics_cache_flush(void);
void	 metrics_cache_mode(enum metrics_cache_mode);
/* Append the exposition (text format 0.0.4) to out. */
void	 metrics_render(struct buf *out);

/*
 * The pool's status: one slot per worker in the shared memory, claimed by
 * the master before fork (metrics_slot_reserve, then metrics_slot_set with
 * the child's pid), taken by the child (metrics_slot_use), freed when the
 * master reaps it. A worker marks itself busy while it answers a request.
 */
#define METRICS_SLOTS	2048
int	 metrics_slot_reserve(void);		/* -1: none free */
void	 metrics_slot_set(int slot, long pid);
void	 metrics_slot_use(int slot);		/* in the child */
void	 metrics_slot_release(int slot);
void	 metrics_worker_busy(void);
void	 metrics_worker_idle(void);
/* A reload that went through, or was refused (the old workers stayed). */
void	 metrics_reload_done(void);
void	 metrics_reload_refused(void);
/* The human status page (text/plain): version, start, workers, requests. */
void	 metrics_render_status(struct buf *out);

#endif
