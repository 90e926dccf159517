/* meta.h - read generation_metadata (JSON text) into a typed gen_meta. */
#ifndef CS_META_H
#define CS_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "genstate.h"

struct jdoc;

/*
 * Parse the metadata text (NULL or empty for SQL NULL) and fill m with
 * the fields it holds; values of the wrong JSON type are left absent
 * (doc/decisions.md, D5). Strings in m borrow from *doc, which the caller
 * frees with jdoc_free() after use (it may be NULL). Returns 0, or -1 when
 * the text is not JSON (m then describes an empty document).
 */
int	 meta_read(const char *text, size_t len, struct gen_meta *m,
	    struct jdoc **doc);

/*
 * Read an ISO 8601 date and time with a time zone, as PostgreSQL writes a
 * timestamptz into JSON: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH[:MM]|-HH[:MM])
 * ('T' or a space between date and time; years 0001..9999). Sets *ms
 * (milliseconds since the epoch, the fraction truncated) and returns true;
 * false for anything else (no partial reads, no out-of-range fields).
 */
bool	 meta_parse_time(const char *s, size_t n, int64_t *ms);

#endif
