/* query.h - percent-decoding and the query-string parameters tRPC reads. */
#ifndef CS_QUERY_H
#define CS_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/*
 * Percent-decode n bytes of a query-string component into b, turning '+'
 * into a space (URLSearchParams semantics). Returns false on a malformed
 * escape ('%' not followed by two hex digits).
 */
bool	 url_decode(const char *s, size_t n, bool plus_is_space, struct buf *b);

enum qs_err {
	QS_OK,
	QS_BAD_ESCAPE,		/* malformed percent-encoding */
	QS_DUPLICATE,		/* a known parameter given twice */
	QS_NOMEM,
	QS__MAX
};

/* The parameters tRPC reads from a query string. */
struct qs_params {
	bool		 has_batch;
	struct buf	 batch;		/* decoded value of "batch" */
	bool		 has_input;
	struct buf	 input;		/* decoded value of "input" */
};

void	 qs_params_init(struct qs_params *);
void	 qs_params_free(struct qs_params *);
/*
 * Parse a query string (without '?') into p. Unknown parameters are
 * ignored, as tRPC ignores them. On QS_DUPLICATE, *which names it.
 */
enum qs_err qs_parse(const char *qs, size_t n, struct qs_params *p,
	    const char **which);

#endif
