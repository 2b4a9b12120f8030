/* evbase header check: a small libevent 1.x-style program that includes
 * nothing of libevent but <event.h> and uses the event core through it:
 * the implicit base, events embedded in the program's own storage, timers,
 * signals, a socket pair, the timeval macros and the 2.x calls that
 * <event.h> also brings in.  tests/headers.rs compiles it, with warnings as
 * errors, against evbase's headers and against libevent's.
 */
#include <event.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

struct conn {
	struct event read_ev;	/* embedded: needs the full struct event */
	struct event timer;
	int reads;
};

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	char buf[64];
	(void)what;
	if (recv(fd, buf, sizeof(buf), 0) > 0)
		c->reads++;
	else
		event_del(&c->read_ev);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	(void)fd;
	if (what & EV_TIMEOUT)
		event_loopexit(NULL);
	(void)c;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	printf("signal %d (%d)\n", (int)sig, EVENT_SIGNAL((struct event *)arg));
}

static void log_to_stdout(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_WARN)
		printf("[%d] %s\n", severity, msg);
}

int main(void)
{
	struct conn c;
	struct event sig;
	struct timeval tv = { 0, 1000 }, later, now;
	evutil_socket_t pair[2];
	struct event_base *base;
	ev_uint32_t version;

	memset(&c, 0, sizeof(c));
	event_set_log_callback(log_to_stdout);
	base = event_init();
	if (!base)
		return 1;

	if (evutil_socketpair(AF_UNIX, SOCK_STREAM, 0, pair) < 0) {
		printf("socketpair: %s\n",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return 1;
	}
	evutil_make_socket_nonblocking(pair[0]);
	evutil_make_socket_closeonexec(pair[0]);

	event_set(&c.read_ev, pair[0], EV_READ | EV_PERSIST, on_read, &c);
	event_add(&c.read_ev, NULL);
	evtimer_set(&c.timer, on_timer, &c);
	evtimer_add(&c.timer, &tv);
	signal_set(&sig, SIGUSR1, on_signal, &sig);
	signal_add(&sig, NULL);
	event_priority_set(&c.timer, 0);

	if (send(pair[1], "x", 1, 0) != 1)
		return 1;

	evutil_gettimeofday(&now, NULL);
	evutil_timeradd(&now, &tv, &later);
	if (!evutil_timercmp(&later, &now, >) || !evutil_timerisset(&later))
		return 1;
	evutil_timerclear(&later);

	event_dispatch();

	printf("%s %s via %s, reads %d, pending %d, struct event %zu <= %zu\n",
	    LIBEVENT_VERSION, event_get_version(), event_get_method(), c.reads,
	    event_pending(&c.read_ev, EV_READ, NULL),
	    event_get_struct_event_size(), sizeof(struct event));
	version = event_get_version_number();
	if (version >> 16 != LIBEVENT_VERSION_NUMBER >> 16)
		return 1;

	signal_del(&sig);
	event_del(&c.read_ev);
	evutil_closesocket(pair[0]);
	EVUTIL_CLOSESOCKET(pair[1]);
	event_base_free(base);
	return 0;
}
