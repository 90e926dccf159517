/*
 * json.c - the only module that includes json-c. Parsing is strict and
 * bounded; writing is a small streaming writer so output never depends on
 * json-c's number or string formatting.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "json.h"

/*
 * The fast path. Most documents read per request are tiny: the tRPC input
 * `{"json":{"courseId":"..."}}` has three values. For those, building
 * json-c's tree (a tokener pass with a newlocale/uselocale, a hash table
 * per object, a string per value, then freeing it all) was most of the
 * ~6,600 instructions a cached request spent reading its input (callgrind,
 * bench/profile.py --hits). So while the validator reads a document it also
 * records its values in a small table of nodes, in document order, each
 * container followed by its members. When the document holds at most
 * FAST_NODES values, no string with an escape and no number but integers
 * of at most 18 digits (which json-c reads exactly as int64), the table and
 * a copy of the text are the document, in one allocation, and json-c is
 * not called; anything else goes to json-c as before.
 */
#define FAST_NODES	32

struct fnode {
	const char	*key;		/* member name (NUL-terminated), or NULL */
	union {
		const char	*s;	/* JT_STRING: NUL-terminated */
		int64_t		 i;	/* JT_NUMBER */
		bool		 b;	/* JT_BOOL */
	}		 u;
	uint32_t	 keylen;
	uint32_t	 len;		/* string bytes, or container members */
	uint32_t	 span;		/* this node and all below it */
	enum jtype	 type;
};

struct jdoc {
	json_object	*root;		/* json-c's tree, or NULL */
	size_t		 nnodes;	/* the fast path's nodes, or 0 */
	struct fnode	 nodes[];	/* followed by the copy of the text */
};

/* Off only in the unit tests, to compare both ways of reading. */
static bool fast_path = true;

/* ---- strict validation (RFC 8259, as JavaScript's JSON.parse) --------- */

/*
 * json-c accepts more than JSON.parse does, even with JSON_TOKENER_STRICT:
 * single quotes (`{'a':1}`), `NaN`, a raw TAB inside a string and `1.`
 * (checked with json-c 0.16), and json_object_get_int64() saturates
 * `1e20` instead of failing. So input is checked against RFC 8259's grammar by this small
 * hand-written validator first, and json-c only builds the tree of what
 * passed. Recursion is bounded by depth.
 */
struct vstate {
	const unsigned char	*s;
	size_t			 n;
	size_t			 i;
	int			 depth;
	int			 max_depth;
	const char		*why;
	size_t			 bigints;	/* integer literals past 64 bits */
	struct buf		*out;		/* rewrite target, or NULL */
	size_t			 copied;	/* input copied to out so far */
	struct fnode		*nodes;		/* the fast path's table, or NULL
					   when the document does not fit */
	size_t			 nn;		/* nodes recorded */
	const char		*key;		/* name of the next member, or NULL */
	size_t			 keylen;
};

static size_t utf8_seq(const unsigned char *, size_t);

/*
 * ASCII that is itself in a JSON string, read or written: not a control,
 * not '"', not '\\'. Most text is only these, one table look a byte.
 */
static const bool json_plain[256] = {
	[0x20] = true, [0x21] = true, [0x23 ... 0x5b] = true,
	[0x5d ... 0x7f] = true,
};

static bool
v_fail(struct vstate *v, const char *why)
{
	if (v->why == NULL)
		v->why = why;
	return false;
}

static void
v_ws(struct vstate *v)
{
	while (v->i < v->n && (v->s[v->i] == ' ' || v->s[v->i] == '\t' ||
	    v->s[v->i] == '\n' || v->s[v->i] == '\r'))
		v->i++;
}

static bool
v_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* The next node of the fast path's table, or NULL when there is no table. */
static struct fnode *
v_node(struct vstate *v, enum jtype type)
{
	struct fnode *f;

	if (v->nodes == NULL)
		return NULL;
	if (v->nn == FAST_NODES) {
		v->nodes = NULL;	/* too big: json-c reads it */
		return NULL;
	}
	f = &v->nodes[v->nn++];
	f->key = v->key;
	f->keylen = (uint32_t)v->keylen;
	f->len = 0;
	f->span = 1;
	f->type = type;
	v->key = NULL;
	return f;
}

