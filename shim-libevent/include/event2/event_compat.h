/* evbase: libevent 2.1.12's event core, rebuilt in Rust.
 * SPDX-License-Identifier: MIT OR Apache-2.0
 *
 * event2/event_compat.h -- the libevent 1.x interface, kept for old
 * programs.
 *
 * Before 2.0 there was one implicit "current" base, made by event_init()
 * and used by every call below that takes no base.  It is not safe with
 * more than one thread, and event_set() cannot say which base an event
 * belongs to.  New code uses event_base_new(), event_assign()/event_new()
 * and the event_base_* functions of <event2/event.h> instead.
 */
#ifndef EVENT2_EVENT_COMPAT_H_INCLUDED_
#define EVENT2_EVENT_COMPAT_H_INCLUDED_

#include <event2/visibility.h>

#ifdef __cplusplus
extern "C" {
#endif

#include <event2/event-config.h>
#ifdef EVENT__HAVE_SYS_TYPES_H
#include <sys/types.h>
#endif
#ifdef EVENT__HAVE_SYS_TIME_H
#include <sys/time.h>
#endif

/* integer types and evutil_socket_t */
#include <event2/util.h>

/* Makes a new base and makes it the current one; returns it. */
EVENT2_EXPORT_SYMBOL
struct event_base *event_init(void);

/* event_base_dispatch() on the current base. */
EVENT2_EXPORT_SYMBOL
int event_dispatch(void);

/* event_base_loop() on the current base. */
EVENT2_EXPORT_SYMBOL
int event_loop(int);

/* event_base_loopexit() on the current base. */
EVENT2_EXPORT_SYMBOL
int event_loopexit(const struct timeval *);

/* event_base_loopbreak() on the current base. */
EVENT2_EXPORT_SYMBOL
int event_loopbreak(void);

/* event_base_once() on the current base. */
EVENT2_EXPORT_SYMBOL
int event_once(evutil_socket_t , short,
    void (*)(evutil_socket_t, short, void *), void *, const struct timeval *);

/* event_base_get_method() of the current base. */
EVENT2_EXPORT_SYMBOL
const char *event_get_method(void);

/* event_base_priority_init() on the current base. */
EVENT2_EXPORT_SYMBOL
int	event_priority_init(int);

/* event_assign() onto the current base. */
EVENT2_EXPORT_SYMBOL
void event_set(struct event *, evutil_socket_t, short, void (*)(evutil_socket_t, short, void *), void *);

/* event_set() for timers and signals. */
#define evtimer_set(ev, cb, arg)	event_set((ev), -1, 0, (cb), (arg))
#define evsignal_set(ev, x, cb, arg)	\
	event_set((ev), (x), EV_SIGNAL|EV_PERSIST, (cb), (arg))

/* The 1.x names of the evtimer_* macros. */
#define timeout_add(ev, tv)		event_add((ev), (tv))
#define timeout_set(ev, cb, arg)	event_set((ev), -1, 0, (cb), (arg))
#define timeout_del(ev)			event_del(ev)
#define timeout_pending(ev, tv)		event_pending((ev), EV_TIMEOUT, (tv))
#define timeout_initialized(ev)		event_initialized(ev)

/* The 1.x names of the evsignal_* macros. */
#define signal_add(ev, tv)		event_add((ev), (tv))
#define signal_set(ev, x, cb, arg)				\
	event_set((ev), (x), EV_SIGNAL|EV_PERSIST, (cb), (arg))
#define signal_del(ev)			event_del(ev)
#define signal_pending(ev, tv)		event_pending((ev), EV_SIGNAL, (tv))
#define signal_initialized(ev)		event_initialized(ev)

/* 1.x accessors for an event's fd and signal number. */
#ifndef EVENT_FD
#define EVENT_FD(ev)		((int)event_get_fd(ev))
#define EVENT_SIGNAL(ev)	event_get_signal(ev)
#endif

#ifdef __cplusplus
}
#endif

#endif /* EVENT2_EVENT_COMPAT_H_INCLUDED_ */
