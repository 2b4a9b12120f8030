/* libevent 2.2's watch/ regression cases (test/regress_watch.c), written
 * for evbase's event2/watch.h, and the bad arguments libevent would crash
 * on.  Prints one "test watch::NAME ... ok|FAILED" line per case; exits 1
 * if any failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <event2/event.h>
#include <event2/watch.h>

static int failures;
#define CHECK(cond)                                                          \
	do {                                                                     \
		if (!(cond)) {                                                       \
			fprintf(stderr, "%s:%d: %s is false\n", __FILE__, __LINE__, #cond); \
			failures++;                                                      \
		}                                                                    \
	} while (0)

static int iteration;
static int prepare_1, prepare_2, check_1, check_2, timeouts;
static struct timeval start_time, end_time;
static int user_arg = 8675309;

static void
prepare_cb_1(struct evwatch *w, const struct evwatch_prepare_cb_info *info, void *arg)
{
	struct timeval timeout;
	CHECK(arg == &user_arg);
	++prepare_1;
	CHECK(prepare_1 > prepare_2 && prepare_1 > check_1 && prepare_1 > check_2);
	if (start_time.tv_sec == 0) {
		long msec;
		event_base_gettimeofday_cached(evwatch_base(w), &start_time);
		CHECK(evwatch_prepare_get_timeout(info, &timeout) == 1);
		msec = timeout.tv_sec * 1000 + timeout.tv_usec / 1000;
		CHECK(msec >= 995 && msec <= 1005);
	}
}

static void
prepare_cb_2(struct evwatch *w, const struct evwatch_prepare_cb_info *info, void *arg)
{
	(void)w; (void)info;
	CHECK(arg == &user_arg);
	++prepare_2;
	CHECK(iteration == 0);
	CHECK(prepare_2 > check_1 && prepare_2 > check_2);
}

static void
check_cb_1(struct evwatch *w, const struct evwatch_check_cb_info *info, void *arg)
{
	(void)info;
	CHECK(arg == &user_arg);
	++check_1;
	CHECK(check_1 > check_2);
	event_base_gettimeofday_cached(evwatch_base(w), &end_time);
}

static void
check_cb_2(struct evwatch *w, const struct evwatch_check_cb_info *info, void *arg)
{
	(void)w; (void)info;
	CHECK(arg == &user_arg);
	++check_2;
	CHECK(iteration == 0);
}

static void
timeout_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd; (void)events; (void)arg;
	++timeouts;
	/* at least one second between the first prepare and the last check;
	 * the wall clock's microseconds may trail the monotonic deadline by
	 * less than a millisecond */
	CHECK((end_time.tv_sec - start_time.tv_sec) * 1000000L + (end_time.tv_usec - start_time.tv_usec) >= 999000L);
}

/* watch/callback_ordering */
static void
callback_ordering(void)
{
	struct event_base *base = event_base_new();
	struct evwatch *p2, *c2;
	struct timeval second = { 1, 0 };

	CHECK(evwatch_prepare_new(base, prepare_cb_1, &user_arg) != NULL);
	CHECK(evwatch_check_new(base, check_cb_1, &user_arg) != NULL);
	p2 = evwatch_prepare_new(base, prepare_cb_2, &user_arg);
	c2 = evwatch_check_new(base, check_cb_2, &user_arg);
	CHECK(p2 && c2 && evwatch_base(p2) == base);

	CHECK(event_base_once(base, -1, EV_TIMEOUT, timeout_cb, NULL, &second) == 0);
	CHECK(event_base_dispatch(base) == 1);
	CHECK(timeouts == 1 && prepare_1 >= 1 && prepare_2 == prepare_1 && check_1 == prepare_1);

	iteration = 1;
	start_time.tv_sec = 0;
	evwatch_free(p2);
	evwatch_free(c2);
	CHECK(event_base_once(base, -1, EV_TIMEOUT, timeout_cb, NULL, &second) == 0);
	CHECK(event_base_dispatch(base) == 1);
	CHECK(timeouts == 2 && prepare_1 > prepare_2 && check_1 > check_2);
	/* the two watchers left are freed with the base (valgrind/ASan see it) */
	event_base_free(base);
}

