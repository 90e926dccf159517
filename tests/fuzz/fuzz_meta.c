/*
 * fuzz_meta.c - generation_metadata as the database hands it over: meta_read,
 * the state machine (gen_state_compute, gen_message) and the output object
 * (render_status).
 *
 * Input: 1 byte status selector (bit 4: English messages), 8 bytes elapsed ms, 8 bytes created ms,
 * 8 bytes updated ms (little-endian host order), then the metadata text.
 * Oracles: the output is valid JSON, progress within 0..100 (99 unless
 * completed), the ETA set only while generating and never negative, the
 * message fits and is valid UTF-8 as JSON reads it.
 */
#include "config.h"

#include <stdint.h>

#include "buf.h"
#include "genstate.h"
#include "json.h"
#include "meta.h"
#include "render.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int64_t
take64(const uint8_t **p, size_t *n)
{
	int64_t v = 0;

	if (*n >= 8) {
		memcpy(&v, *p, 8);
		*p += 8;
		*n -= 8;
	}
	return v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "idle", "queued", "generating",
	    "completed", "failed", "cancelled", "unknown", "GENERATING" };
	struct gen_meta		 m;
	struct gen_state	 st;
	struct jdoc		*doc = NULL;
	enum gen_status		 gs;
	struct buf		 out;
	char			 msg[512];
	size_t			 mlen;
	int64_t			 elapsed, created, updated;
	int			 sel, rc;
	bool			 is_null, ok;
	enum gen_lang		 lang;

	if (size < 1)
		return 0;
	sel = data[0];
	data++;
	size--;
	elapsed = take64(&data, &size);
	created = take64(&data, &size);
	updated = take64(&data, &size);
	/* Mostly realistic times, sometimes anything. */
	if (!(sel & 0x80)) {
		created = 1700000000000LL + (created % 100000000000LL);
		updated = created + (updated % 1000000000LL);
		elapsed %= 100000000LL;
	}
	is_null = (sel & 0x08) != 0;
	if (!gen_status_parse(names[sel & 7], is_null, &gs)) {
		FUZZ_CHECK((sel & 7) >= 6 && !is_null, "refused %s", names[sel & 7]);
		return 0;
	}
	FUZZ_CHECK(gs < GS__MAX, "status %d", (int)gs);

	memset(&m, 0, sizeof(m));
	rc = meta_read(size ? (const char *)data : NULL, size, &m, &doc);
	if (rc != 0) {
		jdoc_free(doc);
		return 0;
	}
	gen_state_compute(gs, &m, elapsed, &st);
	FUZZ_CHECK(st.progress >= 0 && st.progress <= 100, "progress %d", st.progress);
	if (st.status != GS_COMPLETED)
		FUZZ_CHECK(st.progress <= 99, "progress %d while %s", st.progress,
		    gen_status_name(st.status));
	FUZZ_CHECK(!st.eta_set || st.status == GS_GENERATING, "eta while %s",
	    gen_status_name(st.status));
	FUZZ_CHECK(!st.eta_set || st.eta_seconds >= 0, "eta %lld",
	    (long long)st.eta_seconds);
	lang = (sel & 0x10) ? GL_EN : GL_RU;
	mlen = gen_message(&st, lang, msg, sizeof(msg));
	FUZZ_CHECK(mlen < sizeof(msg), "message of %zu bytes", mlen);

	buf_init(&out);
	ok = render_status("123e4567-e89b-12d3-a456-426614174000", &st, lang, created,
	    updated, &out);
	if (ok) {
		FUZZ_CHECK(buf_ok(&out), "render buffer failed");
		FUZZ_CHECK(fuzz_valid_json(out.data, out.len), "output is not JSON: %s",
		    buf_cstr(&out));
		FUZZ_CHECK(out.data[0] == '{', "output is not an object");
	} else
		FUZZ_CHECK(sel & 0x80, "realistic timestamps refused: %lld %lld",
		    (long long)created, (long long)updated);
	buf_free(&out);
	jdoc_free(doc);
	return 0;
}
