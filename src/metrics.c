/* metrics.c - shared counters and their Prometheus exposition. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"

/* Latency bucket bounds in microseconds (le labels in seconds). */
static const uint64_t bucket_us[] = {
	250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
	500000, 1000000, 2500000,
};
#define NBUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))

/*
 * The counters, in shards: each worker adds to the shard of its slot, and
 * the exposition sums them. One set shared by the pool's workers cost
 * every request a dozen cache lines taken over from another core.
 */
struct counters {
	uint64_t	 calls[MP__MAX][TRPC__MAX + 1];	/* [..][TRPC__MAX] = OK */
	uint64_t	 buckets[NBUCKETS];
	uint64_t	 lat_count;
	uint64_t	 lat_sum_us;
	uint64_t	 db_reconnects;
	uint64_t	 db_errors[MDB__MAX];
	uint64_t	 cache[2][2];			/* [token?][hit?] */
	uint64_t	 restarts[MR__MAX];
	uint64_t	 reloads[2];			/* [ok?] */
	uint64_t	 ratelimit[RL__MAX][2];		/* [kind][limited?] */
	uint64_t	 rl_evictions[2];		/* [active?] */
	uint64_t	 rl_unverified;
	uint64_t	 cors_preflights[2];		/* [allowed?] */
	uint64_t	 cache_notices;
	uint64_t	 cache_flushes;
} __attribute__((aligned(64)));

/* Shards: a pool of more workers than this shares some (atomically). */
#define METRICS_SHARDS	64

struct shared {
	struct counters	 shard[METRICS_SHARDS];
	/* the pool's status */
	int64_t		 start_time;			/* epoch seconds */
	uint64_t	 cache_mode;			/* the last one set */
	struct {
		int32_t	 pid;				/* 0 free, -1 reserved */
		uint32_t busy;
	} __attribute__((aligned(64))) slots[METRICS_SLOTS];
	/* Not a counter: the rate limiter's table, shared the same way. */
	struct rl_table	 rl;
};

static struct shared *m;
static struct counters *mine;	/* this process's shard */
static int my_slot = -1;

static void	 render_pool(struct buf *);

int
metrics_init(enum metrics_memory mem)
{
	void *p;

	if (m != NULL)
		return 0;
	if (mem == METRICS_SHARED) {
		p = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -1;
	} else {
		/* The shards' alignment (a cache line), as mmap gives. */
		if (posix_memalign(&p, 64, sizeof(*m)) != 0)
			return -1;
		memset(p, 0, sizeof(*m));
	}
	m = p;
	mine = &m->shard[0];
	m->start_time = (int64_t)time(NULL);
	ratelimit_attach(&m->rl);
	return 0;
}

/* Relaxed atomic add: counters need no ordering, only no lost updates. */
#define ADD(x, n) __atomic_add_fetch(&(x), (n), __ATOMIC_RELAXED)
#define GET(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* A counter summed over the shards: SUM(calls[p][c]). */
#define SUM(f) total(&m->shard[0].f)

static uint64_t
total(const uint64_t *in_first)
{
	size_t		 off = (size_t)((const char *)in_first -
			    (const char *)&m->shard[0]), i;
	uint64_t	 t = 0;

	for (i = 0; i < METRICS_SHARDS; i++)
		t += GET(*(const uint64_t *)(const void *)
		    ((const char *)&m->shard[i] + off));
	return t;
}

/* calls[p][TRPC__MAX] counts the answered calls, calls[p][c] the failed. */
static void
count_call(enum metrics_proc p, enum trpc_code c)
{
	if (m != NULL && p < MP__MAX && c <= TRPC__MAX)
		ADD(mine->calls[p][c], 1);
}

void
metrics_call_ok(enum metrics_proc p)
{
	count_call(p, TRPC__MAX);
}

void
metrics_call_failed(enum metrics_proc p, enum trpc_code c)
{
	if (c < TRPC__MAX)
		count_call(p, c);
}

void
metrics_latency(uint64_t us)
{
	size_t i;

	if (m == NULL)
		return;
	/* Cumulative buckets are summed at render time. */
	for (i = 0; i < NBUCKETS && us > bucket_us[i]; i++)
		;
	if (i < NBUCKETS)
		ADD(mine->buckets[i], 1);
	ADD(mine->lat_count, 1);
	ADD(mine->lat_sum_us, us);
}

void
metrics_db_reconnect(void)
{
	if (m != NULL)
		ADD(mine->db_reconnects, 1);
}