/* A string; recorded in f (if not NULL) as it is, having no escape. */
static bool
v_string(struct vstate *v, struct fnode *f)
{
	size_t	 k, start;

	v->i++;				/* the opening quote */
	start = v->i;
	while (v->i < v->n) {
		unsigned char c = v->s[v->i];

		if (json_plain[c]) {
			v->i++;
			continue;
		}
		if (c == '"') {
			if (f != NULL) {
				f->u.s = (const char *)v->s + start;
				f->len = (uint32_t)(v->i - start);
			}
			v->i++;
			return true;
		}
		if (c == '\\') {
			v->nodes = NULL;	/* json-c unescapes it */
			if (++v->i >= v->n)
				break;
			switch (v->s[v->i]) {
			case '"': case '\\': case '/': case 'b': case 'f':
			case 'n': case 'r': case 't':
				v->i++;
				break;
			case 'u':
				if (v->n - v->i < 5 || !v_hex(v->s[v->i + 1]) ||
				    !v_hex(v->s[v->i + 2]) ||
				    !v_hex(v->s[v->i + 3]) ||
				    !v_hex(v->s[v->i + 4]))
					return v_fail(v, "bad unicode escape");
				v->i += 5;
				break;
			default:
				return v_fail(v, "bad escape in string");
			}
		} else if (c < 0x20)
			return v_fail(v, "control character in string");
		else if (c >= 0x80) {
			if ((k = utf8_seq(v->s + v->i, v->n - v->i)) == 0)
				return v_fail(v, "invalid UTF-8 in string");
			v->i += k;
		} else
			v->i++;
	}
	return v_fail(v, "unterminated string");
}

static bool
v_digits(struct vstate *v)
{
	size_t start = v->i;

	while (v->i < v->n && v->s[v->i] >= '0' && v->s[v->i] <= '9')
		v->i++;
	return v->i > start;
}

static bool
v_number(struct vstate *v, struct fnode *f)
{
	size_t	 start, k;
	bool	 frac = false, neg = false;
	int64_t	 val = 0;

	if (v->s[v->i] == '-') {
		neg = true;
		v->i++;
	}
	start = v->i;
	if (v->i < v->n && v->s[v->i] == '0')
		v->i++;
	else if (!v_digits(v))
		return v_fail(v, "bad number");
	if (v->i < v->n && v->s[v->i] == '.') {
		v->i++;
		frac = true;
		if (!v_digits(v))
			return v_fail(v, "bad number");
	}
	if (v->i < v->n && (v->s[v->i] == 'e' || v->s[v->i] == 'E')) {
		v->i++;
		frac = true;
		if (v->i < v->n && (v->s[v->i] == '+' || v->s[v->i] == '-'))
			v->i++;
		if (!v_digits(v))
			return v_fail(v, "bad number");
	}
	/*
	 * json-c saturates integers that do not fit in 64 bits, where
	 * JavaScript reads a double (1e20 stays 1e20). Such literals are
	 * counted, and in the rewriting pass get a ".0" so json-c reads
	 * them as doubles too.
	 */
	if (!frac && v->i - start > 18) {
		v->bigints++;
		if (v->out != NULL) {
			buf_append(v->out, v->s + v->copied, v->i - v->copied);
			buf_puts(v->out, ".0");
			v->copied = v->i;
		}
	}
	/*
	 * An integer of at most 18 digits fits in int64, where json-c reads
	 * it exactly (and "-0" as 0, no negative zero); anything else is
	 * json-c's to convert.
	 */
	if (frac || v->i - start > 18)
		v->nodes = NULL;
	else if (f != NULL) {
		for (k = start; k < v->i; k++)
			val = val * 10 + (v->s[k] - '0');
		f->u.i = neg ? -val : val;
	}
	return true;
}

static bool
v_literal(struct vstate *v, const char *lit)
{
	size_t len = strlen(lit);

	if (v->n - v->i < len || memcmp(v->s + v->i, lit, len) != 0)
		return v_fail(v, "unexpected token");
	v->i += len;
	return true;
}

static bool v_value(struct vstate *);

