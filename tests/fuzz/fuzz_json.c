/*
 * fuzz_json.c - the JSON input handling: jdoc_parse (json-c behind the
 * strict validator) and the getStatus input schema (input_getstatus).
 *
 * Oracles: jdoc_parse accepts exactly what json_validate accepts (json-c
 * never refuses validated text); a refused input gets a reason that does not
 * echo the input; input_getstatus either yields a canonical UUID or a zod
 * issue list that is itself valid JSON; any bytes written with
 * json_append_string read back as valid JSON.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>

#include "buf.h"
#include "input.h"
#include "json.h"
#include "uuid.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*text = (const char *)data;
	struct jdoc	*doc = NULL;
	char		 err[128];
	size_t		 pos;
	const char	*why;
	int		 valid, parsed;
	struct buf	 b;

	valid = json_validate(text, size, FUZZ_DEPTH, &pos, &why) == 0;
	if (!valid)
		FUZZ_CHECK(pos <= size && why != NULL, "pos %zu of %zu", pos, size);
	parsed = jdoc_parse(text, size, FUZZ_DEPTH, &doc, err, sizeof(err)) == 0;
	FUZZ_CHECK(valid == parsed, "json_validate %d, jdoc_parse %d (%s)", valid,
	    parsed, parsed ? "" : err);
	if (!parsed) {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL, "unterminated reason");
		FUZZ_CHECK(doc == NULL, "document on failure");
	} else {
		struct jref	 root = jdoc_root(doc);
		char		 course[UUID_STRLEN + 1];
		struct buf	 msg;
		enum jtype	 t = jref_type(root);

		FUZZ_CHECK(t > JT_MISSING && t < JT__MAX, "root type %d", (int)t);
		FUZZ_CHECK(jref_zod_type(root) != NULL, "no zod type");
		buf_init(&msg);
		memset(course, 0, sizeof(course));
		if (input_getstatus(root, course, &msg)) {
			FUZZ_CHECK(fuzz_canonical_uuid(course), "course id %s", course);
			FUZZ_CHECK(t == JT_OBJECT, "accepted a %s", jref_zod_type(root));
		} else {
			FUZZ_CHECK(buf_ok(&msg) && msg.len > 0, "no issue list");
			FUZZ_CHECK(fuzz_valid_json(msg.data, msg.len),
			    "issue list is not JSON: %s", buf_cstr(&msg));
		}
		buf_free(&msg);
		/* The same value wrapped as a batch: {"0": <value>} */
		{
			struct jref	 v = jref_get(root, "0");
			struct jref	 c = jref_get(root, "courseId");
			size_t		 n;
			double		 d;

			(void)jref_type(v);
			if (jref_string(c, &n) != NULL)
				(void)n;
			(void)jref_number(c, &d);
			(void)jref_is_true(c);
		}
		jdoc_free(doc);
	}
	/* The writer: any bytes become a valid JSON string. */
	buf_init(&b);
	json_append_string(&b, text, size);
	FUZZ_CHECK(buf_ok(&b), "writer failed");
	FUZZ_CHECK(fuzz_valid_json(b.data, b.len), "json_append_string output invalid");
	buf_free(&b);
	/* And any 8 bytes as a double are written as valid JSON. */
	if (size >= 8) {
		double	 d;
		char	 num[64];

		memcpy(&d, data, 8);
		if (isfinite(d)) {
			json_format_number(d, num, sizeof(num));
			FUZZ_CHECK(fuzz_valid_json(num, strlen(num)), "number %s", num);
			FUZZ_CHECK(strtod(num, NULL) == d, "%s does not read back", num);
		}
	}
	return 0;
}
