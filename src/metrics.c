/* metrics.c - shared counters and their Prometheus exposition. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "metrics.h"

/* Latency bucket bounds in microseconds (le labels in seconds). */
static const uint64_t bucket_us[] = {
	250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
	500000, 1000000, 2500000,
};
#define NBUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))

struct counters {
	uint64_t	 calls[MP__MAX][TRPC__MAX + 1];	/* [..][TRPC__MAX] = OK */
	uint64_t	 buckets[NBUCKETS];
	uint64_t	 lat_count;
	uint64_t	 lat_sum_us;
	uint64_t	 db_reconnects;
	uint64_t	 db_errors[MDB__MAX];
	uint64_t	 cache[2][2];			/* [token?][hit?] */
	uint64_t	 restarts[MR__MAX];
	uint64_t	 cache_notices;
	uint64_t	 cache_flushes;
	uint64_t	 cache_mode;			/* the last one set */
};

static struct counters *m;

int
metrics_init(bool shared)
{
	void *p;

	if (m != NULL)
		return 0;
	if (shared) {
		p = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -1;
	} else if ((p = calloc(1, sizeof(*m))) == NULL)
		return -1;
	m = p;
	return 0;
}

/* Relaxed atomic add: counters need no ordering, only no lost updates. */
#define ADD(x, n) __atomic_add_fetch(&(x), (n), __ATOMIC_RELAXED)
#define GET(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

void
metrics_call(enum metrics_proc p, bool ok, enum trpc_code c)
{
	if (m != NULL && p < MP__MAX && c <= TRPC__MAX)
		ADD(m->calls[p][ok ? TRPC__MAX : c], 1);
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
		ADD(m->buckets[i], 1);
	ADD(m->lat_count, 1);
	ADD(m->lat_sum_us, us);
}

void
metrics_db_reconnect(void)
{
	if (m != NULL)
		ADD(m->db_reconnects, 1);
}

void
metrics_db_error(enum metrics_db k)
{
	if (m != NULL && k < MDB__MAX)
		ADD(m->db_errors[k], 1);
}

void
metrics_cache(bool token_cache, bool hit)
{
	if (m != NULL)
		ADD(m->cache[token_cache][hit], 1);
}

void
metrics_restart(enum metrics_restart r)
{
	if (m != NULL && r < MR__MAX)
		ADD(m->restarts[r], 1);
}

void
metrics_cache_notice(bool flushed)
{
	if (m == NULL)
		return;
	ADD(m->cache_notices, 1);
	if (flushed)
		ADD(m->cache_flushes, 1);
}

void
metrics_cache_flush(void)
{
	if (m != NULL)
		ADD(m->cache_flushes, 1);
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
			if ((v = GET(m->calls[p][c])) > 0)
				buf_printf(out, "coursegen_calls_total{procedure="
				    "\"%s\",code=\"%s\"} %llu\n", proc_names[p],
				    c == TRPC__MAX ? "OK" :
				    trpc_code_info((enum trpc_code)c)->key,
				    (unsigned long long)v);

	buf_puts(out, "# HELP coursegen_request_duration_seconds Time to "
	    "answer one request.\n# TYPE coursegen_request_duration_seconds "
	    "histogram\n");
	for (i = 0; i < NBUCKETS; i++) {
		cum += GET(m->buckets[i]);
		buf_printf(out, "coursegen_request_duration_seconds_bucket"
		    "{le=\"%g\"} %llu\n", (double)bucket_us[i] / 1e6,
		    (unsigned long long)cum);
	}
	buf_printf(out, "coursegen_request_duration_seconds_bucket{le=\"+Inf\"}"
	    " %llu\ncoursegen_request_duration_seconds_sum %.6f\n"
	    "coursegen_request_duration_seconds_count %llu\n",
	    (unsigned long long)GET(m->lat_count),
	    (double)GET(m->lat_sum_us) / 1e6,
	    (unsigned long long)GET(m->lat_count));

	buf_printf(out, "# HELP coursegen_db_reconnects_total Database "
	    "connections opened again after a failure.\n"
	    "# TYPE coursegen_db_reconnects_total counter\n"
	    "coursegen_db_reconnects_total %llu\n",
	    (unsigned long long)GET(m->db_reconnects));
	buf_puts(out, "# HELP coursegen_db_errors_total Failed status "
	    "queries, by kind.\n# TYPE coursegen_db_errors_total counter\n");
	for (i = 0; i < MDB__MAX; i++)
		buf_printf(out, "coursegen_db_errors_total{kind=\"%s\"} %llu\n",
		    db_names[i], (unsigned long long)GET(m->db_errors[i]));

	buf_puts(out, "# HELP coursegen_cache_requests_total Cache lookups, "
	    "by cache and result.\n# TYPE coursegen_cache_requests_total "
	    "counter\n");
	for (i = 0; i < 4; i++)
		buf_printf(out, "coursegen_cache_requests_total{cache=\"%s\","
		    "result=\"%s\"} %llu\n", i / 2 ? "token" : "status",
		    i % 2 ? "hit" : "miss",
		    (unsigned long long)GET(m->cache[i / 2][i % 2]));

	buf_printf(out, "# HELP coursegen_cache_notifications_total Change "
	    "notifications applied to the status cache.\n"
	    "# TYPE coursegen_cache_notifications_total counter\n"
	    "coursegen_cache_notifications_total %llu\n"
	    "# HELP coursegen_cache_flushes_total Times the status cache was "
	    "emptied (connection opened or lost, TRUNCATE, unknown payload).\n"
	    "# TYPE coursegen_cache_flushes_total counter\n"
	    "coursegen_cache_flushes_total %llu\n",
	    (unsigned long long)GET(m->cache_notices),
	    (unsigned long long)GET(m->cache_flushes));
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
		    (unsigned long long)GET(m->restarts[i]));
}
