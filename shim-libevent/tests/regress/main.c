/* evbase: libevent 2.1.12's event core, rebuilt in Rust.
 * SPDX-License-Identifier: MIT OR Apache-2.0
 *
 * The regression driver's own main: libevent 2.1.12's regression cases
 * for the event core (the groups main/, signal/, et/, finalize/ and
 * thread/ from regress.c, regress_et.c, regress_finalize.c and
 * regress_thread.c, compiled unchanged) run by tinytest on evbase's
 * library.
 *
 * libevent's regress_main.c cannot be used as it is: it lists every group
 * of libevent's suite (buffers, bufferevents, HTTP, DNS, RPC...), which
 * evbase does not provide.  This file defines what the four case files
 * expect from it -- the fixtures basic_setup and legacy_setup, the globals
 * of regress.h, the group table -- with the same behaviour, and the skip
 * list: the cases that cannot run on any library but libevent's own,
 * each with its reason.
 *
 * Built with -DREGRESS_NO_SKIPS (tests/regress.sh does so when it builds
 * the driver against Debian's libevent to check the driver itself), the
 * skip list is ignored and every case runs.
 */
#include "evconfig-private.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "event2/event-config.h"
#include "event2/event.h"
#include "event2/event_compat.h"
#include "event2/thread.h"
#include "event2/util.h"

#include "util-internal.h"

#include "regress.h"
#include "regress_thread.h"
#include "tinytest.h"
#include "tinytest_macros.h"

/* libevent's internal consistency check (event-internal.h declares it). */
void event_base_assert_ok_(struct event_base *base);

/* ------------------------------------------------------------------ */
/* The skip list.
 *
 * A case is listed here only when it cannot pass on any library but
 * libevent's own, because it reads libevent's private structures or
 * calls libevent's private machinery directly, or when it depends on a
 * libevent defect that evbase fixes on purpose -- then the reason names
 * the defect and the evbase test that shows the better behaviour.
 */
struct regress_skip {
	const char *name;
	const char *reason;
};

static const struct regress_skip skip_list[] = {
	{ "signal/signal_pipeloss",
	  "reads base->sig.ev_signal_pair[0], the fd of libevent's private "
	  "signal socketpair, out of struct event_base" },
	{ "thread/forking",
	  "adds an event on base->th_notify_fd[0], libevent's private "
	  "notification fd, read out of struct event_base" },
	{ "finalize/cb_invoked",
	  "drives libevent's internal deferred callbacks "
	  "(event_deferred_cb_init_, event_callback_activate_, "
	  "event_callback_finalize_) on a bare struct event_callback" },
	{ "thread/deferred_cb_skew",
	  "drives libevent's internal deferred callbacks "
	  "(event_deferred_cb_init_, event_deferred_cb_schedule_); off by "
	  "default in libevent's own suite as well" },
	{ "signal/signal_switchbase",
	  "libevent defect: a signal reaches only the base that last added "
	  "it or ran its loop (evsig_base), so the case expects base1 to miss "
	  "the first SIGUSR1; evbase delivers a signal to every base that "
	  "watches it (tests/tests/posix_signals.rs: signal_switchbase)" },
	{ NULL, NULL }
};

/* Left out of the io_uring run only (EVENT_IO_URING set): libevent has no
 * io_uring, and these two cases name the methods they know. */
static const struct regress_skip io_uring_skip_list[] = {
	{ "et/et",
	  "names the edge-triggered methods (epoll, kqueue) and expects level "
	  "triggering from any other; io_uring reports edges (the conformance "
	  "suite's et case runs on it: tests/tests/posix_io_uring.rs)" },
	{ "main/base_environ",
	  "expects IGNORE_ENV to keep the method the environment chose, which "
	  "holds for EVENT_NO*; io_uring is chosen by EVENT_IO_URING itself, so "
	  "IGNORE_ENV gives epoll (tests/tests/posix_fork.rs: environment)" },
	{ NULL, NULL }
};

/* ------------------------------------------------------------------ */
/* The globals regress.h declares and regress_main.c would define. */

