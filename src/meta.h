/* meta.h - read generation_metadata (JSON text) into a typed gen_meta. */
#ifndef CS_META_H
#define CS_META_H

#include <stddef.h>

#include "genstate.h"

struct jdoc;

/*
 * Parse the metadata text (NULL or empty for SQL NULL) and fill m with
 * the fields it holds; values of the wrong JSON type are left absent
 * (NOTES 5). Strings in m borrow from *doc, which the caller frees with
 * jdoc_free() after use (it may be NULL). Returns 0, or -1 when the text
 * is not JSON (m then describes an empty document).
 */
int	 meta_read(const char *text, size_t len, struct gen_meta *m,
	    struct jdoc **doc);

#endif
