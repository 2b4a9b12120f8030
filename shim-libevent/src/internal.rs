//! libevent's internal functions that its own test programs call directly
//! (declared in `event-internal.h`): the consistency check and the virtual
//! events.
//!
//! They are exported because `regress.c` and the other case files link
//! them, and they do on evbase what their names say: `event_base_assert_ok_`
//! checks the core's invariants ([`evbase_core::EventBase::check_invariants`])
//! and aborts when one fails, as libevent's does; the virtual events keep a
//! loop from returning for want of events.

use crate::base::{RawBase, with_core};

/// libevent's `event_base_assert_ok_`: checks that the base's tables agree
/// with each other, and ends the process (through the fatal callback, else
/// `abort()`) when they do not. A base whose loop runs on another thread
/// cannot be reached and is not checked.
#[unsafe(no_mangle)]
pub extern "C" fn event_base_assert_ok_(base: *mut RawBase) {
    if let Some(Err(v)) = with_core(base, |core| core.check_invariants()) {
        crate::log::fatal(crate::log::ERR_ABORT, format_args!("event_base_assert_ok_: {v}"));
    }
}

/// libevent's `event_base_add_virtual_`: one more virtual event, which
/// keeps the loop running as a pending event would.
#[unsafe(no_mangle)]
pub extern "C" fn event_base_add_virtual_(base: *mut RawBase) {
    if with_core(base, |core| core.add_virtual()).is_none() && !base.is_null() {
        crate::log::warn(format_args!(
            "event_base_add_virtual_: the base's loop runs on another thread"
        ));
    }
}

/// libevent's `event_base_del_virtual_`: one virtual event fewer.
#[unsafe(no_mangle)]
pub extern "C" fn event_base_del_virtual_(base: *mut RawBase) {
    if with_core(base, |core| core.del_virtual()).is_none() && !base.is_null() {
        crate::log::warn(format_args!(
            "event_base_del_virtual_: the base's loop runs on another thread"
        ));
    }
}
