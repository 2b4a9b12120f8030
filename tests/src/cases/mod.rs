//! The cases, one function per libevent test, named after it. Each is
//! generic over the platform and the storage flavour.

pub mod events;
pub mod failures;
pub mod finalize;
pub mod inspect;
pub mod io;
pub mod loop_control;
pub mod selection;
pub mod timers;
pub mod watch;

use std::cell::RefCell;
use std::rc::Rc;

/// A log that callbacks append to and the test reads back.
pub type Log<T> = Rc<RefCell<Vec<T>>>;

/// A new empty log.
pub fn log<T>() -> Log<T> {
    Rc::new(RefCell::new(Vec::new()))
}

/// Instantiates every conformance case as a `#[test]` for one platform,
/// storage flavour and backend variant:
/// `evbase_tests::conformance!(SimPlatform, Growable, "epoll");`. A fourth
/// argument, a `fn(&str) -> bool` of the variant, skips every case where it
/// says so (and prints why): for a variant the host may refuse.
#[macro_export]
macro_rules! conformance {
    ($platform:ty, $storage:ty, $variant:expr) => {
        $crate::conformance!($platform, $storage, $variant, |_| false);
    };
    ($platform:ty, $storage:ty, $variant:expr, $skipped:expr) => {
        $crate::conformance!(@cases $platform, $storage, $variant, $skipped;
            loop_control::loopbreak, loop_control::loopexit, loop_control::loopexit_multiple,
            loop_control::bad_reentrant, loop_control::priorities, loop_control::priority_active_inversion,
            loop_control::active_later, loop_control::break_before_loop_libevent_1292,
            loop_control::max_dispatch_callbacks,
            timers::persistent_timeout, timers::persistent_timeout_jump, timers::persistent_active_timeout,
            timers::event_timeout_lost, timers::event_remove_timeout, timers::common_timeout, timers::common_timeout_limit,
            timers::simpletimeout, timers::gettimeofday_cached, timers::with_cached_time, timers::equal_deadlines_fire_in_add_order,
            timers::heap_randomized,
            events::nonpersist_readd, events::want_only_once, events::event_once, events::event_once_never,
            events::event_pending, events::manipulate_active_events, events::active_by_fd,
            events::stale_event_id,
            failures::bad_handle_refused, failures::failed_calls_change_nothing,
            inspect::event_base_get_num_events, inspect::event_base_get_max_events, inspect::max_events_by_readiness,
            inspect::event_foreach,
            inspect::dump_events,
            finalize::finalize_cb_invoked, finalize::finalize_within_cb,
            io::simpleread, io::simplewrite, io::multiple, io::persistent, io::combined, io::event_base_new,
            io::simpleclose, io::et,
            selection::methods, selection::base_features,
            watch::callback_ordering, watch::timeout_unavailable, watch::watch_zero_wait,
            watch::watch_added_and_freed_inside, watch::watch_break_in_prepare, watch::watch_break_in_check,
            watch::watch_prepare_changes_the_wait, watch::watch_bad_reentrant, watch::watch_stale_id,
            watch::watch_exit_ending_a_once_run_is_spent
        );
    };
    (@cases $platform:ty, $storage:ty, $variant:expr, $skipped:expr; $($module:ident :: $case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let skipped: fn(&str) -> bool = $skipped;
                if !skipped($variant) {
                    $crate::cases::$module::$case::<$platform, $storage>($variant);
                }
            }
        )*
    };
}
