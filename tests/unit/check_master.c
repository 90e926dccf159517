/* check_master.c - the master's transition for a reaped worker. */
#include "config.h"

#include <signal.h>
#include <sys/wait.h>

#include "master.h"

#define SUITE_NAME "master"
#include "check_main.h"

/* waitpid() statuses, built as the kernel reports them. */
#define EXITED(code)	W_EXITCODE(code, 0)
#define KILLED(sig)	W_EXITCODE(0, sig)

static const struct {
	struct worker_exit	 ex;	/* status, trial, current_trial,
					 * stopping, running */
	enum worker_end		 end;
} ends[] = {
	/* 0: a worker of the reload on trial dies in any way: abort it */
	{ { EXITED(WORKER_EX_NOTREADY), true, true, false, true },
	    WE_TRIAL_FAILED },
	{ { KILLED(SIGSEGV), true, true, false, true }, WE_TRIAL_FAILED },
	{ { EXITED(0), true, true, false, true }, WE_TRIAL_FAILED },
	/* 3: ... of a reload already decided (aborted, or superseded) */
	{ { EXITED(WORKER_EX_NOTREADY), true, false, false, true },
	    WE_IGNORE },
	{ { KILLED(SIGKILL), true, false, true, false }, WE_IGNORE },
	/* 5: exit 0 of its own while running: MAX_REQUESTS reached */
	{ { EXITED(0), false, false, false, true }, WE_RECYCLED },
	/* 6: exit 0 when told to stop (reload, SIGTERM) or while stopping */
	{ { EXITED(0), false, false, true, true }, WE_DONE },
	{ { EXITED(0), false, false, false, false }, WE_DONE },
	{ { EXITED(0), false, false, true, false }, WE_DONE },
	/* 9: cannot run at all: stop the master, running or not */
	{ { EXITED(WORKER_EX_CONFIG), false, false, false, true },
	    WE_CANNOT_RUN },
	{ { EXITED(WORKER_EX_CONFIG), false, false, true, false },
	    WE_CANNOT_RUN },
	/* 11: the master's own SIGKILL of a straggler told to stop */
	{ { KILLED(SIGKILL), false, false, true, false }, WE_IGNORE },
	{ { KILLED(SIGKILL), false, false, true, true }, WE_IGNORE },
	/* 13: killed otherwise: a crash while running, replaced and counted */
	{ { KILLED(SIGKILL), false, false, false, true }, WE_CRASHED },
	{ { KILLED(SIGSEGV), false, false, false, true }, WE_CRASHED },
	{ { KILLED(SIGTERM), false, false, true, true }, WE_CRASHED },
	{ { EXITED(1), false, false, false, true }, WE_CRASHED },
	{ { EXITED(WORKER_EX_NOTREADY), false, false, false, true },
	    WE_CRASHED },
	{ { EXITED(1), false, false, true, true }, WE_CRASHED },
	/* 19: ... and while stopping: logged, never counted or replaced */
	{ { KILLED(SIGSEGV), false, false, false, false }, WE_FAILED },
	{ { KILLED(SIGSEGV), false, false, true, false }, WE_FAILED },
	{ { EXITED(1), false, false, true, false }, WE_FAILED },
};

START_TEST(test_worker_end)
{
	ck_assert_int_eq(master_worker_end(&ends[_i].ex), ends[_i].end);
}
END_TEST

static void
add_tests(TCase *tc)
{
	tcase_add_loop_test(tc, test_worker_end, 0, N(ends));
}
