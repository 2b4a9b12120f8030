/* evbase: libevent 2.1.12's event core, rebuilt in Rust.
 * SPDX-License-Identifier: MIT OR Apache-2.0
 *
 * event2/event.h -- the event loop.
 *
 * A struct event_base is one loop: it waits on a back end (epoll, poll,
 * select...) and runs callbacks.  A struct event is one thing to wait for:
 * a file descriptor becoming readable or writable (EV_READ, EV_WRITE,
 * optionally edge-triggered with EV_ET or reporting hang-ups with
 * EV_CLOSED), a signal (EV_SIGNAL), a timeout, or nothing at all (a "user"
 * event that only runs when activated by hand).  An event is *initialized*
 * by event_assign()/event_new(), *pending* after event_add() until it
 * fires or is deleted, and *active* while its callback waits to run.  With
 * EV_PERSIST it stays pending after it runs.
 *
 * A struct event_config describes what the program wants of a new base:
 * methods to avoid, features required, flags.
 *
 * Return values follow libevent's: 0 for success and -1 for failure unless
 * a function says otherwise.  The semantics are libevent 2.1.12's; see
 * docs/libevent-core.md in the evbase sources.
 */
#ifndef EVENT2_EVENT_H_INCLUDED_
#define EVENT2_EVENT_H_INCLUDED_

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

#include <stdio.h>

/* integer types, evutil_socket_t and struct timeval helpers */
#include <event2/util.h>

/* The three opaque handles.  struct event's layout is public only through
 * <event2/event_struct.h>, for programs that embed one in their own
 * structures. */
struct event_base;
struct event;
struct event_config;

/* ------------------------------------------------------------------ */
/* Debugging                                                          */
/* ------------------------------------------------------------------ */

/* Turns on checks for misuse of events (adding one that was never
 * assigned, re-assigning a pending one...), at some cost in speed and
 * memory.  Must be called before any event or base exists. */
EVENT2_EXPORT_SYMBOL
void event_enable_debug_mode(void);

/* Forgets a never-to-be-used-again event in debug mode's records, for
 * events released without event_del()/event_free().  No effect otherwise. */
EVENT2_EXPORT_SYMBOL
void event_debug_unassign(struct event *);

/* ------------------------------------------------------------------ */
/* Bases                                                              */
/* ------------------------------------------------------------------ */

/* A base with the default configuration; NULL on failure. */
EVENT2_EXPORT_SYMBOL
struct event_base *event_base_new(void);

/* Makes a base usable again in the child after fork(): back ends whose
 * state does not survive fork are reopened and pending events re-added. */
EVENT2_EXPORT_SYMBOL
int event_reinit(struct event_base *base);

/* Runs the loop until no event is pending or it is told to stop: the same
 * as event_base_loop(base, 0). */
EVENT2_EXPORT_SYMBOL
int event_base_dispatch(struct event_base *);

/* The name of the back end the base uses ("epoll", "poll", ...). */
EVENT2_EXPORT_SYMBOL
const char *event_base_get_method(const struct event_base *);

/* The back ends this library knows, NULL-terminated, best first.  The
 * array is static; do not free it. */
EVENT2_EXPORT_SYMBOL
const char **event_get_supported_methods(void);

/* The base's monotonic time, uncached; 0 on success. */
EVENT2_EXPORT_SYMBOL
int event_gettime_monotonic(struct event_base *base, struct timeval *tp);

/* Kinds of event to count, for the two functions below; OR them. */
#define EVENT_BASE_COUNT_ACTIVE  1U  /* active, waiting to run */
#define EVENT_BASE_COUNT_VIRTUAL 2U  /* virtual (internal bookkeeping) */
#define EVENT_BASE_COUNT_ADDED   4U  /* pending */

/* How many events of the kinds in the mask the base holds now. */
EVENT2_EXPORT_SYMBOL
int event_base_get_num_events(struct event_base *, unsigned int);

/* The most it has held at once; the last argument, if non-zero, resets
 * that high-water mark to the present count. */
EVENT2_EXPORT_SYMBOL
int event_base_get_max_events(struct event_base *, unsigned int, int);

/* ------------------------------------------------------------------ */
/* Configurations                                                     */
/* ------------------------------------------------------------------ */

/* An empty configuration; NULL when out of memory. */
EVENT2_EXPORT_SYMBOL
struct event_config *event_config_new(void);

EVENT2_EXPORT_SYMBOL
void event_config_free(struct event_config *cfg);

/* Never choose the back end with this name. */
EVENT2_EXPORT_SYMBOL
int event_config_avoid_method(struct event_config *cfg, const char *method);

