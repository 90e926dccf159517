/*
 * simulate.c - coursegen-simulate: a generation worker that drives courses
 * through realistic generations by calling the worker API of
 * sql/004-worker-api.sql (libpq, one connection, as role coursegen_worker;
 * the UUID check, integer parsing and clock of the project's library).
 *
 * Every course follows a plan made up front from a seeded random generator:
 * queued, generating (metadata, section batches, validation, saving), then
 * completed, or failed (retryable or not) or cancelled at a random step. All
 * courses run at once from one single-threaded loop that sleeps until the
 * next step is due. Each call's answer (the new generation_metadata) is
 * printed as one JSON line on stdout, so a test can compare what the worker
 * wrote with what the service reports.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "clock.h"
#include "intparse.h"
#include "uuid.h"

#define SIM_MAX_COURSES	256
#define SIM_MAX_STEPS	(16 + 1000)
#define SIM_MAX_MODELS	16

enum sim_outcome {
	SO_RANDOM, SO_COMPLETE, SO_FAIL, SO_FAIL_FINAL, SO_CANCEL, SO__MAX
};

static const char *const outcome_names[SO__MAX] = {
	"random", "complete", "fail", "fail-final", "cancel",
};

enum sim_call {
	SC_ENQUEUE, SC_START, SC_PROGRESS, SC_COMPLETE, SC_FAIL, SC_CANCEL, SC__MAX
};

static const char *const call_names[SC__MAX] = {
	"enqueue", "start", "progress", "complete", "fail", "cancel",
};

struct sim_step {
	enum sim_call	 call;
	long		 delay_ms;	/* after the previous step */
	const char	*phase;		/* progress */
	int		 batches;	/* start: total; progress: done; -1 none */
	const char	*model;		/* NULL: none */
	double		 quality;	/* < 0: none */
	const char	*error;		/* fail */
	bool		 retryable;	/* fail */
	int		 lessons, sections;	/* complete */
	double		 cost;		/* complete */
};

struct sim_course {
	char		 id[UUID_STRLEN + 1];
	enum sim_outcome spec;		/* as asked on the command line */
	enum sim_outcome outcome;	/* this round's */
	struct sim_step	*steps;
	int		 nsteps, next;
	int64_t		 due_ms;	/* monotonic time of steps[next] */
	int		 rounds;
	bool		 done;
};

struct sim_opts {
	const char	*dburl;
	uint64_t	 seed;
	long		 pace_ms;
	int		 batches_min, batches_max;
	const char	*models[SIM_MAX_MODELS];
	int		 nmodels;
	double		 p_fail, p_fail_final, p_cancel;
	long		 repeat_ms;	/* < 0: no repeat */
	long		 stagger_ms;
	bool		 quiet;
};

static volatile sig_atomic_t sim_stop;
static uint64_t rng_state;

static void
sim_on_signal(int sig)
{
	(void)sig;
	sim_stop = 1;
}

/* splitmix64: small, seedable, good enough for a simulation. */
static uint64_t
rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double
rng_unit(void)
{
	return (double)(rng_next() >> 11) / 9007199254740992.0;
}

/* Uniform integer in [lo, hi]. */
static int
rng_int(int lo, int hi)
{
	if (hi <= lo)
		return lo;
	return lo + (int)(rng_next() % (uint64_t)(hi - lo + 1));
}

/* pace * units * [0.6, 1.4), at least 1 ms. */
static long
rng_delay(const struct sim_opts *o, double units)
{
	double v = (double)o->pace_ms * units * (0.6 + 0.8 * rng_unit());

	return v < 1 ? 1 : (long)v;
}

static void
sim_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("coursegen-simulate: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* A whole decimal number in [lo, hi] (intparse.h). */
static bool
parse_long(const char *s, long lo, long hi, long *out)
{
	long long v;

	if (!parse_int_range(s, lo, hi, &v))
		return false;
	*out = (long)v;
	return true;
}

static bool
parse_prob(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= 0 && v <= 1))
		return false;
	*out = v;
	return true;
}

