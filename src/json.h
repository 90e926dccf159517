/*
 * json.h - the only door to JSON: reading untrusted input (json-c behind it)
 * and writing output (a streaming writer with correct escaping).
 */
#ifndef CS_JSON_H
#define CS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* ---- reading ---------------------------------------------------------- */

enum jtype {
	JT_MISSING,	/* no value at all (JavaScript undefined) */
	JT_NULL,
	JT_BOOL,
	JT_NUMBER,
	JT_STRING,
	JT_ARRAY,
	JT_OBJECT,
	JT__MAX
};

/* A reference to a value inside a parsed document: absent, or a value. */
struct jref {
	const void	*p;	/* opaque; NULL with present=true is JSON null */
	bool		 present;
};

struct jdoc;

/*
 * Parse `len` bytes of strict JSON (RFC 8259: no trailing garbage, valid
 * UTF-8, nesting at most `max_depth`). On success returns 0 and a document
 * the caller frees with jdoc_free(). On failure returns -1 and writes a
 * short reason into err (never echoing the input).
 */
int	 jdoc_parse(const char *text, size_t len, int max_depth,
	    struct jdoc **out, char *err, size_t errlen);
/*
 * Check text against the JSON grammar (RFC 8259, as JSON.parse reads it)
 * with containers nested at most max_depth deep. Returns 0, or -1 with the
 * byte position and a fixed reason.
 */
int	 json_validate(const char *text, size_t len, int max_depth,
	    size_t *pos, const char **why);
void	 jdoc_free(struct jdoc *);
/* The root value (present, possibly null). */
struct jref jdoc_root(const struct jdoc *);

enum jtype jref_type(struct jref);
/* Member `key` of an object; absent if v is not an object or has no key. */
struct jref jref_get(struct jref v, const char *key);
/* Element i of an array; absent if v is not an array or too short. */
struct jref jref_get_index(struct jref v, size_t i);
/* The length of an array, 0 for anything else. */
size_t	 jref_array_len(struct jref v);
/* The number, if v is a finite number. */
bool	 jref_number(struct jref v, double *out);
/* The string and its length (may contain NUL bytes), if v is a string. */
const char *jref_string(struct jref v, size_t *len);
/* True only for JSON true. */
bool	 jref_is_true(struct jref v);
/* A JavaScript `typeof`-style name as zod reports it: "undefined",
 * "null", "boolean", "number", "string", "array", "object". */
const char *jref_zod_type(struct jref v);

/*
 * For the unit tests only: jdoc_parse reads small documents without json-c
 * (the fast path) unless switched off here, and jdoc_fast tells which way a
 * document was read, so that the two can be compared.
 */
void	 jdoc_fast_path(bool on);
bool	 jdoc_fast(const struct jdoc *);

/* ---- writing ---------------------------------------------------------- */

#define JW_MAX_DEPTH 32

/*
 * A streaming writer into a buf. Commas are placed automatically. With
 * pretty=true the layout is exactly JavaScript's JSON.stringify(v, null, 2).
 */
struct jw {
	struct buf	*b;
	unsigned	 depth;
	bool		 pretty;
	bool		 after_key;
	bool		 has_items[JW_MAX_DEPTH];
};

/* How jw writes: compact (the wire) or pretty (indented, for people). */
enum jw_style {
	JW_COMPACT,
	JW_PRETTY
};

void	 jw_init(struct jw *, struct buf *, enum jw_style);
void	 jw_obj_open(struct jw *);
void	 jw_obj_close(struct jw *);
void	 jw_arr_open(struct jw *);
void	 jw_arr_close(struct jw *);
/* Write an object key (a C string, escaped). */
void	 jw_key(struct jw *, const char *);
/* A string of n bytes; invalid UTF-8 becomes U+FFFD, controls are escaped. */
void	 jw_strn(struct jw *, const char *, size_t);
void	 jw_str(struct jw *, const char *);
void	 jw_int(struct jw *, int64_t);
/* A finite number in the shortest form that reads back the same
 * (0.28 stays 0.28); a non-finite value is written as null. */
void	 jw_num(struct jw *, double);
void	 jw_bool(struct jw *, bool);
void	 jw_null(struct jw *);
/* Splice already-valid JSON text as one value. */
void	 jw_raw(struct jw *, const char *, size_t);

/* Format a double in the shortest round-trip form into out (>= 32 bytes). */
void	 json_format_number(double, char *out, size_t outsz);
/* Append s (n bytes) as a quoted JSON string to b. */
void	 json_append_string(struct buf *b, const char *s, size_t n);

#endif