/* What a back end can do, for event_config_require_features() and
 * event_base_get_features(). */
enum event_method_feature {
	/* edge-triggered notification (EV_ET) */
	EV_FEATURE_ET = 0x01,
	/* adding, deleting and one ready event each cost O(1) */
	EV_FEATURE_O1 = 0x02,
	/* any kind of file descriptor, not only sockets */
	EV_FEATURE_FDS = 0x04,
	/* notices a peer closing without a read (EV_CLOSED) */
	EV_FEATURE_EARLY_CLOSE = 0x08
};

/* How a base behaves, for event_config_set_flag(). */
enum event_base_config_flag {
	/* no lock: the base is only ever touched from one thread */
	EVENT_BASE_FLAG_NOLOCK = 0x01,
	/* ignore the EVENT_* environment variables */
	EVENT_BASE_FLAG_IGNORE_ENV = 0x02,
	/* Windows: start IOCP at once */
	EVENT_BASE_FLAG_STARTUP_IOCP = 0x04,
	/* read the clock after every callback instead of once per turn */
	EVENT_BASE_FLAG_NO_CACHE_TIME = 0x08,
	/* epoll: batch interest changes and apply them just before waiting */
	EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST = 0x10,
	/* use the most precise (and perhaps slower) clock there is */
	EVENT_BASE_FLAG_PRECISE_TIMER = 0x20
};

/* The EV_FEATURE_* bits of the base's back end. */
EVENT2_EXPORT_SYMBOL
int event_base_get_features(const struct event_base *base);

/* Only choose a back end that has every EV_FEATURE_* bit in the mask
 * (replacing any earlier requirement). */
EVENT2_EXPORT_SYMBOL
int event_config_require_features(struct event_config *cfg, int feature);

/* Adds an EVENT_BASE_FLAG_* flag. */
EVENT2_EXPORT_SYMBOL
int event_config_set_flag(struct event_config *cfg, int flag);

/* A hint of how many CPUs the base may use (Windows IOCP only). */
EVENT2_EXPORT_SYMBOL
int event_config_set_num_cpus_hint(struct event_config *cfg, int cpus);

/* Between two checks for new events, run callbacks for at most
 * max_interval (NULL: no limit) and at most max_callbacks of them (-1: no
 * limit); the limits apply to priorities min_priority and above (numbers
 * at or beyond it), so urgent priorities are never held back. */
EVENT2_EXPORT_SYMBOL
int event_config_set_max_dispatch_interval(struct event_config *cfg,
    const struct timeval *max_interval, int max_callbacks,
    int min_priority);

/* A base built to the configuration; NULL when no back end satisfies it or
 * on failure. */
EVENT2_EXPORT_SYMBOL
struct event_base *event_base_new_with_config(const struct event_config *);

/* Frees a base, running pending finalizers first.  Events still assigned to
 * it are not freed; they must not be used with it again. */
EVENT2_EXPORT_SYMBOL
void event_base_free(struct event_base *);

/* Frees a base without running finalizers. */
EVENT2_EXPORT_SYMBOL
void event_base_free_nofinalize(struct event_base *);

/* ------------------------------------------------------------------ */
/* Logging and fatal errors                                           */
/* ------------------------------------------------------------------ */

/* Severities passed to an event_log_cb. */
#define EVENT_LOG_DEBUG 0
#define EVENT_LOG_MSG   1
#define EVENT_LOG_WARN  2
#define EVENT_LOG_ERR   3

/* Spellings from before 2.0.19; do not use in new code. */
#define _EVENT_LOG_DEBUG EVENT_LOG_DEBUG
#define _EVENT_LOG_MSG EVENT_LOG_MSG
#define _EVENT_LOG_WARN EVENT_LOG_WARN
#define _EVENT_LOG_ERR EVENT_LOG_ERR

/* Receives the library's log messages.  It must not call back into the
 * library. */
typedef void (*event_log_cb)(int severity, const char *msg);

/* Sends log messages to cb instead of stderr; NULL restores stderr. */
EVENT2_EXPORT_SYMBOL
void event_set_log_callback(event_log_cb cb);

/* Called on an unrecoverable internal error, instead of exit(1).  It should
 * not return; if it does, the library aborts. */
typedef void (*event_fatal_cb)(int err);

EVENT2_EXPORT_SYMBOL
void event_set_fatal_callback(event_fatal_cb cb);

/* Masks for event_enable_debug_logging(). */
#define EVENT_DBG_ALL 0xffffffffu
#define EVENT_DBG_NONE 0

