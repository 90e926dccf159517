/* check_main.h - the shared main() of the unit suites: run, count, exit. */
#ifndef CHECK_MAIN_H
#define CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Each suite file defines this and adds its cases to tc. */
static void add_tests(TCase *tc);

int
main(void)
{
	Suite	*s = suite_create(SUITE_NAME);
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 failed;

	add_tests(tc);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
