/* input.h - the getStatus input schema (zod: { courseId: z.string().uuid() }). */
#ifndef CS_INPUT_H
#define CS_INPUT_H

#include <stdbool.h>

#include "buf.h"
#include "json.h"
#include "uuid.h"

/*
 * Validate the input of generation.getStatus exactly as zod 3 would.
 * On success returns true and writes the canonical (lower-case) course id.
 * On failure returns false and appends to msg what a tRPC server sends as
 * the BAD_REQUEST message: JSON.stringify(zodIssues, null, 2).
 */
bool	 input_getstatus(struct jref input, char course_id[UUID_STRLEN + 1],
	    struct buf *msg);

#endif