/* Turns the library's debug-level log messages on (EVENT_DBG_ALL) or off
 * (EVENT_DBG_NONE). */
EVENT2_EXPORT_SYMBOL
void event_enable_debug_logging(ev_uint32_t which);

/* ------------------------------------------------------------------ */
/* Running the loop                                                   */
/* ------------------------------------------------------------------ */

/* Moves a non-pending event to another base. */
EVENT2_EXPORT_SYMBOL
int event_base_set(struct event_base *, struct event *);

/* Flags for event_base_loop(). */
/* wait for events, run the active ones, then return */
#define EVLOOP_ONCE	0x01
/* do not wait: run what is ready now, then return */
#define EVLOOP_NONBLOCK	0x02
/* keep running even when no event is pending */
#define EVLOOP_NO_EXIT_ON_EMPTY 0x04

/* Runs the loop: 0 when it stopped as asked (or after ONCE/NONBLOCK), 1
 * when it stopped because no event was pending, -1 on error. */
EVENT2_EXPORT_SYMBOL
int event_base_loop(struct event_base *, int);

/* Stops the loop after the given time (NULL: after the callbacks now
 * active have run). */
EVENT2_EXPORT_SYMBOL
int event_base_loopexit(struct event_base *, const struct timeval *);

/* Stops the loop as soon as the running callback returns. */
EVENT2_EXPORT_SYMBOL
int event_base_loopbreak(struct event_base *);

/* Ends this turn of the loop after the running callback and starts the
 * next one, checking for new events. */
EVENT2_EXPORT_SYMBOL
int event_base_loopcontinue(struct event_base *);

/* Non-zero when the last loop ended through event_base_loopexit(); reset
 * when a loop starts. */
EVENT2_EXPORT_SYMBOL
int event_base_got_exit(struct event_base *);

/* Non-zero when the last loop ended through event_base_loopbreak(); reset
 * when a loop starts. */
EVENT2_EXPORT_SYMBOL
int event_base_got_break(struct event_base *);

/* ------------------------------------------------------------------ */
/* Events                                                             */
/* ------------------------------------------------------------------ */

/* What an event waits for, and what happened, as passed to its callback. */
/* the timeout expired */
#define EV_TIMEOUT	0x01
/* the fd is readable */
#define EV_READ		0x02
/* the fd is writable */
#define EV_WRITE	0x04
/* the signal number in the fd slot was delivered */
#define EV_SIGNAL	0x08
/* stay pending after the callback runs */
#define EV_PERSIST	0x10
/* edge-triggered, where the back end supports it */
#define EV_ET		0x20
/* event_del() need not wait for a running callback in another thread;
 * finalize with event_finalize() instead */
#define EV_FINALIZE     0x40
/* the peer closed the connection */
#define EV_CLOSED	0x80

/* Timers: events with no fd and no signal. */
#define evtimer_assign(ev, b, cb, arg) \
	event_assign((ev), (b), -1, 0, (cb), (arg))
#define evtimer_new(b, cb, arg)		event_new((b), -1, 0, (cb), (arg))
#define evtimer_add(ev, tv)		event_add((ev), (tv))
#define evtimer_del(ev)			event_del(ev)
#define evtimer_pending(ev, tv)		event_pending((ev), EV_TIMEOUT, (tv))
#define evtimer_initialized(ev)		event_initialized(ev)

/* Signal events: persistent by default. */
#define evsignal_add(ev, tv)		event_add((ev), (tv))
#define evsignal_assign(ev, b, x, cb, arg)			\
	event_assign((ev), (b), (x), EV_SIGNAL|EV_PERSIST, cb, (arg))
#define evsignal_new(b, x, cb, arg)				\
	event_new((b), (x), EV_SIGNAL|EV_PERSIST, (cb), (arg))
#define evsignal_del(ev)		event_del(ev)
#define evsignal_pending(ev, tv)	event_pending((ev), EV_SIGNAL, (tv))
#define evsignal_initialized(ev)	event_initialized(ev)

/* User events: never fire by themselves, only through evuser_trigger(). */
#define evuser_new(b, cb, arg)		event_new((b), -1, 0, (cb), (arg))
#define evuser_del(ev)			event_del(ev)
#define evuser_pending(ev, tv)		event_pending((ev), 0, (tv))
#define evuser_initialized(ev)		event_initialized(ev)
#define evuser_trigger(ev)		event_active((ev), 0, 0)

/* An event's callback: the fd (or signal number), the EV_* bits that made
 * it run, and the argument given when the event was assigned. */
typedef void (*event_callback_fn)(evutil_socket_t, short, void *);

