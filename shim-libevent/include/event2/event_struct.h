/* evbase: libevent 2.1.12's event core, rebuilt in Rust.
 * SPDX-License-Identifier: MIT OR Apache-2.0
 *
 * event2/event_struct.h -- the layout of struct event, for programs that
 * embed events in their own structures or on the stack (event_assign()).
 *
 * The layout is libevent 2.1.12's, byte for byte (128 bytes on LP64), so
 * that binaries built against libevent run on evbase.  The fields are not
 * an interface: read them through the event_get_*() functions.  evbase
 * keeps ev_fd, ev_base, ev_events, ev_res, the callback, its argument and
 * the priority true at these offsets; the other bytes are its own.
 */
#ifndef EVENT2_EVENT_STRUCT_H_INCLUDED_
#define EVENT2_EVENT_STRUCT_H_INCLUDED_

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

/* ev_uint8_t, evutil_socket_t */
#include <event2/util.h>

/* Bits of ev_flags (evcb_flags): where the event is in the library's
 * bookkeeping. */
#define EVLIST_TIMEOUT	    0x01  /* has a timeout pending */
#define EVLIST_INSERTED	    0x02  /* fd or signal pending */
#define EVLIST_SIGNAL	    0x04  /* (unused) */
#define EVLIST_ACTIVE	    0x08  /* waiting to run */
#define EVLIST_INTERNAL	    0x10  /* the library's own event */
#define EVLIST_ACTIVE_LATER 0x20  /* will be active on the next turn */
#define EVLIST_FINALIZING   0x40  /* being finalized */
#define EVLIST_INIT	    0x80  /* assigned */

#define EVLIST_ALL          0xff  /* every bit above */

/*
 * The list-link shapes of BSD's <sys/queue.h>, for systems (and programs)
 * without it.  Whatever this header defines it undefines again at the end,
 * so a later #include <sys/queue.h> is not disturbed.
 */
#ifndef TAILQ_ENTRY
#define EVENT_DEFINED_TQENTRY_
#define TAILQ_ENTRY(type)						\
struct {								\
	struct type *tqe_next;	/* the next one */			\
	struct type **tqe_prev;	/* where the link to this one is */	\
}
#endif

#ifndef TAILQ_HEAD
#define EVENT_DEFINED_TQHEAD_
#define TAILQ_HEAD(name, type)			\
struct name {					\
	struct type *tqh_first;			\
	struct type **tqh_last;			\
}
#endif

#ifndef LIST_ENTRY
#define EVENT_DEFINED_LISTENTRY_
#define LIST_ENTRY(type)						\
struct {								\
	struct type *le_next;	/* the next one */			\
	struct type **le_prev;	/* where the link to this one is */	\
}
#endif

#ifndef LIST_HEAD
#define EVENT_DEFINED_LISTHEAD_
#define LIST_HEAD(name, type)						\
struct name {								\
	struct type *lh_first;						\
	}
#endif

struct event;

/* What the loop's run queues hold: an event, or a deferred callback. */
struct event_callback {
	/* link in its priority's queue while active */
	TAILQ_ENTRY(event_callback) evcb_active_next;
	/* EVLIST_* bits */
	short evcb_flags;
	/* priority; 0 runs first */
	ev_uint8_t evcb_pri;
	/* how to call it (the library's own code) */
	ev_uint8_t evcb_closure;
	/* the function; which member depends on evcb_closure */
        union {
		void (*evcb_callback)(evutil_socket_t, short, void *);
		void (*evcb_selfcb)(struct event_callback *, void *);
		void (*evcb_evfinalize)(struct event *, void *);
		void (*evcb_cbfinalize)(struct event_callback *, void *);
	} evcb_cb_union;
	/* its argument */
	void *evcb_arg;
};

struct event_base;

struct event {
	struct event_callback ev_evcallback;

	/* where its timeout is kept: a common-timeout queue or the heap */
	union {
		TAILQ_ENTRY(event) ev_next_with_common_timeout;
		int min_heap_idx;
	} ev_timeout_pos;

	/* the fd, or the signal number for EV_SIGNAL */
	evutil_socket_t ev_fd;

	struct event_base *ev_base;

	/* per kind: the fd's event list and the timeout interval of a
	 * persistent event, or the signal's list and its call count */
	union {
		struct {
			LIST_ENTRY (event) ev_io_next;
			struct timeval ev_timeout;
		} ev_io;

		struct {
			LIST_ENTRY (event) ev_signal_next;
			short ev_ncalls;
			/* set while the callback runs, so event_del() can
			 * stop the remaining calls */
			short *ev_pncalls;
		} ev_signal;
	} ev_;

	/* EV_* bits asked for */
	short ev_events;
	/* EV_* bits that made it active, for the callback */
	short ev_res;
	/* when its timeout expires */
	struct timeval ev_timeout;
};

/* List heads of events, as the library's internals name them. */
TAILQ_HEAD (event_list, event);

#ifdef EVENT_DEFINED_TQENTRY_
#undef TAILQ_ENTRY
#endif

#ifdef EVENT_DEFINED_TQHEAD_
#undef TAILQ_HEAD
#endif

LIST_HEAD (event_dlist, event);

#ifdef EVENT_DEFINED_LISTENTRY_
#undef LIST_ENTRY
#endif

#ifdef EVENT_DEFINED_LISTHEAD_
#undef LIST_HEAD
#endif

#ifdef __cplusplus
}
#endif

#endif /* EVENT2_EVENT_STRUCT_H_INCLUDED_ */
