/* evbase: libevent's event core, rebuilt in Rust.
 * SPDX-License-Identifier: MIT OR Apache-2.0
 *
 * event2/watch.h -- prepare and check watchers (added in libevent 2.2).
 *
 * A prepare watcher's callback runs each time the loop is about to wait
 * for events; a check watcher's runs each time it has woken up, before the
 * callback of any event of that iteration.  They let a program drive
 * another library's loop from this one, measure the time spent waiting, or
 * batch work before the loop sleeps.  Watchers of one kind run in the
 * order they were made.  A prepare callback may ask for the wait the loop
 * is about to make.
 *
 * evbase's rules where libevent leaves them open: a watcher made from a
 * watcher callback first runs on the next pass, one freed there runs no
 * more; what a prepare callback changes (an event made active, a nearer
 * timer, event_base_loopbreak) is honoured before the loop waits.
 * Watchers are made and freed on the thread that runs the base's loop, or
 * while no loop runs.
 */
#ifndef EVENT2_WATCH_H_INCLUDED_
#define EVENT2_WATCH_H_INCLUDED_

#include <event2/visibility.h>

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;
struct timeval;
/* A watcher: made by evwatch_prepare_new or evwatch_check_new. */
struct evwatch;
/* What a prepare callback is told (read it with evwatch_prepare_get_timeout). */
struct evwatch_prepare_cb_info;
/* What a check callback is told: nothing yet. */
struct evwatch_check_cb_info;

/* A prepare callback: the watcher, what the loop tells it, and the
 * argument given to evwatch_prepare_new. */
typedef void (*evwatch_prepare_cb)(struct evwatch *, const struct evwatch_prepare_cb_info *, void *);

/* A check callback: the watcher, what the loop tells it, and the argument
 * given to evwatch_check_new. */
typedef void (*evwatch_check_cb)(struct evwatch *, const struct evwatch_check_cb_info *, void *);

/* Makes a watcher whose callback runs before each wait of base's loop,
 * after those made before it.  NULL if memory runs out (or for a NULL
 * base or callback). */
EVENT2_EXPORT_SYMBOL
struct evwatch *evwatch_prepare_new(struct event_base *base, evwatch_prepare_cb callback, void *arg);

/* Makes a watcher whose callback runs after each wait of base's loop,
 * before any event callback, after those made before it.  NULL if memory
 * runs out (or for a NULL base or callback). */
EVENT2_EXPORT_SYMBOL
struct evwatch *evwatch_check_new(struct event_base *base, evwatch_check_cb callback, void *arg);

/* The base a watcher belongs to. */
EVENT2_EXPORT_SYMBOL
struct event_base *evwatch_base(struct evwatch *watcher);

/* Stops a watcher and frees it, from its own callback too.  The watchers
 * a program does not free are freed by event_base_free; after that,
 * evwatch_free on them is an error. */
EVENT2_EXPORT_SYMBOL
void evwatch_free(struct evwatch *watcher);

/* Writes to *timeout how long the loop is about to wait and returns 1, or
 * returns 0 and writes nothing when it will wait with no timeout (no timer
 * pending).  The wait is zero when events are already active and under
 * EVLOOP_NONBLOCK.  Comparing it with the time until the check callbacks
 * run tells how long the loop really waited. */
EVENT2_EXPORT_SYMBOL
int evwatch_prepare_get_timeout(const struct evwatch_prepare_cb_info *info, struct timeval *timeout);

#ifdef __cplusplus
}
#endif

#endif /* EVENT2_WATCH_H_INCLUDED_ */