/* A placeholder argument: passed to event_new()/event_assign() as the
 * callback argument, it makes the callback receive the event itself. */
EVENT2_EXPORT_SYMBOL
void *event_self_cbarg(void);

/* Allocates and assigns an event; NULL on failure.  fd is -1 for a timer or
 * user event, the signal number for EV_SIGNAL. */
EVENT2_EXPORT_SYMBOL
struct event *event_new(struct event_base *, evutil_socket_t, short, event_callback_fn, void *);

/* Prepares caller-owned storage as an event (see event_new()).  The event
 * must not be pending. */
EVENT2_EXPORT_SYMBOL
int event_assign(struct event *, struct event_base *, evutil_socket_t, short, event_callback_fn, void *);

/* Deletes and frees an event from event_new(). */
EVENT2_EXPORT_SYMBOL
void event_free(struct event *);

/* Runs once the library is certain it will never again run the event's
 * callback, from the loop's thread. */
typedef void (*event_finalize_callback_fn)(struct event *, void *);

/* Deletes an EV_FINALIZE event without waiting for its callback, then
 * runs cb from the loop.  The first argument is reserved; pass 0. */
EVENT2_EXPORT_SYMBOL
int event_finalize(unsigned, struct event *, event_finalize_callback_fn);

/* Like event_finalize(), then frees the event. */
EVENT2_EXPORT_SYMBOL
int event_free_finalize(unsigned, struct event *, event_finalize_callback_fn);

/* Runs cb once, when fd is ready or the timeout passes, without the caller
 * keeping an event.  EV_SIGNAL and EV_PERSIST are refused. */
EVENT2_EXPORT_SYMBOL
int event_base_once(struct event_base *, evutil_socket_t, short, event_callback_fn, void *, const struct timeval *);

/* Makes the event pending, with a timeout relative to now (NULL: none).
 * Adding a pending event again replaces its timeout. */
EVENT2_EXPORT_SYMBOL
int event_add(struct event *ev, const struct timeval *timeout);

/* Drops the timeout of a pending event, leaving its fd or signal pending. */
EVENT2_EXPORT_SYMBOL
int event_remove_timer(struct event *ev);

/* Makes the event neither pending nor active.  From another thread, waits
 * for a running callback unless the event is EV_FINALIZE. */
EVENT2_EXPORT_SYMBOL
int event_del(struct event *);

/* event_del() that never waits for a running callback. */
EVENT2_EXPORT_SYMBOL
int event_del_noblock(struct event *ev);

/* event_del() that always waits for a running callback. */
EVENT2_EXPORT_SYMBOL
int event_del_block(struct event *ev);

/* Makes the event active with the given EV_* bits, pending or not.  The
 * last argument is obsolete. */
EVENT2_EXPORT_SYMBOL
void event_active(struct event *ev, int res, short ncalls);

/* Which of the asked EV_* bits the event is pending or active for; with
 * EV_TIMEOUT asked and tv non-NULL, also its expiry (wall-clock). */
EVENT2_EXPORT_SYMBOL
int event_pending(const struct event *ev, short events, struct timeval *tv);

/* The event whose callback the base is running now, or NULL (also NULL
 * when asked from another thread). */
EVENT2_EXPORT_SYMBOL
struct event *event_base_get_running_event(struct event_base *base);

/* Non-zero once the storage has been assigned as an event.  Storage that
 * was never assigned must be zeroed for this to mean anything. */
EVENT2_EXPORT_SYMBOL
int event_initialized(const struct event *ev);

/* The signal number of a signal event. */
#define event_get_signal(ev) ((int)event_get_fd(ev))

/* The arguments an event was assigned with, one at a time... */
EVENT2_EXPORT_SYMBOL
evutil_socket_t event_get_fd(const struct event *ev);

EVENT2_EXPORT_SYMBOL
struct event_base *event_get_base(const struct event *ev);

EVENT2_EXPORT_SYMBOL
short event_get_events(const struct event *ev);

EVENT2_EXPORT_SYMBOL
event_callback_fn event_get_callback(const struct event *ev);

EVENT2_EXPORT_SYMBOL
void *event_get_callback_arg(const struct event *ev);

EVENT2_EXPORT_SYMBOL
int event_get_priority(const struct event *ev);

/* ...or all at once; any out-pointer may be NULL. */
EVENT2_EXPORT_SYMBOL
void event_get_assignment(const struct event *event,
    struct event_base **base_out, evutil_socket_t *fd_out, short *events_out,
    event_callback_fn *callback_out, void **arg_out);

/* sizeof(struct event) in the library, never more than in this header. */
EVENT2_EXPORT_SYMBOL
size_t event_get_struct_event_size(void);

