/* check_input.c - the getStatus input schema and zod's issue format. */
#include "config.h"

#include <string.h>

#include "input.h"
#include "uuid.h"

#define SUITE_NAME "input"
#include "check_main.h"

#define ISSUE_TYPE(exp, rec, path, msg) \
	"[\n  {\n    \"code\": \"invalid_type\",\n    \"expected\": \"" exp "\",\n" \
	"    \"received\": \"" rec "\",\n    \"path\": " path ",\n" \
	"    \"message\": \"" msg "\"\n  }\n]"
#define PATH_COURSE "[\n      \"courseId\"\n    ]"

static const struct {
	const char	*json;		/* NULL: no input at all */
	const char	*course;	/* canonical id when valid */
	const char	*issues;	/* zod's message when invalid */
} cases[] = {
	{ "{\"courseId\":\"123e4567-e89b-12d3-a456-426614174000\"}",
	  "123e4567-e89b-12d3-a456-426614174000", NULL },
	{ "{\"courseId\":\"123E4567-E89B-12D3-A456-426614174000\",\"extra\":1}",
	  "123e4567-e89b-12d3-a456-426614174000", NULL },
	{ "{\"courseId\":\"generating-course-id\"}", NULL,
	  "[\n  {\n    \"validation\": \"uuid\",\n    \"code\": \"invalid_string\",\n"
	  "    \"message\": \"Invalid uuid\",\n    \"path\": " PATH_COURSE "\n  }\n]" },
	{ "{\"courseId\":\"\"}", NULL,
	  "[\n  {\n    \"validation\": \"uuid\",\n    \"code\": \"invalid_string\",\n"
	  "    \"message\": \"Invalid uuid\",\n    \"path\": " PATH_COURSE "\n  }\n]" },
	{ "{}", NULL, ISSUE_TYPE("string", "undefined", PATH_COURSE, "Required") },
	{ "{\"courseId\":42}", NULL,
	  ISSUE_TYPE("string", "number", PATH_COURSE, "Expected string, received number") },
	{ "{\"courseId\":null}", NULL,
	  ISSUE_TYPE("string", "null", PATH_COURSE, "Expected string, received null") },
	{ "{\"courseId\":[\"x\"]}", NULL,
	  ISSUE_TYPE("string", "array", PATH_COURSE, "Expected string, received array") },
	{ NULL, NULL, ISSUE_TYPE("object", "undefined", "[]", "Required") },
	{ "null", NULL, ISSUE_TYPE("object", "null", "[]", "Expected object, received null") },
	{ "[]", NULL, ISSUE_TYPE("object", "array", "[]", "Expected object, received array") },
	{ "\"123e4567-e89b-12d3-a456-426614174000\"", NULL,
	  ISSUE_TYPE("object", "string", "[]", "Expected object, received string") },
	{ "7", NULL, ISSUE_TYPE("object", "number", "[]", "Expected object, received number") },
	{ "true", NULL, ISSUE_TYPE("object", "boolean", "[]", "Expected object, received boolean") },
};

START_TEST(test_input)
{
	struct jdoc	*d = NULL;
	struct jref	 in = { NULL, false };
	char		 err[64], course[UUID_STRLEN + 1];
	struct buf	 msg;
	bool		 ok;

	if (cases[_i].json != NULL) {
		ck_assert_int_eq(jdoc_parse(cases[_i].json, strlen(cases[_i].json),
		    32, &d, err, sizeof(err)), 0);
		in = jdoc_root(d);
	}
	buf_init(&msg);
	ok = input_getstatus(in, course, &msg);
	if (cases[_i].course != NULL) {
		ck_assert_msg(ok, "case %d refused: %s", _i, buf_cstr(&msg));
		ck_assert_str_eq(course, cases[_i].course);
	} else {
		ck_assert(!ok);
		ck_assert_str_eq(buf_cstr(&msg), cases[_i].issues);
	}
	buf_free(&msg);
	jdoc_free(d);
}
END_TEST

static void
add_tests(TCase *tc)
{
	tcase_add_loop_test(tc, test_input, 0, N(cases));
}