/* An object or array; f (if not NULL) gets its member count and span. */
static bool
v_container(struct vstate *v, bool object, struct fnode *f)
{
	char	 close = object ? '}' : ']';
	size_t	 first = v->nn, key;

	if (++v->depth > v->max_depth)
		return v_fail(v, "nesting too deep");
	v->i++;
	v_ws(v);
	if (v->i < v->n && v->s[v->i] == close) {
		v->i++;
		v->depth--;
		return true;
	}
	for (;;) {
		if (object) {
			v_ws(v);
			if (v->i >= v->n || v->s[v->i] != '"')
				return v_fail(v, "expected property name");
			key = v->i + 1;
			if (!v_string(v, NULL))
				return false;
			v->key = (const char *)v->s + key;
			v->keylen = v->i - 1 - key;
			v_ws(v);
			if (v->i >= v->n || v->s[v->i] != ':')
				return v_fail(v, "expected ':'");
			v->i++;
		}
		if (!v_value(v))
			return false;
		if (f != NULL)
			f->len++;
		v_ws(v);
		if (v->i < v->n && v->s[v->i] == ',') {
			v->i++;
			continue;
		}
		if (v->i < v->n && v->s[v->i] == close) {
			v->i++;
			v->depth--;
			if (f != NULL)
				f->span = (uint32_t)(v->nn - first + 1);
			return true;
		}
		return v_fail(v, object ? "expected ',' or '}'" :
		    "expected ',' or ']'");
	}
}

static bool
v_value(struct vstate *v)
{
	struct fnode *f;

	v_ws(v);
	if (v->i >= v->n)
		return v_fail(v, "unexpected end of input");
	switch (v->s[v->i]) {
	case '{':
		return v_container(v, true, v_node(v, JT_OBJECT));
	case '[':
		return v_container(v, false, v_node(v, JT_ARRAY));
	case '"':
		return v_string(v, v_node(v, JT_STRING));
	case 't':
		if ((f = v_node(v, JT_BOOL)) != NULL)
			f->u.b = true;
		return v_literal(v, "true");
	case 'f':
		if ((f = v_node(v, JT_BOOL)) != NULL)
			f->u.b = false;
		return v_literal(v, "false");
	case 'n':
		(void)v_node(v, JT_NULL);
		return v_literal(v, "null");
	default:
		if (v->s[v->i] == '-' || (v->s[v->i] >= '0' && v->s[v->i] <= '9'))
			return v_number(v, v_node(v, JT_NUMBER));
		return v_fail(v, "unexpected token");
	}
}

/* Run the grammar over the whole text: 0 when it is one valid value. */
static int
v_run(struct vstate *v)
{
	if (v_value(v)) {
		v_ws(v);
		if (v->i == v->n)
			return 0;
		v_fail(v, "unexpected data after JSON");
	}
	return -1;
}

int
json_validate(const char *text, size_t len, int max_depth, size_t *pos,
    const char **why)
{
	struct vstate v = { (const unsigned char *)text, len, 0, 0, max_depth,
	    NULL, 0, NULL, 0, NULL, 0, NULL, 0 };

	if (v_run(&v) == 0)
		return 0;
	*pos = v.i;
	*why = v.why;
	return -1;
}

/*
 * Tokeners are kept for reuse, so a parse does not allocate and free a
 * tokener, its stack and its buffer every time. A tokener's depth limit is
 * fixed when it is made, so one is kept per depth limit (max_depth + 1),
 * for the first four limits asked for; the callers use four: 4 (a token's
 * header and claims), 16 (a JWKS file), 32 (the input) and 64 (the
 * metadata). A fifth limit, or a second parse while the kept one is busy
 * (parses do not nest today), gets a tokener of its own, allocated and
 * freed around that one parse.
 */
static struct {
	int		 depth;
	json_tokener	*tok;
	bool		 busy;
} tokeners[4];

static json_tokener *
tokener_get(int depth)
{
	size_t i;

	for (i = 0; i < sizeof(tokeners) / sizeof(tokeners[0]); i++)
		if (tokeners[i].tok != NULL && tokeners[i].depth == depth &&
		    !tokeners[i].busy) {
			tokeners[i].busy = true;
			return tokeners[i].tok;
		}
	for (i = 0; i < sizeof(tokeners) / sizeof(tokeners[0]); i++)
		if (tokeners[i].tok == NULL) {
			if ((tokeners[i].tok = json_tokener_new_ex(depth)) == NULL)
				return NULL;
			tokeners[i].depth = depth;
			tokeners[i].busy = true;
			return tokeners[i].tok;
		}
	return json_tokener_new_ex(depth);	/* all taken: not kept */
}

static void
tokener_put(json_tokener *tok)
{
	size_t i;

	for (i = 0; i < sizeof(tokeners) / sizeof(tokeners[0]); i++)
		if (tokeners[i].tok == tok) {
			json_tokener_reset(tok);
			tokeners[i].busy = false;
			return;
		}
	json_tokener_free(tok);
}

