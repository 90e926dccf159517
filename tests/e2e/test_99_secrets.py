"""Runs last (file-name order): after everything above, the shared stack's service log
holds no token that was sent, no JWT secret and no database password. Stacks of their own
are checked by their own test_zz_* tests before they stop."""

import unittest

from e2e.common import E2ECase, USED_TOKENS, cid, insert_courses, secrets_of


class Secrets(E2ECase):

    def test_service_log_has_no_secrets(self):
        if not USED_TOKENS:
            # run on its own: produce some traffic that is worth logging first
            c = cid("secrets/course")
            insert_courses(self.stack, [dict(id=c, gen_status="exploded")])
            self.status_of(c)
            self.status_of(c, tok="x.y.z")
        self.assertTrue(USED_TOKENS)
        self.assertTrue(secrets_of(self.stack))
        self.assert_log_clean()

    def test_no_sanitizer_report(self):
        """In a sanitizer build (.ci/run), the shared stack's workers, which served
        most of the suite, reported nothing."""
        log = self.stack.service_log()
        for mark in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            self.assertNotIn(mark, log)

    def test_service_log_is_written(self):
        # the suite provoked 500s (unknown generation_status), which must be logged
        self.assertNotEqual(self.stack.service_log().strip(), "")


if __name__ == "__main__":
    unittest.main()
