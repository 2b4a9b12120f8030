//! The flag sets of libevent, with libevent's bit values.

use bitflags::bitflags;

bitflags! {
    /// What an event waits for, and what a callback is told happened
    /// (libevent's `EV_*` bits, same values).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct What: u8 {
        /// The timeout expired (only ever reported, never requested).
        const TIMEOUT = 0x01;
        /// The handle is readable.
        const READ = 0x02;
        /// The handle is writable.
        const WRITE = 0x04;
        /// The event watches a signal number instead of a handle.
        const SIGNAL = 0x08;
        /// The event stays pending after it fires; its timeout re-arms.
        const PERSIST = 0x10;
        /// Edge-triggered, where the backend has [`Features::ET`].
        const ET = 0x20;
        /// Reported to finalizers; as a request, `del` never waits.
        const FINALIZE = 0x40;
        /// The peer closed or half-closed, seen without reading.
        const CLOSED = 0x80;
    }
}

impl What {
    /// The three I/O directions a backend watches.
    pub const IO: What = What::READ.union(What::WRITE).union(What::CLOSED);
}

bitflags! {
    /// What a backend can do (libevent's `EV_FEATURE_*`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct Features: u8 {
        /// Edge-triggered events ([`What::ET`]) are honoured.
        const ET = 0x01;
        /// Adding, deleting and one ready event cost O(1).
        const O1 = 0x02;
        /// Any file descriptor works, not only sockets.
        const FDS = 0x04;
        /// [`What::CLOSED`] is reported without reading.
        const EARLY_CLOSE = 0x08;
    }
}

bitflags! {
    /// Flags of a [`Config`](crate::Config) (libevent's `EVENT_BASE_FLAG_*`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct BaseFlags: u8 {
        /// No lock and no cross-thread wake-up, even if the platform has one.
        const NOLOCK = 0x01;
        /// Ignore `EVENT_NO<METHOD>`, `EVENT_PRECISE_TIMER` and
        /// `EVENT_EPOLL_USE_CHANGELIST`.
        const IGNORE_ENV = 0x02;
        /// Windows: start the completion port at construction.
        const STARTUP_IOCP = 0x04;
        /// Never cache "now": every time query reads the clock.
        const NO_CACHE_TIME = 0x08;
        /// epoll only: batch interest changes until the next dispatch.
        const EPOLL_USE_CHANGELIST = 0x10;
        /// Wait with sub-millisecond resolution where the backend can
        /// (epoll: `epoll_pwait2`, or a timerfd), so timers fire closer to
        /// their deadlines. The base's clock is the precise one either way
        /// (libevent's flag also switches it from the coarse clock, which
        /// would let timers fire early).
        const PRECISE_TIMER = 0x20;
    }
}

bitflags! {
    /// How one call to [`run`](crate::EventBase::run) behaves
    /// (libevent's `EVLOOP_*`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct LoopFlags: u8 {
        /// Wait until something is active, run it, then return.
        const ONCE = 0x01;
        /// Never wait: poll once with a zero timeout.
        const NONBLOCK = 0x02;
        /// Do not return when no event is pending; only exit or break stop the loop.
        const NO_EXIT_ON_EMPTY = 0x04;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_values_are_libevents() {
        assert_eq!(What::TIMEOUT.bits(), 0x01);
        assert_eq!(What::CLOSED.bits(), 0x80);
        assert_eq!(What::FINALIZE.bits(), 0x40);
        assert_eq!(Features::EARLY_CLOSE.bits(), 0x08);
        assert_eq!(BaseFlags::PRECISE_TIMER.bits(), 0x20);
        assert_eq!(BaseFlags::EPOLL_USE_CHANGELIST.bits(), 0x10);
        assert_eq!(LoopFlags::NO_EXIT_ON_EMPTY.bits(), 0x04);
    }
}
