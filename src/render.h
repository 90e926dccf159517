/* render.h - the getStatus output object (contract section 5) as JSON. */
#ifndef CS_RENDER_H
#define CS_RENDER_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "genstate.h"

/*
 * Append the output object for course_id (canonical) to out, fields in the
 * contract's order, absent optional metadata left out (doc/decisions.md,
 * D7). Returns false when a timestamp cannot be expressed as ISO 8601
 * (doc/decisions.md, D9).
 */
bool	 render_status(const char *course_id, const struct gen_state *,
	    enum gen_lang, int64_t created_ms, int64_t updated_ms,
	    struct buf *out);

#endif
