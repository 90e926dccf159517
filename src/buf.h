/* buf.h - growable byte buffer with a sticky out-of-memory flag. */
#ifndef CS_BUF_H
#define CS_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * A buffer grows on demand up to BUF_MAX bytes. Any failure (allocation or
 * the limit) sets `failed`, and every later append is ignored, so callers may
 * append freely and check once with buf_ok() at the end. The data is always
 * NUL-terminated when len > 0 or after buf_cstr().
 */
#define BUF_MAX (16u * 1024u * 1024u)

struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
	bool	 failed;
};

/* Initialise an empty buffer; no allocation happens until the first append. */
void	 buf_init(struct buf *);
/* Release the storage; the buffer is empty and reusable afterwards. */
void	 buf_free(struct buf *);
/* Forget the contents but keep the storage (and clear the failed flag). */
void	 buf_reset(struct buf *);
/* Append n bytes. Returns false (and sets failed) on allocation failure. */
bool	 buf_append(struct buf *, const void *, size_t);
/* Append a NUL-terminated string. */
bool	 buf_puts(struct buf *, const char *);
/* Append one byte. */
bool	 buf_putc(struct buf *, char);
/*
 * Room for n more bytes (and the NUL after them) at the end: a pointer to
 * write up to n bytes to, then buf_commit() how many were written. NULL
 * (and failed set) when the room cannot be had.
 */
char	*buf_space(struct buf *, size_t n);
/* Count n bytes written into the room buf_space() gave, and end them. */
void	 buf_commit(struct buf *, size_t n);
/* Append printf-formatted text (never untrusted format strings). */
bool	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* True when no append has failed since the last init/reset. */
bool	 buf_ok(const struct buf *);
/* The contents as a C string (an empty string for an empty buffer). */
const char *buf_cstr(struct buf *);

#endif
