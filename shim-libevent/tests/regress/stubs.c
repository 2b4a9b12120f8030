/* evbase: libevent 2.1.12's event core, rebuilt in Rust.
 * SPDX-License-Identifier: MIT OR Apache-2.0
 *
 * Link-only stubs for the regression driver.
 *
 * regress.c also holds libevent's evtag/ group (event tagging over
 * evbuffers), which the driver does not run: evbase provides neither
 * evbuffer nor evtag.  Its functions are still referenced, so they are
 * defined here to satisfy the linker, and each aborts loudly if a case
 * ever calls it.  The same goes for libevent's internal deferred-callback
 * functions, which only the skipped cases finalize/cb_invoked and
 * thread/deferred_cb_skew use.
 *
 * Only the stubs the library lacks are compiled: tests/regress.sh looks
 * each name up in the library linked in (Debian's libevent, when the
 * driver itself is checked, defines them all) and defines
 * REGRESS_STUB_<name> for the missing ones, so a stub never stands in
 * for a real definition.
 *
 * No header declares these here, on purpose: the stubs take no
 * arguments, are never meant to run, and must not pretend to implement
 * anything.
 */
#include <stdio.h>
#include <stdlib.h>

#define REGRESS_STUB(name)                                              \
	__attribute__((noreturn)) void name(void);                      \
	__attribute__((noreturn)) void name(void)                       \
	{                                                               \
		fprintf(stderr,                                         \
		    "regress: %s called, but it is a link-only stub "   \
		    "(the library provides no %s)\n", #name, #name);    \
		fflush(stderr);                                         \
		abort();                                                \
	}

/* evbuffer (used by the evtag/ cases in regress.c) */
#ifdef REGRESS_STUB_evbuffer_add
REGRESS_STUB(evbuffer_add)
#endif
#ifdef REGRESS_STUB_evbuffer_drain
REGRESS_STUB(evbuffer_drain)
#endif
#ifdef REGRESS_STUB_evbuffer_free
REGRESS_STUB(evbuffer_free)
#endif
#ifdef REGRESS_STUB_evbuffer_get_length
REGRESS_STUB(evbuffer_get_length)
#endif
#ifdef REGRESS_STUB_evbuffer_new
REGRESS_STUB(evbuffer_new)
#endif
#ifdef REGRESS_STUB_evbuffer_pullup
REGRESS_STUB(evbuffer_pullup)
#endif

/* evtag (the evtag/ cases in regress.c) */
#ifdef REGRESS_STUB_evtag_consume
REGRESS_STUB(evtag_consume)
#endif
#ifdef REGRESS_STUB_evtag_decode_int
REGRESS_STUB(evtag_decode_int)
#endif
#ifdef REGRESS_STUB_evtag_decode_int64
REGRESS_STUB(evtag_decode_int64)
#endif
#ifdef REGRESS_STUB_evtag_decode_tag
REGRESS_STUB(evtag_decode_tag)
#endif
#ifdef REGRESS_STUB_evtag_encode_int
REGRESS_STUB(evtag_encode_int)
#endif
#ifdef REGRESS_STUB_evtag_encode_int64
REGRESS_STUB(evtag_encode_int64)
#endif
#ifdef REGRESS_STUB_evtag_encode_tag
REGRESS_STUB(evtag_encode_tag)
#endif
#ifdef REGRESS_STUB_evtag_init
REGRESS_STUB(evtag_init)
#endif
#ifdef REGRESS_STUB_evtag_marshal_int
REGRESS_STUB(evtag_marshal_int)
#endif
#ifdef REGRESS_STUB_evtag_marshal_string
REGRESS_STUB(evtag_marshal_string)
#endif
#ifdef REGRESS_STUB_evtag_marshal_timeval
REGRESS_STUB(evtag_marshal_timeval)
#endif
#ifdef REGRESS_STUB_evtag_payload_length
REGRESS_STUB(evtag_payload_length)
#endif
#ifdef REGRESS_STUB_evtag_peek
REGRESS_STUB(evtag_peek)
#endif
#ifdef REGRESS_STUB_evtag_peek_length
REGRESS_STUB(evtag_peek_length)
#endif
#ifdef REGRESS_STUB_evtag_unmarshal_timeval
REGRESS_STUB(evtag_unmarshal_timeval)
#endif

/* libevent's character-class helper, used only by the evtag/ cases */
#ifdef REGRESS_STUB_EVUTIL_TOUPPER_
REGRESS_STUB(EVUTIL_TOUPPER_)
#endif

/* libevent's internal activation for the next loop iteration
 * (main/active_later): stubbed only while the library lacks it */
#ifdef REGRESS_STUB_event_active_later_
REGRESS_STUB(event_active_later_)
#endif

/* libevent's internal deferred callbacks (skipped cases only) */
#ifdef REGRESS_STUB_event_deferred_cb_init_
REGRESS_STUB(event_deferred_cb_init_)
#endif
#ifdef REGRESS_STUB_event_deferred_cb_schedule_
REGRESS_STUB(event_deferred_cb_schedule_)
#endif
#ifdef REGRESS_STUB_event_callback_activate_
REGRESS_STUB(event_callback_activate_)
#endif
#ifdef REGRESS_STUB_event_callback_finalize_
REGRESS_STUB(event_callback_finalize_)
#endif
