"""Access (NOTES 13-16): who may read a course, which claim names the user, and that
membership changes and deletions reach the next poll of every worker, once the
change notifications (sql/006-notify.sql) have arrived."""

import concurrent.futures
import unittest

from e2e.common import (E2ECase, MEMBER, MISSING_COURSE, ORG, OTHER_MEMBER, OTHER_ORG,
                        OUTSIDER, OWNER, PROC, add_member, cid, claims,
                        insert_courses, jwt, shared, target, token, write_and_wait,
                        MSG_FORBIDDEN, MSG_NOT_FOUND, MSG_UNAUTH)

ORG_COURSE = cid("access/org-course")
PRIVATE = cid("access/no-org")
REVOKE_COURSE = cid("access/revoke")
GRANT_COURSE = cid("access/grant")
DELETE_COURSE = cid("access/delete")
REVOKEE = "55555555-5555-4555-8555-555555555555"
GRANTEE = "66666666-6666-4666-8666-666666666666"
REVOKE_ORG = "cccccccc-cccc-4ccc-8ccc-cccccccccccc"
GRANT_ORG = "dddddddd-dddd-4ddd-8ddd-dddddddddddd"


def setUpModule():
    st = shared()
    insert_courses(st, [
        dict(id=ORG_COURSE, gen_status="queued"),
        dict(id=PRIVATE, gen_status="queued", org=None),
        dict(id=REVOKE_COURSE, gen_status="queued", org=REVOKE_ORG),
        dict(id=GRANT_COURSE, gen_status="queued", org=GRANT_ORG),
        dict(id=DELETE_COURSE, gen_status="queued"),
    ])
    add_member(st, REVOKEE, REVOKE_ORG)
    add_member(st, OUTSIDER, OTHER_ORG)  # a member, but of another organization


class Authorization(E2ECase):
    """NOTES 13: owner or member of the course's organization; else 403; absent 404."""

    def test_13_table(self):
        cases = [
            ("owner", OWNER, ORG_COURSE, 200),
            ("org member", MEMBER, ORG_COURSE, 200),
            ("non-member", OUTSIDER, ORG_COURSE, 403),
            ("member of another org", OTHER_MEMBER, ORG_COURSE, 403),
            ("owner, course without org", OWNER, PRIVATE, 200),
            ("member, course without org", MEMBER, PRIVATE, 403),
            ("outsider, course without org", OUTSIDER, PRIVATE, 403),
            ("owner, unknown course", OWNER, MISSING_COURSE, 404),
            ("outsider, unknown course", OUTSIDER, MISSING_COURSE, 404),
        ]
        for name, user, course, status in cases:
            with self.subTest(case=name):
                resp = self.status_of(course, user)
                if status == 200:
                    d = self.ok_data(resp)
                    self.assertEqual(d["courseId"], course)
                elif status == 403:
                    self.assert_error(resp, 403, "FORBIDDEN", MSG_FORBIDDEN, PROC)
                    self.assertNotIn(b"queued", resp.body)
                else:
                    self.assert_error(resp, 404, "NOT_FOUND", MSG_NOT_FOUND, PROC)

    def test_13_organization_id_claim_is_ignored(self):
        # The token claims the course's organization, the table has no membership.
        for extra in ({"organization_id": ORG}, {"organization_id": ORG, "role": "admin"},
                      {"role": "service_role"}):
            with self.subTest(claims=extra):
                tok = token(self.stack, OUTSIDER, **extra)
                self.assert_error(self.status_of(ORG_COURSE, tok=tok), 403, "FORBIDDEN",
                                  MSG_FORBIDDEN)
        # and a member whose token names some other organization still gets in
        tok = token(self.stack, MEMBER, organization_id=OTHER_ORG)
        self.ok_data(self.status_of(ORG_COURSE, tok=tok))

    def test_13_membership_revoked_on_next_poll(self):
        for _ in range(4):
            self.ok_data(self.status_of(REVOKE_COURSE, REVOKEE))
        write_and_wait(self.stack, "DELETE FROM user_organizations WHERE user_id = '%s' "
                       "AND organization_id = '%s';" % (REVOKEE, REVOKE_ORG))
        for _ in range(4):  # every worker
            self.assert_error(self.status_of(REVOKE_COURSE, REVOKEE), 403, "FORBIDDEN",
                              MSG_FORBIDDEN)

    def test_13_membership_granted_on_next_poll(self):
        for _ in range(4):
            self.assert_error(self.status_of(GRANT_COURSE, GRANTEE), 403, "FORBIDDEN",
                              MSG_FORBIDDEN)
        write_and_wait(self.stack, "INSERT INTO user_organizations (user_id, organization_id) "
                       "VALUES ('%s', '%s');" % (GRANTEE, GRANT_ORG))
        for _ in range(4):
            self.ok_data(self.status_of(GRANT_COURSE, GRANTEE))

    def test_13_deleted_course_not_found_on_next_poll(self):
        for _ in range(4):
            self.ok_data(self.status_of(DELETE_COURSE))
        write_and_wait(self.stack, "DELETE FROM courses WHERE id = '%s';" % DELETE_COURSE)
        for _ in range(4):
            self.assert_error(self.status_of(DELETE_COURSE), 404, "NOT_FOUND", MSG_NOT_FOUND)