static const char *
pick_model(const struct sim_opts *o)
{
	return o->models[rng_int(0, o->nmodels - 1)];
}

static enum sim_outcome
pick_outcome(const struct sim_opts *o)
{
	double r = rng_unit();

	if (r < o->p_fail)
		return SO_FAIL;
	r -= o->p_fail;
	if (r < o->p_fail_final)
		return SO_FAIL_FINAL;
	r -= o->p_fail_final;
	if (r < o->p_cancel)
		return SO_CANCEL;
	return SO_COMPLETE;
}

static const char *const retryable_errors[] = {
	"Token budget exceeded, Gemini fallback failed",
	"Rate limited by the model provider (429), retries exhausted",
	"Model provider timed out after 120 s",
};

static const char *const final_errors[] = {
	"Course outline rejected: no learning objectives",
	"Content policy violation in the generated sections",
};

/*
 * Make this round's plan for c: the steps of a full generation, cut at a
 * random step for a failure or a cancellation. Returns false if out of
 * memory.
 */
static bool
plan_course(const struct sim_opts *o, struct sim_course *c, long first_delay)
{
	struct sim_step	*s;
	int		 total, i, n = 0, cut;
	double		 quality;

	free(c->steps);
	c->steps = calloc(SIM_MAX_STEPS, sizeof(*c->steps));
	if (c->steps == NULL)
		return false;
	s = c->steps;
	c->outcome = c->spec == SO_RANDOM ? pick_outcome(o) : c->spec;
	total = rng_int(o->batches_min, o->batches_max);
	quality = 0.75 + 0.2 * rng_unit();
	quality = round(quality * 100) / 100;

#define STEP(k, d) (s[n].call = (k), s[n].delay_ms = (d), s[n].batches = -1, \
	s[n].quality = -1, &s[n++])
	STEP(SC_ENQUEUE, first_delay);
	STEP(SC_START, rng_delay(o, 1))->batches = total;
	s[n - 1].model = pick_model(o);
	/* metadata takes ~2 units, then the first section batch starts */
	{
		struct sim_step *p = STEP(SC_PROGRESS, rng_delay(o, 2));

		p->phase = "sections";
		p->batches = 0;
		p->model = pick_model(o);
	}
	for (i = 1; i <= total; i++) {
		struct sim_step *p = STEP(SC_PROGRESS, rng_delay(o, 1));

		p->phase = "sections";
		p->batches = i;
		/* a running quality estimate once half the batches are in */
		if (i == (total + 1) / 2)
			p->quality = round((quality - 0.03) * 100) / 100;
	}
	{
		struct sim_step *p = STEP(SC_PROGRESS, rng_delay(o, 0.5));

		p->phase = "validation";
		p->model = pick_model(o);
		p = STEP(SC_PROGRESS, rng_delay(o, 2.5));
		p->phase = "validation";
		p->quality = quality;
		p = STEP(SC_PROGRESS, rng_delay(o, 0.5));
		p->phase = "saving";
	}
	{
		struct sim_step *p = STEP(SC_COMPLETE, rng_delay(o, 1));

		p->sections = total;
		p->lessons = total * rng_int(2, 4);
		p->cost = round((0.02 + 0.03 * total * (0.5 + rng_unit())) * 100) / 100;
		p->quality = quality;
	}
#undef STEP

	/*
	 * Failures and cancellations replace one step after the start (a
	 * cancellation may also hit a queued course): the course stops there.
	 */
	if (c->outcome == SO_FAIL || c->outcome == SO_FAIL_FINAL ||
	    c->outcome == SO_CANCEL) {
		cut = rng_int(c->outcome == SO_CANCEL ? 1 : 2, n - 1);
		s[cut].phase = NULL;
		s[cut].model = NULL;
		s[cut].quality = -1;
		s[cut].batches = -1;
		if (c->outcome == SO_CANCEL)
			s[cut].call = SC_CANCEL;
		else {
			s[cut].call = SC_FAIL;
			s[cut].retryable = c->outcome == SO_FAIL;
			s[cut].error = c->outcome == SO_FAIL ?
			    retryable_errors[rng_int(0, 2)] :
			    final_errors[rng_int(0, 1)];
		}
		n = cut + 1;
	}
	c->nsteps = n;
	c->next = 0;
	c->due_ms = clock_mono_ms() + first_delay;
	c->rounds++;
	return true;
}

