/* evbase header check: prints the size, alignment and offset of every field
 * of the event core's public structures, the size and signedness of its
 * types and the value of its enumeration constants, one "name value" per
 * line.  tests/headers.rs builds it once against evbase's headers and once
 * against libevent's, and requires the two outputs to be identical.
 */
#include <event.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/event_compat.h>
#include <event2/thread.h>
#include <event2/util.h>
#include <evutil.h>

#include <stddef.h>
#include <stdio.h>

/* A field: its offset, size and alignment. */
#define FIELD(T, f)							\
	printf("offsetof(%s, %s) %zu\n", #T, #f, offsetof(T, f));	\
	printf("sizeof(%s.%s) %zu\n", #T, #f, sizeof(((T *)0)->f));	\
	printf("alignof(%s.%s) %zu\n", #T, #f, _Alignof(__typeof__(((T *)0)->f)))

/* A type: size, alignment and, for arithmetic types, signedness. */
#define TYPE(T)								\
	printf("sizeof(%s) %zu\n", #T, sizeof(T));			\
	printf("alignof(%s) %zu\n", #T, _Alignof(T))
#define INTEGER(T)							\
	TYPE(T);							\
	printf("signed(%s) %d\n", #T, (int)((T)-1 < (T)0))

/* An enumeration constant: value and the size of its type. */
#define CONSTANT(c)							\
	printf("%s %lld\n", #c, (long long)(c));			\
	printf("sizeof(%s) %zu\n", #c, sizeof(c))

int main(void)
{
	/* struct event_callback */
	TYPE(struct event_callback);
	FIELD(struct event_callback, evcb_active_next);
	FIELD(struct event_callback, evcb_active_next.tqe_next);
	FIELD(struct event_callback, evcb_active_next.tqe_prev);
	FIELD(struct event_callback, evcb_flags);
	FIELD(struct event_callback, evcb_pri);
	FIELD(struct event_callback, evcb_closure);
	FIELD(struct event_callback, evcb_cb_union);
	FIELD(struct event_callback, evcb_cb_union.evcb_callback);
	FIELD(struct event_callback, evcb_cb_union.evcb_selfcb);
	FIELD(struct event_callback, evcb_cb_union.evcb_evfinalize);
	FIELD(struct event_callback, evcb_cb_union.evcb_cbfinalize);
	FIELD(struct event_callback, evcb_arg);

	/* struct event */
	TYPE(struct event);
	FIELD(struct event, ev_evcallback);
	FIELD(struct event, ev_evcallback.evcb_active_next);
	FIELD(struct event, ev_evcallback.evcb_flags);
	FIELD(struct event, ev_evcallback.evcb_pri);
	FIELD(struct event, ev_evcallback.evcb_closure);
	FIELD(struct event, ev_evcallback.evcb_cb_union.evcb_callback);
	FIELD(struct event, ev_evcallback.evcb_arg);
	FIELD(struct event, ev_timeout_pos);
	FIELD(struct event, ev_timeout_pos.ev_next_with_common_timeout);
	FIELD(struct event, ev_timeout_pos.ev_next_with_common_timeout.tqe_next);
	FIELD(struct event, ev_timeout_pos.ev_next_with_common_timeout.tqe_prev);
	FIELD(struct event, ev_timeout_pos.min_heap_idx);
	FIELD(struct event, ev_fd);
	FIELD(struct event, ev_base);
	FIELD(struct event, ev_);
	FIELD(struct event, ev_.ev_io);
	FIELD(struct event, ev_.ev_io.ev_io_next);
	FIELD(struct event, ev_.ev_io.ev_io_next.le_next);
	FIELD(struct event, ev_.ev_io.ev_io_next.le_prev);
	FIELD(struct event, ev_.ev_io.ev_timeout);
	FIELD(struct event, ev_.ev_io.ev_timeout.tv_sec);
	FIELD(struct event, ev_.ev_io.ev_timeout.tv_usec);
	FIELD(struct event, ev_.ev_signal);
	FIELD(struct event, ev_.ev_signal.ev_signal_next);
	FIELD(struct event, ev_.ev_signal.ev_signal_next.le_next);
	FIELD(struct event, ev_.ev_signal.ev_signal_next.le_prev);
	FIELD(struct event, ev_.ev_signal.ev_ncalls);
	FIELD(struct event, ev_.ev_signal.ev_pncalls);
	FIELD(struct event, ev_events);
	FIELD(struct event, ev_res);
	FIELD(struct event, ev_timeout);
	FIELD(struct event, ev_timeout.tv_sec);
	FIELD(struct event, ev_timeout.tv_usec);

	/* the list heads event_struct.h declares */
	TYPE(struct event_list);
	FIELD(struct event_list, tqh_first);
	FIELD(struct event_list, tqh_last);
	TYPE(struct event_dlist);
	FIELD(struct event_dlist, lh_first);

	/* thread.h's callback tables */
	TYPE(struct evthread_lock_callbacks);
	FIELD(struct evthread_lock_callbacks, lock_api_version);
	FIELD(struct evthread_lock_callbacks, supported_locktypes);
	FIELD(struct evthread_lock_callbacks, alloc);
	FIELD(struct evthread_lock_callbacks, free);
	FIELD(struct evthread_lock_callbacks, lock);
	FIELD(struct evthread_lock_callbacks, unlock);
	TYPE(struct evthread_condition_callbacks);
	FIELD(struct evthread_condition_callbacks, condition_api_version);
	FIELD(struct evthread_condition_callbacks, alloc_condition);
	FIELD(struct evthread_condition_callbacks, free_condition);
	FIELD(struct evthread_condition_callbacks, signal_condition);
	FIELD(struct evthread_condition_callbacks, wait_condition);

	/* typedefs */
	TYPE(event_callback_fn);
	TYPE(event_finalize_callback_fn);
	TYPE(event_log_cb);
	TYPE(event_fatal_cb);
	TYPE(event_base_foreach_event_cb);

	/* util.h's integer types */
	INTEGER(ev_uint64_t);
	INTEGER(ev_int64_t);
	INTEGER(ev_uint32_t);
	INTEGER(ev_int32_t);
	INTEGER(ev_uint16_t);
	INTEGER(ev_int16_t);
	INTEGER(ev_uint8_t);
	INTEGER(ev_int8_t);
	INTEGER(ev_uintptr_t);
	INTEGER(ev_intptr_t);
	INTEGER(ev_ssize_t);
	INTEGER(ev_off_t);
	INTEGER(ev_socklen_t);
	INTEGER(evutil_socket_t);

	/* enumerations */
	TYPE(enum event_method_feature);
	CONSTANT(EV_FEATURE_ET);
	CONSTANT(EV_FEATURE_O1);
	CONSTANT(EV_FEATURE_FDS);
	CONSTANT(EV_FEATURE_EARLY_CLOSE);
	TYPE(enum event_base_config_flag);
	CONSTANT(EVENT_BASE_FLAG_NOLOCK);
	CONSTANT(EVENT_BASE_FLAG_IGNORE_ENV);
	CONSTANT(EVENT_BASE_FLAG_STARTUP_IOCP);
	CONSTANT(EVENT_BASE_FLAG_NO_CACHE_TIME);
	CONSTANT(EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	CONSTANT(EVENT_BASE_FLAG_PRECISE_TIMER);
	return 0;
}