class Concurrency(E2ECase):
    """NOTES 15 under load: many users at once over both workers, each gets their own
    answer (no cross-talk through a worker's cache or a reused connection)."""

    def test_15_concurrent_mixed_users(self):
        toks = {u: token(self.stack, u) for u in (OWNER, MEMBER, OUTSIDER, OTHER_MEMBER)}
        expect = {OWNER: 200, MEMBER: 200, OUTSIDER: 403, OTHER_MEMBER: 403}
        jobs = [(u, c) for _ in range(25) for u in toks for c in (ORG_COURSE, PRIVATE)]

        def one(job):
            user, course = job
            resp = self.status_of(course, tok=toks[user])
            want = expect[user] if course == ORG_COURSE else (200 if user == OWNER else 403)
            return job, want, resp

        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as ex:
            results = list(ex.map(one, jobs))
        bad = [(job, want, r.status, r.body[:200]) for job, want, r in results
               if r.status != want]
        self.assertEqual(bad, [])
        for (user, course), want, r in results:
            if want == 200:
                self.assertEqual(r.json()["result"]["data"]["courseId"], course)
            else:
                self.assertEqual(r.json()["error"]["message"], MSG_FORBIDDEN)


class UserId(E2ECase):
    """NOTES 14: user_id claim, else sub; must be a UUID."""

    def mint(self, **c):
        return jwt(c, self.stack.secret)

    def test_14_sub_used_without_user_id(self):
        tok = self.mint(**claims(None, sub=OWNER))
        self.ok_data(self.status_of(ORG_COURSE, tok=tok))
        tok = self.mint(**claims(None, sub=OUTSIDER))
        self.assert_error(self.status_of(ORG_COURSE, tok=tok), 403, "FORBIDDEN")
        # a plain Supabase-style token: sub, role, aud, no user_id
        tok = self.mint(sub=MEMBER, role="authenticated", aud="authenticated",
                        exp=claims(MEMBER)["exp"])
        self.ok_data(self.status_of(ORG_COURSE, tok=tok))

    def test_14_user_id_wins_over_sub(self):
        tok = self.mint(**claims(OUTSIDER, sub=OWNER))
        self.assert_error(self.status_of(ORG_COURSE, tok=tok), 403, "FORBIDDEN")
        tok = self.mint(**claims(OWNER, sub=OUTSIDER))
        self.ok_data(self.status_of(ORG_COURSE, tok=tok))

    def test_14_upper_case_uuid_is_a_uuid(self):
        tok = self.mint(**claims(OWNER.upper()))
        self.ok_data(self.status_of(ORG_COURSE, tok=tok))

    def test_14_user_must_be_a_uuid(self):
        cases = {
            "user_id not a uuid": claims("not-a-uuid"),
            "user_id number": claims(12345),
            "user_id null, no sub": dict(claims(OWNER), user_id=None),
            "user_id empty": claims(""),
            "user_id uuid with trailing space": claims(OWNER + " "),
            "sub not a uuid": claims(None, sub="user@example.com"),
            "neither user_id nor sub": claims(None),
            "user_id object": claims({"id": OWNER}),
        }
        for name, c in cases.items():
            with self.subTest(case=name):
                tok = jwt(c, self.stack.secret)
                self.assert_error(self.status_of(ORG_COURSE, tok=tok), 401, "UNAUTHORIZED",
                                  MSG_UNAUTH, PROC)


class ContractTestIds(E2ECase):
    """NOTES 16: the contract test's ids are not UUIDs; over HTTP the code is data.code."""

    def test_16_contract_ids_rejected_by_schema(self):
        for fake in ("generating-course-id", "completed-course-id", "test-course-id"):
            with self.subTest(courseId=fake):
                err = self.assert_error(self.status_of(fake), 400, "BAD_REQUEST", None, PROC)
                self.assertEqual(self.issues(err), [
                    {"validation": "uuid", "code": "invalid_string", "message": "Invalid uuid",
                     "path": ["courseId"]}])

    def test_16_unauthorized_code_in_data(self):
        resp = self.get(target(self.stack, input={"courseId": ORG_COURSE}))
        err = self.assert_error(resp, 401, "UNAUTHORIZED", MSG_UNAUTH, PROC)
        self.assertEqual(err["data"]["code"], "UNAUTHORIZED")
        self.assertEqual(err["code"], -32001)


if __name__ == "__main__":
    unittest.main()