void
metrics_db_error(enum metrics_db k)
{
	if (m != NULL && k < MDB__MAX)
		ADD(mine->db_errors[k], 1);
}

void
metrics_cache(enum metrics_cache_of which, enum metrics_lookup found)
{
	if (m != NULL)
		ADD(mine->cache[which == MC_TOKENS][found == ML_HIT], 1);
}

void
metrics_restart(enum metrics_restart r)
{
	if (m != NULL && r < MR__MAX)
		ADD(mine->restarts[r], 1);
}

void
metrics_ratelimit(enum rl_kind k, enum rl_verdict v)
{
	if (m != NULL && k < RL__MAX)
		ADD(mine->ratelimit[k][v == RL_LIMIT], 1);
}

void
metrics_cors_preflight(bool allowed)
{
	if (m != NULL)
		ADD(mine->cors_preflights[allowed], 1);
}

void
metrics_ratelimit_unverified(void)
{
	if (m != NULL)
		ADD(mine->rl_unverified, 1);
}

void
metrics_ratelimit_evict(bool active)
{
	if (m != NULL)
		ADD(mine->rl_evictions[active], 1);
}

void
metrics_cache_notice(bool flushed)
{
	if (m == NULL)
		return;
	ADD(mine->cache_notices, 1);
	if (flushed)
		ADD(mine->cache_flushes, 1);
}

void
metrics_cache_flush(void)
{
	if (m != NULL)
		ADD(mine->cache_flushes, 1);
}

void
metrics_cache_mode(enum metrics_cache_mode mode)
{
	if (m != NULL && mode < MCM__MAX)
		__atomic_store_n(&m->cache_mode, (uint64_t)mode,
		    __ATOMIC_RELAXED);
}

static const char *const proc_names[MP__MAX] = {
	"generation.getStatus", "unknown", "none",
};
static const char *const db_names[MDB__MAX] = {
	"unavailable", "timeout", "schema", "other",
};
static const char *const restart_names[MR__MAX] = {
	"crash", "recycle", "reload",
};

