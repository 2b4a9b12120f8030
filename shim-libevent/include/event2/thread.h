/* evbase: libevent 2.1.12's event core, rebuilt in Rust.
 * SPDX-License-Identifier: MIT OR Apache-2.0
 *
 * event2/thread.h -- making bases safe to use from several threads.
 *
 * The library takes no locks until a program tells it how.  The usual way
 * is one call, evthread_use_pthreads() (or evthread_use_windows_threads()),
 * before the first base is made.  A program with its own thread library can
 * instead hand over lock, condition and thread-id callbacks below.  After
 * that, any thread may add, delete or activate events on a base, or stop
 * its loop, and the loop wakes up to notice.
 */
#ifndef EVENT2_THREAD_H_INCLUDED_
#define EVENT2_THREAD_H_INCLUDED_

#include <event2/visibility.h>

#ifdef __cplusplus
extern "C" {
#endif

#include <event2/event-config.h>

/* Modes passed to a lock callback; OR them. */
/* a read-write lock taken for writing */
#define EVTHREAD_WRITE	0x04
/* a read-write lock taken for reading */
#define EVTHREAD_READ	0x08
/* do not block: fail if the lock is held */
#define EVTHREAD_TRY    0x10

#if !defined(EVENT__DISABLE_THREAD_SUPPORT)

/* The version of struct evthread_lock_callbacks this header describes. */
#define EVTHREAD_LOCK_API_VERSION 1

/* Kinds of lock, for alloc and supported_locktypes; 0 is a plain mutex. */
/* may be taken again by the thread that holds it */
#define EVTHREAD_LOCKTYPE_RECURSIVE 1
/* readers share it, a writer holds it alone */
#define EVTHREAD_LOCKTYPE_READWRITE 2

/* A program's own locks: alloc makes one of a locktype (NULL on failure),
 * free releases it, lock and unlock take a mode (EVTHREAD_*) and return 0
 * on success. */
struct evthread_lock_callbacks {
	/* EVTHREAD_LOCK_API_VERSION */
	int lock_api_version;
	/* the EVTHREAD_LOCKTYPE_* kinds alloc can make, ORed */
	unsigned supported_locktypes;
	void *(*alloc)(unsigned locktype);
	void (*free)(void *lock, unsigned locktype);
	int (*lock)(unsigned mode, void *lock);
	int (*unlock)(unsigned mode, void *lock);
};

/* Installs lock callbacks (copied); NULL removes them.  Only before any
 * lock exists, or with the very same callbacks again. */
EVENT2_EXPORT_SYMBOL
int evthread_set_lock_callbacks(const struct evthread_lock_callbacks *);

/* The version of struct evthread_condition_callbacks this header
 * describes. */
#define EVTHREAD_CONDITION_API_VERSION 1

struct timeval;

/* A program's own condition variables.  wait_condition is entered with
 * lock held (a recursive lock of this library), returns with it held, and
 * answers 0 when signalled, 1 on timeout, -1 on error. */
struct evthread_condition_callbacks {
	/* EVTHREAD_CONDITION_API_VERSION */
	int condition_api_version;
	void *(*alloc_condition)(unsigned condtype);
	void (*free_condition)(void *cond);
	/* wakes one waiter, or all when broadcast is non-zero */
	int (*signal_condition)(void *cond, int broadcast);
	int (*wait_condition)(void *cond, void *lock,
	    const struct timeval *timeout);
};

/* Installs condition callbacks (copied). */
EVENT2_EXPORT_SYMBOL
int evthread_set_condition_callbacks(
	const struct evthread_condition_callbacks *);

/* Installs the function that names the calling thread. */
EVENT2_EXPORT_SYMBOL
void evthread_set_id_callback(
    unsigned long (*id_fn)(void));

#if defined(_WIN32) && !defined(EVENT__DISABLE_THREAD_SUPPORT)
/* Uses Windows critical sections and condition variables. */
EVENT2_EXPORT_SYMBOL
int evthread_use_windows_threads(void);
/* Tells a program that the function above exists. */
#define EVTHREAD_USE_WINDOWS_THREADS_IMPLEMENTED 1
#endif

#if defined(EVENT__HAVE_PTHREADS)
/* Uses POSIX threads; link with libevent_pthreads.  0 on success. */
EVENT2_EXPORT_SYMBOL
int evthread_use_pthreads(void);
/* Tells a program that the function above exists. */
#define EVTHREAD_USE_PTHREADS_IMPLEMENTED 1
#endif

/* Wraps the installed locks in checks that report misuse (unlocking a lock
 * not held, taking a non-recursive one twice) as fatal errors.  Call it
 * after choosing the locks and before making any base. */
EVENT2_EXPORT_SYMBOL
void evthread_enable_lock_debugging(void);

/* The same, under its old misspelled name. */
EVENT2_EXPORT_SYMBOL
void evthread_enable_lock_debuging(void);

#endif /* !EVENT__DISABLE_THREAD_SUPPORT */

struct event_base;

/* Gives a base the means to be woken from another thread, if it has no
 * such means yet.  Bases made after locking was set up have it already. */
EVENT2_EXPORT_SYMBOL
int evthread_make_base_notifiable(struct event_base *base);

#ifdef __cplusplus
}
#endif

#endif /* EVENT2_THREAD_H_INCLUDED_ */
