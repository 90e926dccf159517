/* check_log.c - log_escape: untrusted text can never split or forge a line. */
#include "config.h"

#include <string.h>

#include "log.h"

#define SUITE_NAME "log"
#include "check_main.h"

static const struct {
	const char	*in;
	size_t		 n;		/* bytes of in to read */
	size_t		 outsz;
	const char	*out;
} escapes[] = {
	{ "plain text", 10, 64, "plain text" },
	{ "", 0, 64, "" },
	/* 2: line breaks, controls, the escape character itself, DEL, bytes
	 * over 0x7f: all \xNN, so a forged second line stays on this one */
	{ "a\nb", 3, 64, "a\\x0ab" },
	{ "x\r\ncoursegen-status[1]: error: forged", 37, 128,
	    "x\\x0d\\x0acoursegen-status[1]: error: forged" },
	{ "tab\there", 8, 64, "tab\\x09here" },
	{ "back\\slash", 10, 64, "back\\x5cslash" },
	{ "\x7f\x1b[31m", 6, 64, "\\x7f\\x1b[31m" },
	{ "\xd0\x9f", 2, 64, "\\xd0\\x9f" },
	/* 8: NUL inside the n bytes is escaped, not an end */
	{ "a\0b", 3, 64, "a\\x00b" },
	/* 9: only n bytes are read */
	{ "abcdef", 3, 64, "abc" },
	/* 10: truncated with "..." to fit outsz, NUL included */
	{ "0123456789abcdefghij", 20, 16, "01234567..." },
	{ "\n\n\n\n\n\n", 6, 16, "\\x0a\\x0a..." },
	{ "abc", 3, 4, "..." },
	{ "abc", 3, 1, "" },
};

START_TEST(test_escape)
{
	char	 out[128];
	size_t	 outsz = escapes[_i].outsz;

	memset(out, 'Z', sizeof(out));
	ck_assert_ptr_eq(log_escape(escapes[_i].in, escapes[_i].n, out, outsz),
	    out);
	ck_assert_str_eq(out, escapes[_i].out);
	ck_assert_uint_lt(strlen(out), outsz);
	ck_assert_ptr_null(strpbrk(out, "\r\n"));
}
END_TEST

START_TEST(test_escape_outsz_zero)
{
	char out[4] = "ZZZ";

	/* nothing written at all */
	ck_assert_ptr_eq(log_escape("abc", 3, out, 0), out);
	ck_assert_str_eq(out, "ZZZ");
}
END_TEST

static void
add_tests(TCase *tc)
{
	tcase_add_loop_test(tc, test_escape, 0, N(escapes));
	tcase_add_test(tc, test_escape_outsz_zero);
}