void
metrics_render(struct buf *out)
{
	uint64_t	 cum = 0, v;
	size_t		 p, c, i;

	if (m == NULL)
		return;
	buf_puts(out, "# HELP coursegen_calls_total tRPC calls answered, by "
	    "procedure and code.\n# TYPE coursegen_calls_total counter\n");
	for (p = 0; p < MP__MAX; p++)
		for (c = 0; c <= TRPC__MAX; c++)
			if ((v = SUM(calls[p][c])) > 0)
				buf_printf(out, "coursegen_calls_total{procedure="
				    "\"%s\",code=\"%s\"} %llu\n", proc_names[p],
				    c == TRPC__MAX ? "OK" :
				    trpc_code_info((enum trpc_code)c)->key,
				    (unsigned long long)v);

	buf_puts(out, "# HELP coursegen_request_duration_seconds Time to "
	    "answer one request.\n# TYPE coursegen_request_duration_seconds "
	    "histogram\n");
	for (i = 0; i < NBUCKETS; i++) {
		cum += SUM(buckets[i]);
		buf_printf(out, "coursegen_request_duration_seconds_bucket"
		    "{le=\"%g\"} %llu\n", (double)bucket_us[i] / 1e6,
		    (unsigned long long)cum);
	}
	buf_printf(out, "coursegen_request_duration_seconds_bucket{le=\"+Inf\"}"
	    " %llu\ncoursegen_request_duration_seconds_sum %.6f\n"
	    "coursegen_request_duration_seconds_count %llu\n",
	    (unsigned long long)SUM(lat_count),
	    (double)SUM(lat_sum_us) / 1e6,
	    (unsigned long long)SUM(lat_count));

	buf_printf(out, "# HELP coursegen_db_reconnects_total Database "
	    "connections opened again after a failure.\n"
	    "# TYPE coursegen_db_reconnects_total counter\n"
	    "coursegen_db_reconnects_total %llu\n",
	    (unsigned long long)SUM(db_reconnects));
	buf_puts(out, "# HELP coursegen_db_errors_total Failed status "
	    "queries, by kind.\n# TYPE coursegen_db_errors_total counter\n");
	for (i = 0; i < MDB__MAX; i++)
		buf_printf(out, "coursegen_db_errors_total{kind=\"%s\"} %llu\n",
		    db_names[i], (unsigned long long)SUM(db_errors[i]));

	buf_puts(out, "# HELP coursegen_cache_requests_total Cache lookups, "
	    "by cache and result.\n# TYPE coursegen_cache_requests_total "
	    "counter\n");
	for (i = 0; i < 4; i++)
		buf_printf(out, "coursegen_cache_requests_total{cache=\"%s\","
		    "result=\"%s\"} %llu\n", i / 2 ? "token" : "status",
		    i % 2 ? "hit" : "miss",
		    (unsigned long long)SUM(cache[i / 2][i % 2]));

	buf_printf(out, "# HELP coursegen_cache_notifications_total Change "
	    "notifications applied to the status cache.\n"
	    "# TYPE coursegen_cache_notifications_total counter\n"
	    "coursegen_cache_notifications_total %llu\n"
	    "# HELP coursegen_cache_flushes_total Times the status cache was "
	    "emptied (connection opened or lost, TRUNCATE, unknown payload).\n"
	    "# TYPE coursegen_cache_flushes_total counter\n"
	    "coursegen_cache_flushes_total %llu\n",
	    (unsigned long long)SUM(cache_notices),
	    (unsigned long long)SUM(cache_flushes));
	buf_puts(out, "# HELP coursegen_cache_mode The status cache's mode "
	    "(exact: kept by change notifications; ttl: entries expire).\n"
	    "# TYPE coursegen_cache_mode gauge\n");
	for (i = 0; i < MCM__MAX; i++)
		buf_printf(out, "coursegen_cache_mode{mode=\"%s\"} %d\n",
		    i == MCM_OFF ? "off" : i == MCM_TTL ? "ttl" : "exact",
		    GET(m->cache_mode) == i);

	buf_puts(out, "# HELP coursegen_worker_restarts_total Workers the "
	    "master replaced, by reason.\n# TYPE "
	    "coursegen_worker_restarts_total counter\n");
	for (i = 0; i < MR__MAX; i++)
		buf_printf(out, "coursegen_worker_restarts_total{reason=\"%s\"}"
		    " %llu\n", restart_names[i],
		    (unsigned long long)SUM(restarts[i]));

	buf_puts(out, "# HELP coursegen_ratelimit_calls_total Calls checked "
	    "by the rate limiter, by client key and result.\n# TYPE "
	    "coursegen_ratelimit_calls_total counter\n");
	for (i = 0; i < RL__MAX * 2; i++)
		buf_printf(out, "coursegen_ratelimit_calls_total{key=\"%s\","
		    "result=\"%s\"} %llu\n", i / 2 ? "address" : "user",
		    i % 2 ? "limited" : "allowed",
		    (unsigned long long)SUM(ratelimit[i / 2][i % 2]));
	buf_printf(out, "# HELP coursegen_ratelimit_unverified_total Calls "
	    "refused before their token was verified (their address past its "
	    "limit, the token unknown to the token cache); also counted as "
	    "limited address calls.\n# TYPE coursegen_ratelimit_unverified_total"
	    " counter\ncoursegen_ratelimit_unverified_total %llu\n",
	    (unsigned long long)SUM(rl_unverified));
	buf_puts(out, "# HELP coursegen_ratelimit_evictions_total Clients "
	    "dropped from the rate limiter's table for another, by state "
	    "(active: its bucket was not full again, so it starts afresh)."
	    "\n# TYPE coursegen_ratelimit_evictions_total counter\n");
	for (i = 0; i < 2; i++)
		buf_printf(out, "coursegen_ratelimit_evictions_total{state="
		    "\"%s\"} %llu\n", i ? "active" : "idle",
		    (unsigned long long)SUM(rl_evictions[i]));

	buf_puts(out, "# HELP coursegen_cors_preflights_total CORS preflights "
	    "answered, by result (refused: an origin not in CORS_ORIGINS)."
	    "\n# TYPE coursegen_cors_preflights_total counter\n");
	for (i = 0; i < 2; i++)
		buf_printf(out, "coursegen_cors_preflights_total{result=\"%s\"}"
		    " %llu\n", i ? "allowed" : "refused",
		    (unsigned long long)SUM(cors_preflights[i]));
	render_pool(out);
}

int
metrics_slot_reserve(void)
{
	int i;

	if (m == NULL)
		return -1;
	for (i = 0; i < METRICS_SLOTS; i++)
		if (m->slots[i].pid == 0) {
			__atomic_store_n(&m->slots[i].busy, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&m->slots[i].pid, -1, __ATOMIC_RELAXED);
			return i;
		}
	return -1;
}

