//! libevent 2.1.12's `struct event`, byte for byte, as it lives in the
//! caller's memory, and the other C types the API passes around.
//!
//! The public fields (`ev_fd`, `ev_base`, `ev_events`, `ev_res`,
//! `ev_flags`, `ev_pri`, the callback and its argument) are kept true at
//! libevent's offsets. The bytes libevent uses for its list links and heap
//! index are private: evbase keeps the core's [`EventId`] and a magic word
//! there.

use core::ffi::{c_int, c_short, c_void};

use evbase_core::EventId;

/// `evutil_socket_t` on Unix.
pub type Socket = c_int;

/// An event callback: `void (*)(evutil_socket_t, short, void *)`.
pub type EventCallbackFn = Option<unsafe extern "C" fn(Socket, c_short, *mut c_void)>;

/// A finalizer: `void (*)(struct event *, void *)`.
pub type FinalizeCallbackFn = Option<unsafe extern "C" fn(*mut Event, *mut c_void)>;

/// libevent's `EVLIST_*` bits of `ev_flags`.
pub mod evlist {
    /// A timer is armed.
    pub const TIMEOUT: i16 = 0x01;
    /// Registered for its fd or signal.
    pub const INSERTED: i16 = 0x02;
    /// Active: its callback runs soon.
    pub const ACTIVE: i16 = 0x08;
    /// An event of the library's own.
    pub const INTERNAL: i16 = 0x10;
    /// Active on the next iteration.
    pub const ACTIVE_LATER: i16 = 0x20;
    /// Being finalized.
    pub const FINALIZING: i16 = 0x40;
    /// Assigned (`event_initialized`).
    pub const INIT: i16 = 0x80;
}

/// `struct timeval` (the C library's own, as the headers declare it).
pub type Timeval = libc::timeval;

/// libevent's `struct event_callback` (40 bytes on LP64).
#[repr(C)]
pub struct EventCallback {
    /// libevent's `evcb_active_next` (two pointers): evbase keeps the
    /// event's core id and a magic word here.
    pub private_id: [u32; 3],
    /// [`MAGIC`] while `private_id` is meaningful.
    pub private_magic: u32,
    /// `evcb_flags`: [`evlist`] bits.
    pub flags: c_short,
    /// `evcb_pri`.
    pub pri: u8,
    /// `evcb_closure`: how libevent would run it (kept for readers).
    pub closure: u8,
    /// `evcb_cb_union.evcb_callback` (or the finalizer while finalizing).
    pub callback: *mut c_void,
    /// `evcb_arg`.
    pub arg: *mut c_void,
}

/// libevent's `struct event` (128 bytes on LP64).
#[repr(C)]
pub struct Event {
    /// The callback part.
    pub cb: EventCallback,
    /// `ev_timeout_pos` (a list entry or a heap index): private, unused.
    pub timeout_pos: [usize; 2],
    /// `ev_fd`: the fd, the signal number, or -1.
    pub fd: Socket,
    /// `ev_base`.
    pub base: *mut c_void,
    /// `ev_` (list links and the persistent interval): private. evbase
    /// keeps the relative timeout of a persistent event here, as libevent.
    pub private: [usize; 2],
    /// `ev_.ev_io.ev_timeout`: the re-arm interval of a persistent event.
    pub io_timeout: Timeval,
    /// `ev_events`.
    pub events: c_short,
    /// `ev_res`: the flags passed to the running callback.
    pub res: c_short,
    /// `ev_timeout`: the absolute deadline while a timer is armed
    /// (monotonic, as libevent).
    pub timeout: Timeval,
}

/// Marks an `Event` whose `private_id` names a core event: a value no
/// zeroed or freshly malloc'd struct is likely to hold.
pub const MAGIC: u32 = 0x6576_6273; // "evbs"

const _: () = assert!(core::mem::size_of::<EventCallback>() == 40);
const _: () = assert!(core::mem::size_of::<Event>() == 128);
const _: () = assert!(core::mem::offset_of!(Event, fd) == 56);
const _: () = assert!(core::mem::offset_of!(Event, base) == 64);
const _: () = assert!(core::mem::offset_of!(Event, events) == 104);
const _: () = assert!(core::mem::offset_of!(Event, res) == 106);
const _: () = assert!(core::mem::offset_of!(Event, timeout) == 112);
const _: () = assert!(core::mem::offset_of!(EventCallback, flags) == 16);
const _: () = assert!(core::mem::offset_of!(EventCallback, callback) == 24);

impl Event {
    /// The core event this struct names, if it was given one.
    pub fn core_id(&self) -> Option<EventId> {
        (self.cb.private_magic == MAGIC).then(|| EventId::from_raw(self.cb.private_id))
    }

    /// Records the core event behind this struct.
    pub fn set_core_id(&mut self, id: Option<EventId>) {
        match id {
            Some(id) => {
                self.cb.private_id = id.to_raw();
                self.cb.private_magic = MAGIC;
            }
            None => {
                self.cb.private_id = [0; 3];
                self.cb.private_magic = 0;
            }
        }
    }

    /// The C callback.
    pub fn callback(&self) -> EventCallbackFn {
        // SAFETY: `callback` holds either NULL or a function pointer of
        // this type stored by event_assign; `Option<fn>` has the same
        // representation as a nullable pointer.
        unsafe { core::mem::transmute::<*mut c_void, EventCallbackFn>(self.cb.callback) }
    }
}

/// `tv_usec` bits that mark a common timeout (libevent's encoding: a
/// magic nibble, the queue's index, then the microseconds).
pub const COMMON_MASK: libc::suseconds_t = 0xf000_0000;
/// The magic nibble of a common timeout.
pub const COMMON_MAGIC: libc::suseconds_t = 0x5000_0000;
/// The queue index of a common timeout.
pub const COMMON_IDX_MASK: libc::suseconds_t = 0x0ff0_0000;
/// Where the index starts.
pub const COMMON_IDX_SHIFT: u32 = 20;
/// The microseconds of a common timeout.
pub const MICROSECONDS_MASK: libc::suseconds_t = 0x000f_ffff;

/// A C duration as a `Duration`: microseconds past a second carry into
/// the seconds (as libevent's `evutil_timeradd` does), a common timeout's
/// marker bits are dropped, and a negative time is zero.
pub fn duration_of(tv: &Timeval) -> core::time::Duration {
    let usec = if tv.tv_usec & COMMON_MASK == COMMON_MAGIC {
        tv.tv_usec & MICROSECONDS_MASK
    } else {
        tv.tv_usec
    };
    if tv.tv_sec < 0 || usec < 0 {
        return core::time::Duration::ZERO;
    }
    core::time::Duration::from_secs(tv.tv_sec as u64) + core::time::Duration::from_micros(usec as u64)
}

/// A `Duration` as a C `struct timeval`.
pub fn timeval_of(d: core::time::Duration) -> Timeval {
    Timeval {
        tv_sec: d.as_secs() as libc::time_t,
        tv_usec: d.subsec_micros() as libc::suseconds_t,
    }
}