/*
 * The document of a fast-path parse: the nodes and a copy of the text in
 * one allocation, the nodes' strings pointing into the copy, each ended
 * there by a NUL written over its closing quote.
 */
static struct jdoc *
fast_doc(const char *text, size_t len, const struct fnode *nodes, size_t nn)
{
	struct jdoc	*d;
	struct fnode	*f;
	char		*copy;
	size_t		 i, off;

	if ((d = malloc(sizeof(*d) + nn * sizeof(d->nodes[0]) + len + 1)) ==
	    NULL)
		return NULL;
	d->root = NULL;
	d->nnodes = nn;
	copy = (char *)&d->nodes[nn];
	memcpy(copy, text, len);
	copy[len] = '\0';
	for (i = 0; i < nn; i++) {
		f = &d->nodes[i];
		*f = nodes[i];
		if (f->key != NULL) {
			off = (size_t)(f->key - text);
			f->key = copy + off;
			copy[off + f->keylen] = '\0';
		}
		if (f->type == JT_STRING) {
			off = (size_t)(f->u.s - text);
			f->u.s = copy + off;
			copy[off + f->len] = '\0';
		}
	}
	return d;
}

int
jdoc_parse(const char *text, size_t len, int max_depth, struct jdoc **out,
    char *err, size_t errlen)
{
	json_tokener		*tok;
	json_object		*obj;
	enum json_tokener_error	 jerr;
	struct fnode		 nodes[FAST_NODES];
	struct vstate		 v = { (const unsigned char *)text, len, 0, 0,
	    max_depth, NULL, 0, NULL, 0, fast_path ? nodes : NULL, 0, NULL, 0 };
	struct jdoc		*d;
	struct buf		 wide = { NULL, 0, 0, false };

	*out = NULL;
	if (len > (size_t)INT32_MAX) {
		snprintf(err, errlen, "input too large");
		return -1;
	}
	if (v_run(&v) != 0) {
		snprintf(err, errlen, "%s at position %zu", v.why, v.i);
		return -1;
	}
	if (v.nodes != NULL) {
		if ((*out = fast_doc(text, len, nodes, v.nn)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	}
	if (v.bigints > 0) {
		/* Rare: rewrite integers past 64 bits as doubles (v_number). */
		struct vstate	 w = { (const unsigned char *)text, len, 0, 0,
		    max_depth, NULL, 0, &wide, 0, NULL, 0, NULL, 0 };

		(void)v_run(&w);
		buf_append(&wide, text + w.copied, len - w.copied);
		if (!buf_ok(&wide) || wide.len > (size_t)INT32_MAX) {
			buf_free(&wide);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		text = wide.data;
		len = wide.len;
	}
	/* The text is valid JSON now; json-c only builds the tree. */
	if ((tok = tokener_get(max_depth + 1)) == NULL) {
		buf_free(&wide);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	obj = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue) {
		/* a bare number at the very end needs the terminator */
		obj = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
	}
	tokener_put(tok);
	buf_free(&wide);
	if (jerr != json_tokener_success) {
		snprintf(err, errlen, "%s", json_tokener_error_desc(jerr));
		json_object_put(obj);
		return -1;
	}
	if ((d = malloc(sizeof(*d))) == NULL) {
		json_object_put(obj);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	d->root = obj;
	d->nnodes = 0;
	*out = d;
	return 0;
}

void
jdoc_free(struct jdoc *d)
{
	if (d == NULL)
		return;
	json_object_put(d->root);
	free(d);
}

void
jdoc_fast_path(bool on)
{
	fast_path = on;
}

bool
jdoc_fast(const struct jdoc *d)
{
	return d->nnodes > 0;
}

/*
 * A jref to a fast-path node has the low bit of its pointer set: nodes and
 * json-c's objects are both at least pointer-aligned, so the bit is free,
 * and telling them apart needs no access to the document.
 */
#define FAST_TAG	((uintptr_t)1)

static struct jref
fast_ref(const struct fnode *f)
{
	struct jref r = { (const void *)((uintptr_t)f | FAST_TAG), true };

	return r;
}

/* The fast-path node v refers to, or NULL for json-c's (or absent, null). */
static const struct fnode *
fast_node(struct jref v)
{
	if (((uintptr_t)v.p & FAST_TAG) == 0)
		return NULL;
	return (const struct fnode *)((uintptr_t)v.p & ~FAST_TAG);
}

struct jref
jdoc_root(const struct jdoc *d)
{
	struct jref r = { d->root, true };

	if (d->nnodes > 0)
		return fast_ref(&d->nodes[0]);
	return r;
}

enum jtype
jref_type(struct jref v)
{
	const struct fnode *f;

	if (!v.present)
		return JT_MISSING;
	if (v.p == NULL)
		return JT_NULL;
	if ((f = fast_node(v)) != NULL)
		return f->type;
	switch (json_object_get_type((json_object *)(uintptr_t)v.p)) {
	case json_type_boolean:
		return JT_BOOL;
	case json_type_double:
	case json_type_int:
		return JT_NUMBER;
	case json_type_string:
		return JT_STRING;
	case json_type_array:
		return JT_ARRAY;
	case json_type_object:
		return JT_OBJECT;
	case json_type_null:
	default:
		return JT_NULL;
	}
}

struct jref
jref_get(struct jref v, const char *key)
{
	struct jref		 r = { NULL, false };
	json_object		*child = NULL;
	const struct fnode	*f, *c, *last = NULL;
	uint32_t		 k;

	if (jref_type(v) != JT_OBJECT)
		return r;
	if ((f = fast_node(v)) != NULL) {
		/* A name given twice: the last one wins, as in json-c and
		 * JSON.parse. */
		for (c = f + 1, k = 0; k < f->len; c += c->span, k++)
			if (strcmp(c->key, key) == 0)
				last = c;
		return last != NULL ? fast_ref(last) : r;
	}
	if (json_object_object_get_ex((json_object *)(uintptr_t)v.p, key,
	    &child)) {
		r.p = child;
		r.present = true;
	}
	return r;
}

struct jref
jref_get_index(struct jref v, size_t i)
{
	struct jref		 r = { NULL, false };
	json_object		*a;
	const struct fnode	*f, *c;

	if (jref_type(v) != JT_ARRAY)
		return r;
	if ((f = fast_node(v)) != NULL) {
		if (i >= f->len)
			return r;
		for (c = f + 1; i > 0; i--)
			c += c->span;
		return fast_ref(c);
	}
	a = (json_object *)(uintptr_t)v.p;
	if (i >= json_object_array_length(a))
		return r;
	r.p = json_object_array_get_idx(a, i);
	r.present = true;
	return r;
}

size_t
jref_array_len(struct jref v)
{
	const struct fnode *f;

	if (jref_type(v) != JT_ARRAY)
		return 0;
	if ((f = fast_node(v)) != NULL)
		return f->len;
	return json_object_array_length((json_object *)(uintptr_t)v.p);
}

bool
jref_number(struct jref v, double *out)
{
	json_object	*o;
	double		 d;

	const struct fnode *f;

	if (jref_type(v) != JT_NUMBER)
		return false;
	if ((f = fast_node(v)) != NULL) {
		*out = (double)f->u.i;	/* as json-c's int64 below */
		return true;
	}
	o = (json_object *)(uintptr_t)v.p;
	if (json_object_get_type(o) == json_type_int) {
		/* int64 or uint64; both convert to double (as JS does). */
		d = json_object_get_uint64(o) > (uint64_t)INT64_MAX ?
		    (double)json_object_get_uint64(o) :
		    (double)json_object_get_int64(o);
	} else
		d = json_object_get_double(o);
	if (!isfinite(d))
		return false;
	*out = d;
	return true;
}

const char *
jref_string(struct jref v, size_t *len)
{
	json_object		*o;
	const struct fnode	*f;

	if (jref_type(v) != JT_STRING)
		return NULL;
	if ((f = fast_node(v)) != NULL) {
		*len = f->len;
		return f->u.s;
	}
	o = (json_object *)(uintptr_t)v.p;
	*len = (size_t)json_object_get_string_len(o);
	return json_object_get_string(o);
}

bool
jref_is_true(struct jref v)
{
	const struct fnode *f;

	if (jref_type(v) != JT_BOOL)
		return false;
	if ((f = fast_node(v)) != NULL)
		return f->u.b;
	return json_object_get_boolean((json_object *)(uintptr_t)v.p);
}

const char *
jref_zod_type(struct jref v)
{
	static const char *const names[JT__MAX] = {
		"undefined", "null", "boolean", "number", "string", "array",
		"object",
	};

	return names[jref_type(v)];
}

/* ---- writing ---------------------------------------------------------- */

void
json_format_number(double d, char *out, size_t outsz)
{
	int	 prec;
	char	*e;

	if (!isfinite(d)) {
		snprintf(out, outsz, "null");
		return;
	}
	if (d == 0) {		/* also -0, which JavaScript prints as 0 */
		snprintf(out, outsz, "0");
		return;
	}
	for (prec = 15; prec <= 17; prec++) {
		snprintf(out, outsz, "%.*g", prec, d);
		if (strtod(out, &e) == d)
			break;
	}
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char	 c = s[0];
	size_t		 len, i;
	uint32_t	 cp;

	if (c < 0x80)
		return 1;
	else if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

void
json_append_string(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t	 i = 0, run = 0, k;
	char	 esc[7];

	buf_putc(b, '"');
	while (i < n) {
		unsigned char c = p[i];

		if (json_plain[c]) {
			run++;
			i++;
			continue;
		}
		buf_append(b, s + i - run, run);
		run = 0;
		if (c >= 0x80) {
			if ((k = utf8_seq(p + i, n - i)) == 0) {
				buf_puts(b, "\xef\xbf\xbd");	/* U+FFFD */
				k = 1;
			} else
				buf_append(b, s + i, k);
			i += k;
			continue;
		}
		switch (c) {
		case '"':  buf_puts(b, "\\\""); break;
		case '\\': buf_puts(b, "\\\\"); break;
		case '\n': buf_puts(b, "\\n"); break;
		case '\r': buf_puts(b, "\\r"); break;
		case '\t': buf_puts(b, "\\t"); break;
		case '\b': buf_puts(b, "\\b"); break;
		case '\f': buf_puts(b, "\\f"); break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			buf_append(b, esc, 6);
			break;
		}
		i++;
	}
	buf_append(b, s + i - run, run);
	buf_putc(b, '"');
}

void
jw_init(struct jw *w, struct buf *b, enum jw_style style)
{
	memset(w, 0, sizeof(*w));
	w->b = b;
	w->pretty = style == JW_PRETTY;
}

static void
jw_newline(struct jw *w)
{
	unsigned i;

	buf_putc(w->b, '\n');
	for (i = 0; i < w->depth; i++)
		buf_puts(w->b, "  ");
}

/* Separator before a value or key at the current depth. */
static void
jw_sep(struct jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth == 0)
		return;
	if (w->has_items[w->depth])
		buf_putc(w->b, ',');
	w->has_items[w->depth] = true;
	if (w->pretty)
		jw_newline(w);
}

static void
jw_open(struct jw *w, char c)
{
	jw_sep(w);
	buf_putc(w->b, c);
	if (w->depth + 1 >= JW_MAX_DEPTH) {
		w->b->failed = true;
		return;
	}
	w->depth++;
	w->has_items[w->depth] = false;
}

static void
jw_close(struct jw *w, char c)
{
	bool had = w->has_items[w->depth];

	if (w->depth > 0)
		w->depth--;
	if (w->pretty && had)
		jw_newline(w);
	buf_putc(w->b, c);
}

void jw_obj_open(struct jw *w)  { jw_open(w, '{'); }
void jw_obj_close(struct jw *w) { jw_close(w, '}'); }
void jw_arr_open(struct jw *w)  { jw_open(w, '['); }
void jw_arr_close(struct jw *w) { jw_close(w, ']'); }

void
jw_key(struct jw *w, const char *k)
{
	jw_sep(w);
	json_append_string(w->b, k, strlen(k));
	buf_puts(w->b, w->pretty ? ": " : ":");
	w->after_key = true;
}

void
jw_strn(struct jw *w, const char *s, size_t n)
{
	jw_sep(w);
	json_append_string(w->b, s, n);
}

void
jw_str(struct jw *w, const char *s)
{
	jw_strn(w, s, strlen(s));
}

void
jw_int(struct jw *w, int64_t v)
{
	char		 tmp[24], *p = tmp + sizeof(tmp);
	uint64_t	 u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	jw_sep(w);
	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	buf_append(w->b, p, (size_t)(tmp + sizeof(tmp) - p));
}

void
jw_num(struct jw *w, double d)
{
	char tmp[40];

	jw_sep(w);
	json_format_number(d, tmp, sizeof(tmp));
	buf_puts(w->b, tmp);
}

void
jw_bool(struct jw *w, bool v)
{
	jw_sep(w);
	buf_puts(w->b, v ? "true" : "false");
}

void
jw_null(struct jw *w)
{
	jw_sep(w);
	buf_puts(w->b, "null");
}

void
jw_raw(struct jw *w, const char *s, size_t n)
{
	jw_sep(w);
	buf_append(w->b, s, n);
}