/* ------------------------------------------------------------------ */
/* Versions                                                           */
/* ------------------------------------------------------------------ */

/* The library's version, as text ("2.1.12-stable") and as a number
 * (0x02010c00: major, minor and patch in the top three bytes). */
EVENT2_EXPORT_SYMBOL
const char *event_get_version(void);

EVENT2_EXPORT_SYMBOL
ev_uint32_t event_get_version_number(void);

/* The version of these headers, to compare with the library's. */
#define LIBEVENT_VERSION EVENT__VERSION
#define LIBEVENT_VERSION_NUMBER EVENT__NUMERIC_VERSION

/* ------------------------------------------------------------------ */
/* Priorities                                                         */
/* ------------------------------------------------------------------ */

/* The most priorities a base can have. */
#define EVENT_MAX_PRIORITIES 256

/* Gives the base n priorities, 0 (most urgent) to n-1.  Only while no
 * event is active.  A new event gets priority n/2. */
EVENT2_EXPORT_SYMBOL
int	event_base_priority_init(struct event_base *, int);

/* How many priorities the base has. */
EVENT2_EXPORT_SYMBOL
int	event_base_get_npriorities(struct event_base *eb);

/* Sets an event's priority; not while it is active. */
EVENT2_EXPORT_SYMBOL
int	event_priority_set(struct event *, int);

/* ------------------------------------------------------------------ */
/* Common timeouts                                                    */
/* ------------------------------------------------------------------ */

/* A timeval that stands for `duration' in this base's event_add(), where
 * every event added with it is kept in one queue instead of the heap:
 * cheap when many events share the same timeout.  NULL on failure. */
EVENT2_EXPORT_SYMBOL
const struct timeval *event_base_init_common_timeout(struct event_base *base,
    const struct timeval *duration);

/* ------------------------------------------------------------------ */
/* Memory                                                             */
/* ------------------------------------------------------------------ */

#if !defined(EVENT__DISABLE_MM_REPLACEMENT)
/* Replaces the library's malloc, realloc and free.  Call it before anything
 * else, once; memory from one set must not go back to another. */
EVENT2_EXPORT_SYMBOL
void event_set_mem_functions(
	void *(*malloc_fn)(size_t sz),
	void *(*realloc_fn)(void *ptr, size_t sz),
	void (*free_fn)(void *ptr));
/* Tells a program that the function above exists. */
#define EVENT_SET_MEM_FUNCTIONS_IMPLEMENTED
#endif

/* ------------------------------------------------------------------ */
/* Inspection                                                         */
/* ------------------------------------------------------------------ */

/* Writes a human-readable list of the base's events to the stream. */
EVENT2_EXPORT_SYMBOL
void event_base_dump_events(struct event_base *, FILE *);

/* Activates every event on fd with the given EV_* bits, as if the back end
 * had reported them. */
EVENT2_EXPORT_SYMBOL
void event_base_active_by_fd(struct event_base *base, evutil_socket_t fd, short events);

/* Activates every event waiting for the signal, as if it had arrived. */
EVENT2_EXPORT_SYMBOL
void event_base_active_by_signal(struct event_base *base, int sig);

/* Called for each event by event_base_foreach_event(); a non-zero return
 * stops the walk and becomes its result.  It must not add, delete or
 * activate events. */
typedef int (*event_base_foreach_event_cb)(const struct event_base *, const struct event *, void *);

/* Calls fn for every pending or active event of the base, under its
 * lock. */
EVENT2_EXPORT_SYMBOL
int event_base_foreach_event(struct event_base *base, event_base_foreach_event_cb fn, void *arg);

/* ------------------------------------------------------------------ */
/* Time                                                               */
/* ------------------------------------------------------------------ */

/* The time the loop cached when it last woke (wall-clock), or the current
 * time when nothing is cached.  Cheaper than gettimeofday() in a
 * callback. */
EVENT2_EXPORT_SYMBOL
int event_base_gettimeofday_cached(struct event_base *base,
    struct timeval *tv);

/* Refreshes the base's cached time now. */
EVENT2_EXPORT_SYMBOL
int event_base_update_cache_time(struct event_base *base);

/* ------------------------------------------------------------------ */
/* Shutdown                                                           */
/* ------------------------------------------------------------------ */

/* Frees the library's global state.  Bases, events and configurations must
 * all be freed first, and the library must not be used afterwards. */
EVENT2_EXPORT_SYMBOL
void libevent_global_shutdown(void);

#ifdef __cplusplus
}
#endif

#endif /* EVENT2_EVENT_H_INCLUDED_ */
