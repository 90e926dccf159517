/*
 * input.c - the getStatus input schema, with zod 3's issue format so that
 * front ends which display validation errors keep working.
 */
#include "config.h"

#include "input.h"
#include "uuid.h"

/* {"code":"invalid_type","expected":E,"received":R,"path":[..],"message":M} */
static void
issue_invalid_type(struct jw *w, const char *expected, struct jref got,
    const char *path)
{
	const char *received = jref_zod_type(got);

	jw_obj_open(w);
	jw_key(w, "code");
	jw_str(w, "invalid_type");
	jw_key(w, "expected");
	jw_str(w, expected);
	jw_key(w, "received");
	jw_str(w, received);
	jw_key(w, "path");
	jw_arr_open(w);
	if (path != NULL)
		jw_str(w, path);
	jw_arr_close(w);
	jw_key(w, "message");
	if (jref_type(got) == JT_MISSING)
		jw_str(w, "Required");
	else {
		struct buf m;

		buf_init(&m);
		buf_printf(&m, "Expected %s, received %s", expected, received);
		jw_strn(w, buf_cstr(&m), m.len);
		buf_free(&m);
	}
	jw_obj_close(w);
}

bool
input_getstatus(struct jref input, char course_id[UUID_STRLEN + 1],
    struct buf *msg)
{
	struct jw	 w;
	struct jref	 id;
	const char	*s;
	size_t		 n;

	jw_init(&w, msg, JW_PRETTY);
	if (jref_type(input) != JT_OBJECT) {
		jw_arr_open(&w);
		issue_invalid_type(&w, "object", input, NULL);
		jw_arr_close(&w);
		return false;
	}
	id = jref_get(input, "courseId");
	if ((s = jref_string(id, &n)) == NULL) {
		jw_arr_open(&w);
		issue_invalid_type(&w, "string", id, "courseId");
		jw_arr_close(&w);
		return false;
	}
	if (!uuid_canon(s, n, course_id)) {
		jw_arr_open(&w);
		jw_obj_open(&w);
		jw_key(&w, "validation");
		jw_str(&w, "uuid");
		jw_key(&w, "code");
		jw_str(&w, "invalid_string");
		jw_key(&w, "message");
		jw_str(&w, "Invalid uuid");
		jw_key(&w, "path");
		jw_arr_open(&w);
		jw_str(&w, "courseId");
		jw_arr_close(&w);
		jw_obj_close(&w);
		jw_arr_close(&w);
		return false;
	}
	return true;
}