static int prepare_3;
static void
prepare_cb_3(struct evwatch *w, const struct evwatch_prepare_cb_info *info, void *arg)
{
	struct timeval timeout = { 123, 456 };
	(void)w; (void)arg;
	++prepare_3;
	CHECK(evwatch_prepare_get_timeout(info, &timeout) == 0);
	CHECK(timeout.tv_sec == 123 && timeout.tv_usec == 456);
}

static void
read_cb(evutil_socket_t fd, short events, void *arg)
{
	char c;
	(void)events; (void)arg;
	CHECK(recv(fd, &c, 1, 0) == 1);
}

static void
send_once(struct evwatch *w, const struct evwatch_prepare_cb_info *info, void *arg)
{
	evutil_socket_t *pair = arg;
	(void)info;
	CHECK(send(pair[1], "x", 1, 0) == 1);
	evwatch_free(w); /* its own: it runs no more */
}

/* watch/timeout_unavailable: libevent's dispatches a base with no event
 * (it returns at once, the watcher never runs); here a read event that a
 * second watcher makes ready keeps the loop waiting with no timeout. */
static void
timeout_unavailable(void)
{
	struct event_base *base = event_base_new();
	evutil_socket_t pair[2];
	struct event *ev;

	CHECK(evwatch_prepare_new(base, prepare_cb_3, NULL) != NULL);
	CHECK(event_base_dispatch(base) == 1);
	CHECK(prepare_3 == 0);

	CHECK(evutil_socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
	ev = event_new(base, pair[0], EV_READ, read_cb, NULL);
	CHECK(event_add(ev, NULL) == 0);
	CHECK(evwatch_prepare_new(base, send_once, pair) != NULL);
	CHECK(event_base_dispatch(base) == 1);
	CHECK(prepare_3 == 1);
	event_free(ev);
	evutil_closesocket(pair[0]);
	evutil_closesocket(pair[1]);
	event_base_free(base);
}

static void *bad_malloc(size_t sz) { (void)sz; return NULL; }

/* watch/malloc_failure */
static void
malloc_failure(void)
{
	struct event_base *base = event_base_new();
	event_set_mem_functions(bad_malloc, realloc, free);
	CHECK(evwatch_prepare_new(base, prepare_cb_1, NULL) == NULL);
	CHECK(evwatch_check_new(base, check_cb_1, NULL) == NULL);
	event_set_mem_functions(malloc, realloc, free);
	event_base_free(base);
}

/* Where libevent dereferences NULL, evbase answers and warns. */
static void
bad_arguments(void)
{
	struct event_base *base = event_base_new();
	struct timeval tv = { 7, 8 };
	CHECK(evwatch_prepare_new(NULL, prepare_cb_1, NULL) == NULL);
	CHECK(evwatch_check_new(NULL, check_cb_1, NULL) == NULL);
	CHECK(evwatch_prepare_new(base, NULL, NULL) == NULL);
	CHECK(evwatch_check_new(base, NULL, NULL) == NULL);
	CHECK(evwatch_base(NULL) == NULL);
	evwatch_free(NULL);
	CHECK(evwatch_prepare_get_timeout(NULL, &tv) == 0);
	CHECK(tv.tv_sec == 7 && tv.tv_usec == 8);
	event_base_free(base);
}

static void quiet(int severity, const char *msg) { (void)severity; (void)msg; }

int
main(void)
{
	struct { const char *name; void (*run)(void); } cases[] = {
		{ "callback_ordering", callback_ordering },
		{ "timeout_unavailable", timeout_unavailable },
		{ "malloc_failure", malloc_failure },
		{ "bad_arguments", bad_arguments },
	};
	size_t i;
	int failed = 0;
	event_set_log_callback(quiet);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int before = failures;
		cases[i].run();
		printf("test watch::%s ... %s\n", cases[i].name, failures == before ? "ok" : "FAILED");
		failed += failures != before;
	}
	return failed != 0;
}
