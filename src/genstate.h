/*
 * genstate.h - the generation state machine of the contract (section 4.2)
 * with the decisions of doc/decisions.md: status, phase, progress, message,
 * metadata and ETA. Pure: no I/O, no allocation, no clock.
 */
#ifndef CS_GENSTATE_H
#define CS_GENSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum gen_status {
	GS_IDLE,
	GS_QUEUED,
	GS_GENERATING,
	GS_COMPLETED,
	GS_FAILED,
	GS_CANCELLED,
	GS__MAX
};

enum gen_phase {
	GP_METADATA,
	GP_SECTIONS,
	GP_VALIDATION,
	GP_SAVING,
	GP__MAX,
	GP_NONE = GP__MAX	/* phase: null */
};

/* An optional number read from generation_metadata. */
struct opt_num {
	bool	 set;
	double	 v;
};

/* An optional string (borrowed; not NUL-terminated necessarily). */
struct opt_str {
	const char	*s;	/* NULL when absent */
	size_t		 len;
};

/*
 * The typed view of generation_metadata: every field the state machine
 * reads, already checked for type (a value of the wrong JSON type is
 * simply absent). Strings are borrowed from the parsed document.
 */
struct gen_meta {
	bool		 present;	/* metadata was a JSON object */
	struct opt_num	 batch_count;
	struct opt_num	 total_batches;
	struct opt_num	 last_progress;
	struct opt_num	 total_lessons;
	struct opt_num	 total_sections;
	struct opt_num	 cost_usd;
	struct opt_num	 duration_total;	/* duration_ms.total */
	struct opt_num	 duration[GP__MAX];	/* duration_ms.<phase> */
	struct opt_num	 quality_overall;	/* quality_scores.overall */
	enum gen_phase	 last_phase;		/* GP_NONE when absent/unknown */
	struct opt_str	 model_used;		/* model_used as a string */
	struct opt_str	 model_by_phase[GP__MAX]; /* model_used.<phase> */
	struct opt_str	 error_message;
	bool		 retryable;		/* retryable === true */
	bool		 started_set;		/* started_at read as a time */
	int64_t		 started_ms;		/* started_at, ms since the epoch */
};

/* Output fields the schema would reject, dropped and reported. */
enum gen_dropped {
	GD_QUALITY	= 1u << 0,
	GD_LESSONS	= 1u << 1,
	GD_SECTIONS	= 1u << 2,
	GD_DURATION	= 1u << 4,
	GD_BATCHES	= 1u << 5,
	GD_PROGRESS	= 1u << 6
};

enum gen_msg {
	GM_IDLE,
	GM_QUEUED,
	GM_METADATA,
	GM_SECTIONS,		/* takes a percentage */
	GM_VALIDATION,
	GM_SAVING,
	GM_COMPLETED,
	GM_FAILED,
	GM_CANCELLED,
	GM__MAX
};

struct opt_int {
	bool	 set;
	int64_t	 v;
};

/* The computed answer, ready to render. */
struct gen_state {
	enum gen_status	 status;
	enum gen_phase	 phase;
	int		 progress;	/* integer 0..100 */
	double		 progress_exact; /* before rounding, for the ETA */
	enum gen_msg	 msg;
	int		 msg_percent;	/* for GM_SECTIONS */
	bool		 eta_set;
	int64_t		 eta_seconds;
	bool		 metadata_null;
	/* metadata fields; absent ones are left out of the output */
	struct opt_int	 batches_completed;
	struct opt_int	 total_batches;
	struct opt_str	 current_model;
	struct opt_num	 quality_score;
	struct opt_int	 total_lessons;
	struct opt_int	 total_sections;
	struct opt_num	 cost;
	struct opt_int	 duration;
	struct opt_str	 error;
	bool		 has_retryable;
	bool		 retryable;
	unsigned	 dropped;	/* enum gen_dropped bits */
};

/* The languages of the user-facing message. */
enum gen_lang {
	GL_RU,		/* the contract's messages (default) */
	GL_EN,
	GL__MAX
};

/* Nominal total duration (seconds) used before progress can be
 * extrapolated, and the progress below which it is blended in. */
#define GEN_ETA_NOMINAL_S	150.0
#define GEN_ETA_MIN_PROGRESS	10.0
#define GEN_DEFAULT_BATCHES	8

/*
 * Map a generation_status column value to a status. A NULL column
 * (is_null) is idle. Returns false for a value the service does not know.
 */
bool	 gen_status_parse(const char *s, bool is_null, enum gen_status *out);
const char *gen_status_name(enum gen_status);
/* Phase name, or NULL for GP_NONE. */
const char *gen_phase_name(enum gen_phase);
/* Phase by name (n bytes), GP_NONE when not one of the four. */
enum gen_phase gen_phase_parse(const char *s, size_t n);

/*
 * When the generation started (startedAt, and the base of the ETA): the
 * metadata's started_at (written by coursegen.generation_start) when it
 * holds a valid time, else the course's created_at.
 */
int64_t	 gen_started_ms(const struct gen_meta *, int64_t created_ms);

/*
 * Compute the state for a course. elapsed_ms is the time since
 * gen_started_ms() (negative values count as 0).
 */
void	 gen_state_compute(enum gen_status, const struct gen_meta *,
	    int64_t elapsed_ms, struct gen_state *out);

/*
 * The estimate of remaining seconds while generating, from the exact
 * progress p (0..100) and the elapsed seconds e (see README, "ETA"):
 *   rate = max(e / max(p, 10), 1.5 * max(0, (10 - p) / 10))
 *   eta  = ceil((100 - p) * rate)
 */
int64_t	 gen_eta_seconds(double progress, double elapsed_s);

/*
 * Write the user-facing message in `lang` into out (Russian: exactly the
 * contract's). Returns the length, or the length that would have been
 * written if out is too small.
 */
size_t	 gen_message(const struct gen_state *, enum gen_lang, char *out,
	    size_t outsz);

#endif