/* Run one step; prints its answer. Returns false on an SQL error. */
static bool
run_step(PGconn *conn, const struct sim_opts *o, const struct sim_course *c,
    const struct sim_step *st)
{
	const char	*sql = NULL, *v[6] = { NULL };
	char		 b1[32], b2[32], b3[32], b4[32];
	int		 np = 1;
	PGresult	*r;
	bool		 ok;

	v[0] = c->id;
	switch (st->call) {
	case SC_ENQUEUE:
		sql = "SELECT coursegen.generation_enqueue($1::uuid)";
		break;
	case SC_START:
		snprintf(b1, sizeof(b1), "%d", st->batches);
		v[1] = b1;
		v[2] = st->model;
		np = 3;
		sql = "SELECT coursegen.generation_start($1::uuid, $2::integer, $3::text)";
		break;
	case SC_PROGRESS:
		v[1] = st->phase;
		if (st->batches >= 0) {
			snprintf(b1, sizeof(b1), "%d", st->batches);
			v[2] = b1;
		}
		v[3] = st->model;
		if (st->quality >= 0) {
			snprintf(b2, sizeof(b2), "%.2f", st->quality);
			v[5] = b2;
		}
		np = 6;
		sql = "SELECT coursegen.generation_progress($1::uuid, $2::text, $3::integer,"
		    " $4::text, $5::bigint, $6::double precision)";
		break;
	case SC_COMPLETE:
		snprintf(b1, sizeof(b1), "%d", st->lessons);
		snprintf(b2, sizeof(b2), "%d", st->sections);
		snprintf(b3, sizeof(b3), "%.2f", st->cost);
		snprintf(b4, sizeof(b4), "%.2f", st->quality);
		v[1] = b1;
		v[2] = b2;
		v[3] = b3;
		v[4] = b4;
		np = 5;
		sql = "SELECT coursegen.generation_complete($1::uuid, $2::integer,"
		    " $3::integer, $4::numeric, $5::double precision)";
		break;
	case SC_FAIL:
		v[1] = st->error;
		v[2] = st->retryable ? "true" : "false";
		np = 3;
		sql = "SELECT coursegen.generation_fail($1::uuid, $2::text, $3::boolean)";
		break;
	case SC_CANCEL:
	case SC__MAX:
	default:
		sql = "SELECT coursegen.generation_cancel($1::uuid)";
		break;
	}
	r = PQexecParams(conn, sql, np, NULL, v, NULL, NULL, 0);
	ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
	if (!ok) {
		const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);

		sim_log("%s %s: %s", c->id, call_names[st->call],
		    msg != NULL ? msg : PQerrorMessage(conn));
	} else if (!o->quiet) {
		/* The id is a canonical UUID, the value jsonb's own text. */
		printf("{\"course\":\"%s\",\"round\":%d,\"outcome\":\"%s\","
		    "\"call\":\"%s\",\"phase\":%s%s%s,\"metadata\":%s}\n",
		    c->id, c->rounds, outcome_names[c->outcome],
		    call_names[st->call], st->phase ? "\"" : "",
		    st->phase ? st->phase : "null", st->phase ? "\"" : "",
		    PQgetvalue(r, 0, 0));
		fflush(stdout);
	}
	PQclear(r);
	return ok;
}