void
metrics_slot_set(int slot, long pid)
{
	if (m != NULL && slot >= 0 && slot < METRICS_SLOTS)
		__atomic_store_n(&m->slots[slot].pid, (int32_t)pid,
		    __ATOMIC_RELAXED);
}

void
metrics_slot_use(int slot)
{
	my_slot = slot;
	if (m != NULL && slot >= 0)
		mine = &m->shard[slot % METRICS_SHARDS];
	metrics_slot_set(slot, (long)getpid());
}

void
metrics_slot_release(int slot)
{
	if (m != NULL && slot >= 0 && slot < METRICS_SLOTS) {
		__atomic_store_n(&m->slots[slot].busy, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&m->slots[slot].pid, 0, __ATOMIC_RELAXED);
	}
}

static void
set_busy(int busy)
{
	if (m != NULL && my_slot >= 0)
		__atomic_store_n(&m->slots[my_slot].busy, busy,
		    __ATOMIC_RELAXED);
}

void
metrics_worker_busy(void)
{
	set_busy(1);
}

void
metrics_worker_idle(void)
{
	set_busy(0);
}

/* reloads[1] counts the reloads that went through, reloads[0] the refused. */
void
metrics_reload_done(void)
{
	if (m != NULL)
		ADD(mine->reloads[1], 1);
}

void
metrics_reload_refused(void)
{
	if (m != NULL)
		ADD(mine->reloads[0], 1);
}

static void
count_workers(uint64_t *busy, uint64_t *idle)
{
	int i;

	*busy = *idle = 0;
	for (i = 0; i < METRICS_SLOTS; i++)
		if (GET(m->slots[i].pid) > 0) {
			if (GET(m->slots[i].busy))
				(*busy)++;
			else
				(*idle)++;
		}
}

/* The gauges of the pool, after the counters (called by metrics_render). */
static void
render_pool(struct buf *out)
{
	uint64_t busy, idle;

	count_workers(&busy, &idle);
	buf_printf(out, "# HELP coursegen_workers Worker processes, by "
	    "state (busy: answering a request).\n# TYPE coursegen_workers "
	    "gauge\ncoursegen_workers{state=\"busy\"} %llu\n"
	    "coursegen_workers{state=\"idle\"} %llu\n",
	    (unsigned long long)busy, (unsigned long long)idle);
	buf_printf(out, "# HELP coursegen_start_time_seconds When the pool "
	    "(or this process) started, in seconds since the epoch.\n"
	    "# TYPE coursegen_start_time_seconds gauge\n"
	    "coursegen_start_time_seconds %lld\n", (long long)m->start_time);
	buf_printf(out, "# HELP coursegen_reloads_total Reloads, by result "
	    "(failed: the old workers kept serving).\n# TYPE "
	    "coursegen_reloads_total counter\n"
	    "coursegen_reloads_total{result=\"ok\"} %llu\n"
	    "coursegen_reloads_total{result=\"failed\"} %llu\n",
	    (unsigned long long)SUM(reloads[1]),
	    (unsigned long long)SUM(reloads[0]));
	buf_printf(out, "# HELP coursegen_build_info The running version.\n"
	    "# TYPE coursegen_build_info gauge\n"
	    "coursegen_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
}

void
metrics_render_status(struct buf *out)
{
	uint64_t	 busy, idle;
	time_t		 start;
	struct tm	 tm;
	char		 when[32] = "?";

	if (m == NULL) {
		buf_puts(out, "status unavailable\n");
		return;
	}
	count_workers(&busy, &idle);
	start = (time_t)m->start_time;
	if (gmtime_r(&start, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	buf_printf(out, "%s\n"
	    "start time:      %s\n"
	    "uptime:          %lld s\n"
	    "workers:         %llu (busy %llu, idle %llu)\n"
	    "requests:        %llu\n"
	    "worker restarts: crash %llu, recycle %llu, reload %llu\n"
	    "reloads:         ok %llu, failed %llu\n",
	    PACKAGE_STRING, when, (long long)(time(NULL) - start),
	    (unsigned long long)(busy + idle), (unsigned long long)busy,
	    (unsigned long long)idle, (unsigned long long)SUM(lat_count),
	    (unsigned long long)SUM(restarts[MR_CRASH]),
	    (unsigned long long)SUM(restarts[MR_RECYCLE]),
	    (unsigned long long)SUM(restarts[MR_RELOAD]),
	    (unsigned long long)SUM(reloads[1]),
	    (unsigned long long)SUM(reloads[0]));
}
