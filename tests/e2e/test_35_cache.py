"""NOTES 15: the per-worker status cache never hands one user's answer to another.

One worker (so every request meets the same cache) and a 2 s TTL; each check that must
happen "within the TTL" asserts that it did."""

import time
import unittest

from e2e.common import (OwnStackCase, MEMBER, OUTSIDER, OWNER, PROC, add_member,
                        batch_input, bearer, cid, insert_courses, remove_member, target,
                        token, wait_ttl, MSG_FORBIDDEN, MSG_UNAUTH)

TTL_MS = 2000
C1 = cid("cache/owner-first")
C2 = cid("cache/outsider-first")
C3 = cid("cache/updated")
C4 = cid("cache/revoked")
C5 = cid("cache/unauthenticated")
REVOKEE = "77777777-7777-4777-8777-777777777777"
REVOKE_ORG = "eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee"


class Cache(OwnStackCase):
    stack_kwargs = dict(workers=1, env={"CACHE_TTL_MS": str(TTL_MS)})

    @classmethod
    def fixtures(cls, stack):
        insert_courses(stack, [
            dict(id=C1, gen_status="generating", meta={"last_phase": "sections",
                                                       "batch_count": 2}),
            dict(id=C2, gen_status="completed", meta={"total_lessons": 5}),
            dict(id=C3, gen_status="queued"),
            dict(id=C4, gen_status="queued", org=REVOKE_ORG),
            dict(id=C5, gen_status="queued"),
        ])
        add_member(stack, REVOKEE, REVOKE_ORG)

    def within_ttl(self, t0):
        self.assertLess(time.monotonic() - t0, TTL_MS / 1000.0 * 0.9,
                        "too slow: the checks did not happen within the cache TTL")

    def test_1_owner_then_outsider_then_member(self):
        t0 = time.monotonic()
        d = self.ok_data(self.status_of(C1, OWNER))
        self.assertEqual(d["status"], "generating")
        resp = self.status_of(C1, OUTSIDER)
        self.assert_error(resp, 403, "FORBIDDEN", MSG_FORBIDDEN)
        self.assertNotIn(b"generating", resp.body)
        self.assert_error(self.get(target(self.stack, input={"courseId": C1})), 401,
                          "UNAUTHORIZED", MSG_UNAUTH)
        d = self.ok_data(self.status_of(C1, MEMBER))
        self.assertEqual(d["status"], "generating")
        self.assert_error(self.status_of(C1, OUTSIDER), 403, "FORBIDDEN", MSG_FORBIDDEN)
        self.within_ttl(t0)

    def test_2_outsider_first_then_owner(self):
        t0 = time.monotonic()
        self.assert_error(self.status_of(C2, OUTSIDER), 403, "FORBIDDEN", MSG_FORBIDDEN)
        d = self.ok_data(self.status_of(C2, OWNER))
        self.assertEqual(d["metadata"], {"totalLessons": 5})
        self.ok_data(self.status_of(C2, MEMBER))
        self.assert_error(self.status_of(C2, OUTSIDER), 403, "FORBIDDEN", MSG_FORBIDDEN)
        self.within_ttl(t0)

    def test_3_batch_of_cached_courses_for_an_outsider(self):
        # owner warms C1, then a batch by the outsider for C1 and C5: both 403
        t0 = time.monotonic()
        self.ok_data(self.status_of(C1, OWNER))
        self.ok_data(self.status_of(C5, OWNER))
        resp = self.get(target(self.stack, [PROC, PROC], batch=True,
                               input=batch_input({"courseId": C1}, {"courseId": C5})),
                        bearer(token(self.stack, OUTSIDER)))
        self.assertEqual(resp.status, 403, resp)
        for item in resp.json():
            self.assert_error_obj(item["error"], 403, "FORBIDDEN", MSG_FORBIDDEN)
        self.within_ttl(t0)

    def test_4_update_visible_after_ttl(self):
        self.assertEqual(self.ok_data(self.status_of(C3))["status"], "queued")
        self.stack.psql("UPDATE courses SET generation_status='cancelled' WHERE id='%s';" % C3)
        wait_ttl(self.stack)
        self.assertEqual(self.ok_data(self.status_of(C3))["status"], "cancelled")

    def test_5_membership_revoked_after_ttl(self):
        self.ok_data(self.status_of(C4, REVOKEE))
        remove_member(self.stack, REVOKEE, REVOKE_ORG)
        wait_ttl(self.stack)
        self.assert_error(self.status_of(C4, REVOKEE), 403, "FORBIDDEN", MSG_FORBIDDEN)
        add_member(self.stack, REVOKEE, REVOKE_ORG)
        wait_ttl(self.stack)
        self.ok_data(self.status_of(C4, REVOKEE))

    def test_zz_log_has_no_secrets(self):
        self.assert_log_clean()


if __name__ == "__main__":
    unittest.main()
