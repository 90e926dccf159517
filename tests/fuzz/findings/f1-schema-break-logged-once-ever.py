#!/usr/bin/env python3
"""Finding F1 (src/db.c): a schema break is logged only the first time in a worker's life.

db->schema_logged is set on the first schema error and never cleared, so after the schema
is repaired and breaks again, the second episode leaves no line in the log (the calls are
500s all the same). Expected: one log line per episode (clear the flag when a query or a
prepare succeeds again, as down_logged is cleared on reconnect).

Run from the repository root after `make`:  python3 tests/fuzz/findings/f1-schema-break-logged-once-ever.py
Exit 0 = fixed, 1 = reproduced."""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from e2e.common import (OWNER, bearer, cid, insert_courses, request, start_stack,  # noqa: E402
                        target, token)

st = start_stack(workers=1, env={"CACHE_TTL_MS": "0"})
try:
    C = cid("f1")
    insert_courses(st, [dict(id=C, gen_status="queued")])
    tok = token(st, OWNER)

    def call():
        return request(st, "GET", target(st, input={"courseId": C}), bearer(tok)).status

    assert call() == 200
    lines = []
    for episode in range(2):
        n0 = len(st.service_log())
        st.psql("ALTER TABLE courses RENAME COLUMN generation_metadata TO gm_old;")
        assert [call() for _ in range(3)] == [500] * 3
        st.psql("ALTER TABLE courses RENAME COLUMN gm_old TO generation_metadata;")
        assert [call() for _ in range(3)] == [200] * 3
        lines.append([l for l in st.service_log()[n0:].splitlines() if "error:" in l])
    print("log lines per episode:", [len(x) for x in lines])
    for x in lines:
        print("  ", x)
    sys.exit(0 if all(len(x) == 1 for x in lines) else 1)
finally:
    st.close()