static void
usage(FILE *f)
{
	fputs(
"usage: coursegen-simulate [options] COURSE-UUID[:OUTCOME]...\n"
"Drive courses through simulated generations with the worker API of\n"
"sql/004-worker-api.sql (as role coursegen_worker). OUTCOME is complete,\n"
"fail (retryable), fail-final, cancel or random (default). Each call's new\n"
"generation_metadata is printed as a JSON line on stdout.\n"
"\n"
"  -d, --database URL     libpq connection string (default: $DATABASE_URL)\n"
"  -p, --pace MS          time unit: a section batch takes about one unit,\n"
"                         metadata 2, validation 3, saving 1 (default 1000)\n"
"  -b, --batches MIN[-MAX] section batches per course (default 4-8)\n"
"  -m, --models A,B,...   models to pick from\n"
"      --fail P           chance of a retryable failure for random courses\n"
"      --fail-final P     chance of a final failure (default 0.1 each)\n"
"      --cancel P         chance of a cancellation (default 0.1)\n"
"  -r, --repeat MS        queue each course again MS after it ends (runs until\n"
"                         interrupted); default: exit when all have ended\n"
"      --stagger MS       start course i after i*MS (default: pace)\n"
"  -s, --seed N           random seed (default: from the clock)\n"
"  -q, --quiet            print nothing on stdout\n"
"  -h, --help\n"
"Exit status: 0 if every call succeeded, 1 if one failed, 2 on bad usage.\n",
	    f);
}

static bool
parse_models(struct sim_opts *o, char *list)
{
	char *tok, *save = NULL;

	o->nmodels = 0;
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (*tok == '\0')
			continue;
		if (o->nmodels == SIM_MAX_MODELS)
			return false;
		o->models[o->nmodels++] = tok;
	}
	return o->nmodels > 0;
}