struct evutil_weakrand_state test_weakrand_state;
int in_legacy_test_wrapper = 0;
int libevent_tests_running_in_debug_mode = 0;

long
timeval_msec_diff(const struct timeval *start, const struct timeval *end)
{
	long sec = (long)(end->tv_sec - start->tv_sec);
	long usec = (long)(end->tv_usec - start->tv_usec);
	/* Rounded to the nearest millisecond, half up. */
	return sec * 1000 + (usec + 500) / 1000;
}

pid_t
regress_fork(void)
{
	return fork();
}

int
regress_make_tmpfile(const void *data, size_t datalen, char **filename_out)
{
	char name[] = "/tmp/evbase-regress.XXXXXX";
	int fd;

	*filename_out = NULL;
	umask(0077);
	fd = mkstemp(name);
	if (fd < 0)
		return -1;
	/* Unlinked at once: the fd is all the caller needs. */
	unlink(name);
	if (write(fd, data, datalen) != (ssize_t)datalen) {
		close(fd);
		return -1;
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* Only macOS moves the case's threads to a real-time class. */
void
thread_setup(THREAD_T thread)
{
	(void)thread;
}

/* ------------------------------------------------------------------ */
/* The fixtures. */

static void
discard_log(int severity, const char *msg)
{
	(void)severity;
	(void)msg;
}

void *
basic_test_setup(const struct testcase_t *testcase)
{
	unsigned long flags = testcase->flags;
	evutil_socket_t fds[2] = { -1, -1 };
	struct event_base *base = NULL;
	struct basic_test_data *data;

	/* IOCP is Windows-only; DNS is not part of the event core. */
	if (flags & (TT_ENABLE_IOCP_FLAG | TT_NEED_DNS))
		return (void *)TT_SKIP;

	if ((flags & TT_ENABLE_DEBUG_MODE) &&
	    !libevent_tests_running_in_debug_mode) {
		event_enable_debug_mode();
		libevent_tests_running_in_debug_mode = 1;
	}

	if (flags & TT_NEED_THREADS) {
		/* Locking is process-wide: only a forked case may turn it on. */
		if (!(flags & TT_FORK))
			return NULL;
		if (evthread_use_pthreads() != 0)
			exit(1);
	}

	if (flags & TT_NEED_SOCKETPAIR) {
		if (evutil_socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == -1) {
			fprintf(stderr, "%s: socketpair failed\n", __func__);
			exit(1);
		}
		if (evutil_make_socket_nonblocking(fds[0]) == -1 ||
		    evutil_make_socket_nonblocking(fds[1]) == -1) {
			fprintf(stderr, "%s: O_NONBLOCK failed\n", __func__);
			exit(1);
		}
	}

	if (flags & TT_NEED_BASE) {
		/* Legacy cases find their base in the global current base. */
		base = (flags & TT_LEGACY) ? event_init() : event_base_new();
		if (base == NULL)
			exit(1);
	}

	if (flags & TT_NO_LOGS)
		event_set_log_callback(discard_log);

	data = calloc(1, sizeof(*data));
	if (data == NULL)
		exit(1);
	data->base = base;
	data->pair[0] = fds[0];
	data->pair[1] = fds[1];
	data->setup_data = testcase->setup_data;
	return data;
}

int
basic_test_cleanup(const struct testcase_t *testcase, void *ptr)
{
	struct basic_test_data *data = ptr;
	unsigned long flags = testcase->flags;

	if (flags & TT_NO_LOGS)
		event_set_log_callback(NULL);

	if (flags & TT_NEED_SOCKETPAIR) {
		if (data->pair[0] != -1)
			evutil_closesocket(data->pair[0]);
		if (data->pair[1] != -1)
			evutil_closesocket(data->pair[1]);
	}

	if ((flags & TT_NEED_BASE) && data->base != NULL) {
		/* Whatever the case did, the base must still be sound. */
		event_base_assert_ok_(data->base);
		event_base_free(data->base);
	}

	if (flags & TT_FORK)
		libevent_global_shutdown();

	free(data);
	return 1;
}

const struct testcase_setup_t basic_setup = {
	basic_test_setup, basic_test_cleanup
};

/* A legacy case is a void (*)(void) that finds its base and socket pair
 * in globals of regress.c and reports through test_ok. */
static void *
legacy_test_setup(const struct testcase_t *testcase)
{
	struct basic_test_data *data = basic_test_setup(testcase);

	if (data == NULL || data == (void *)TT_SKIP)
		return data;
	global_base = data->base;
	pair[0] = data->pair[0];
	pair[1] = data->pair[1];
	data->legacy_test_fn = (void (*)(void))testcase->setup_data;
	return data;
}

void
run_legacy_test_fn(void *ptr)
{
	struct basic_test_data *data = ptr;

	test_ok = 0;
	called = 0;
	in_legacy_test_wrapper = 1;
	data->legacy_test_fn();
	in_legacy_test_wrapper = 0;
	if (!test_ok)
		tt_abort_msg("Legacy unit test failed");
end:
	test_ok = 0;
}

static int
legacy_test_cleanup(const struct testcase_t *testcase, void *ptr)
{
	int r = basic_test_cleanup(testcase, ptr);

	pair[0] = -1;
	pair[1] = -1;
	global_base = NULL;
	return r;
}

const struct testcase_setup_t legacy_setup = {
	legacy_test_setup, legacy_test_cleanup
};

/* ------------------------------------------------------------------ */
/* The groups: the event core's, in libevent's order. */

static struct testgroup_t groups[] = {
	{ "main/", main_testcases },
	{ "et/", edgetriggered_testcases },
	{ "finalize/", finalize_testcases },
	{ "signal/", signal_testcases },
	{ "thread/", thread_testcases },
	END_OF_GROUPS
};

static const char *all_cases[] = { "+..", NULL };
static const char *fine_timing_cases[] = { "+thread/deferred_cb_skew", NULL };
static struct testlist_alias_t aliases[] = {
	{ "all", all_cases },
	{ "fine_timing", fine_timing_cases },
	END_OF_ALIASES
};

#ifndef REGRESS_NO_SKIPS
static void
skip_each(const struct regress_skip *list)
{
	const struct regress_skip *s;

	for (s = list; s->name != NULL; ++s) {
		if (tinytest_skip(groups, s->name) != 1) {
			fprintf(stderr, "skip list names no single case: %s\n",
			    s->name);
			exit(1);
		}
	}
}
#endif

static void
apply_skip_list(void)
{
#ifndef REGRESS_NO_SKIPS
	skip_each(skip_list);
	if (getenv("EVENT_IO_URING") != NULL)
		skip_each(io_uring_skip_list);
#endif
}

int
main(int argc, const char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--list-skips")) {
		const struct regress_skip *s;
		for (s = skip_list; s->name != NULL; ++s)
			printf("%s: %s\n", s->name, s->reason);
		for (s = io_uring_skip_list; s->name != NULL; ++s)
			printf("%s (io_uring only): %s\n", s->name, s->reason);
		return 0;
	}

	/* A case that writes to a closed socket must see EPIPE, not die. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		return 1;

	if (getenv("EVENT_NO_DEBUG_LOCKS") == NULL)
		evthread_enable_lock_debugging();

	if (getenv("EVENT_DEBUG_MODE") != NULL) {
		event_enable_debug_mode();
		libevent_tests_running_in_debug_mode = 1;
	}
	if (getenv("EVENT_DEBUG_LOGGING_ALL") != NULL)
		event_enable_debug_logging(EVENT_DBG_ALL);

	if (getenv("EVENT_NO_FILE_BUFFERING") != NULL) {
		setbuf(stdout, NULL);
		setbuf(stderr, NULL);
	}

	tinytest_set_aliases(aliases);
	evutil_weakrand_seed_(&test_weakrand_state, 0);
	apply_skip_list();

	if (tinytest_main(argc, argv, groups))
		return 1;

	libevent_global_shutdown();
	return 0;
}