static bool
parse_course(const char *arg, struct sim_course *c)
{
	const char	*colon = strchr(arg, ':');
	size_t		 n = colon ? (size_t)(colon - arg) : strlen(arg);
	int		 i;

	memset(c, 0, sizeof(*c));
	if (!uuid_canon(arg, n, c->id))
		return false;
	c->spec = SO_RANDOM;
	if (colon == NULL)
		return true;
	for (i = 0; i < SO__MAX; i++)
		if (strcmp(colon + 1, outcome_names[i]) == 0) {
			c->spec = (enum sim_outcome)i;
			return true;
		}
	return false;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "database", required_argument, NULL, 'd' },
		{ "pace", required_argument, NULL, 'p' },
		{ "batches", required_argument, NULL, 'b' },
		{ "models", required_argument, NULL, 'm' },
		{ "fail", required_argument, NULL, 'F' },
		{ "fail-final", required_argument, NULL, 'X' },
		{ "cancel", required_argument, NULL, 'C' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "stagger", required_argument, NULL, 'S' },
		{ "seed", required_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char default_models[] =
	    "openai/gpt-oss-20b,openai/gpt-oss-120b,google/gemini-2.5-flash";
	struct sim_opts		 o;
	struct sim_course	*courses;
	struct sigaction	 sa;
	PGconn			*conn;
	long			 v;
	int			 ch, i, ncourses, rc = 0;
	char			*dash;

	memset(&o, 0, sizeof(o));
	o.dburl = getenv("DATABASE_URL");
	o.pace_ms = 1000;
	o.batches_min = 4;
	o.batches_max = 8;
	o.p_fail = o.p_fail_final = o.p_cancel = 0.1;
	o.repeat_ms = -1;
	o.stagger_ms = -1;
	o.seed = (uint64_t)time(NULL) ^ ((uint64_t)clock_mono_ms() << 20);
	parse_models(&o, default_models);

	while ((ch = getopt_long(argc, argv, "d:p:b:m:r:s:qh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'd':
			o.dburl = optarg;
			break;
		case 'p':
			if (!parse_long(optarg, 1, 3600000, &o.pace_ms))
				goto bad;
			break;
		case 'b':
			dash = strchr(optarg, '-');
			if (dash != NULL)
				*dash = '\0';
			if (!parse_long(optarg, 1, 1000, &v))
				goto bad;
			o.batches_min = o.batches_max = (int)v;
			if (dash != NULL) {
				if (!parse_long(dash + 1, v, 1000, &v))
					goto bad;
				o.batches_max = (int)v;
			}
			break;
		case 'm':
			if (!parse_models(&o, optarg))
				goto bad;
			break;
		case 'F':
			if (!parse_prob(optarg, &o.p_fail))
				goto bad;
			break;
		case 'X':
			if (!parse_prob(optarg, &o.p_fail_final))
				goto bad;
			break;
		case 'C':
			if (!parse_prob(optarg, &o.p_cancel))
				goto bad;
			break;
		case 'r':
			if (!parse_long(optarg, 0, 86400000, &o.repeat_ms))
				goto bad;
			break;
		case 'S':
			if (!parse_long(optarg, 0, 3600000, &o.stagger_ms))
				goto bad;
			break;
		case 's':
			if (!parse_long(optarg, 0, LONG_MAX, &v))
				goto bad;
			o.seed = (uint64_t)v;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (o.p_fail + o.p_fail_final + o.p_cancel > 1) {
		sim_log("--fail, --fail-final and --cancel add up to more than 1");
		return 2;
	}
	ncourses = argc - optind;
	if (ncourses < 1 || ncourses > SIM_MAX_COURSES) {
		sim_log("give 1 to %d course UUIDs", SIM_MAX_COURSES);
		usage(stderr);
		return 2;
	}
	if (o.dburl == NULL || *o.dburl == '\0') {
		sim_log("no database: use --database or set DATABASE_URL");
		return 2;
	}
	if (o.stagger_ms < 0)
		o.stagger_ms = o.pace_ms;
	courses = calloc((size_t)ncourses, sizeof(*courses));
	if (courses == NULL) {
		sim_log("out of memory");
		return 1;
	}
	for (i = 0; i < ncourses; i++)
		if (!parse_course(argv[optind + i], &courses[i])) {
			sim_log("not COURSE-UUID[:complete|fail|fail-final|cancel|random]: %s",
			    argv[optind + i]);
			free(courses);
			return 2;
		}
	rng_state = o.seed;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sim_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	conn = PQconnectdb(o.dburl);
	if (PQstatus(conn) != CONNECTION_OK) {
		/* libpq's message never contains the password. */
		sim_log("cannot connect: %s", PQerrorMessage(conn));
		PQfinish(conn);
		free(courses);
		return 1;
	}
	for (i = 0; i < ncourses; i++)
		if (!plan_course(&o, &courses[i], (long)i * o.stagger_ms)) {
			sim_log("out of memory");
			sim_stop = 1;
			rc = 1;
			break;
		}

	while (!sim_stop) {
		struct sim_course	*c = NULL;
		int64_t			 t;

		for (i = 0; i < ncourses; i++) {
			if (courses[i].done)
				continue;
			if (c == NULL || courses[i].due_ms < c->due_ms)
				c = &courses[i];
		}
		if (c == NULL)
			break;
		t = clock_mono_ms();
		if (c->due_ms > t) {
			int64_t		 wait = c->due_ms - t;
			struct timespec	 ts;

			/* Sleep in short slices so a signal ends the run promptly. */
			if (wait > 200)
				wait = 200;
			ts.tv_sec = (time_t)(wait / 1000);
			ts.tv_nsec = (long)(wait % 1000) * 1000000L;
			nanosleep(&ts, NULL);
			continue;
		}
		if (PQstatus(conn) != CONNECTION_OK) {
			PQreset(conn);
			if (PQstatus(conn) != CONNECTION_OK) {
				sim_log("connection lost: %s", PQerrorMessage(conn));
				rc = 1;
				break;
			}
		}
		if (!run_step(conn, &o, c, &c->steps[c->next])) {
			/* Someone else changed the course: leave it alone. */
			rc = 1;
			c->done = true;
			continue;
		}
		if (++c->next < c->nsteps) {
			c->due_ms += c->steps[c->next].delay_ms;
			continue;
		}
		if (o.repeat_ms >= 0) {
			if (!plan_course(&o, c, o.repeat_ms)) {
				sim_log("out of memory");
				rc = 1;
				break;
			}
		} else
			c->done = true;
	}
	PQfinish(conn);
	for (i = 0; i < ncourses; i++)
		free(courses[i].steps);
	free(courses);
	return rc;
bad:
	sim_log("bad option value%s%s", optarg ? ": " : "", optarg ? optarg : "");
	usage(stderr);
	return 2;
}
