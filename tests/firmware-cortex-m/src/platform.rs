//! evbase's platform on this board: the SysTick clock, one backend that
//! sleeps with `wfi`, and a `static` remote queue that interrupt handlers
//! use to reach the base.

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use cortex_m::{asm, interrupt};
use evbase_core::{
    Backend, Change, Config, Error, Features, Fixed, Inbox, Instant, Method, Platform, RemoteQueue, Sink, Waker,
};

use crate::board;

/// How interrupt handlers reach the base: activate an event, break, exit.
/// Activations of the events in slots 0 to 7 coalesce in place and are
/// never refused (the irq event is in slot 4); breaks and exits are never
/// refused; adds and deletes have room for 8 between two drains.
pub static REMOTE: RemoteQueue<Fixed<8>> = RemoteQueue::new();

/// Set by the waker (from an interrupt handler, through [`REMOTE`]); the
/// backend's wait ends when it sees it.
static WOKEN: AtomicBool = AtomicBool::new(false);

/// Waits of the backend, and how many of them a remote operation ended.
pub static WAITS: AtomicU32 = AtomicU32::new(0);
/// See [`WAITS`].
pub static REMOTE_WAKES: AtomicU32 = AtomicU32::new(0);

static METHODS: [Method; 1] = [Method {
    name: "wfi",
    features: Features::empty(),
    need_reinit: false,
    changelist: false,
}];

/// The platform: a board with a millisecond clock and no handles or signals.
#[derive(Debug, Default)]
pub struct Board;

/// The only backend: sleeps with `wfi` until the deadline or a remote wake.
#[derive(Debug)]
pub struct Sleep;

impl Platform for Board {
    type Backend = Sleep;

    fn methods(&self) -> &'static [Method] {
        &METHODS
    }

    fn open(&mut self, _method: &Method, _config: &Config) -> Result<Sleep, Error> {
        Ok(Sleep)
    }

    fn now(&mut self) -> Instant {
        Instant::from_millis(u64::from(board::millis()))
    }

    fn inbox(&self) -> Option<&dyn Inbox> {
        Some(&REMOTE)
    }
}

fn wake(_: usize) {
    WOKEN.store(true, Ordering::Release);
}

/// `d` in whole milliseconds, rounded up: a wait never ends early.
fn ceil_millis(ns: u64) -> u64 {
    ns.div_ceil(1_000_000)
}

impl Backend for Sleep {
    fn method(&self) -> &'static Method {
        &METHODS[0]
    }

    fn change(&mut self, _change: &Change) -> Result<(), Error> {
        Err(Error::Unsupported(&"handles: this board has no I/O backend"))
    }

    fn dispatch<K: Sink>(&mut self, _changes: &[Change], timeout: Option<u64>, _sink: &mut K) -> Result<(), Error> {
        WAITS.store(WAITS.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        // The tick count is the floor of the time elapsed: the deadline tick is
        // reached no earlier than `timeout` from now.
        let deadline = timeout.map(|t| u64::from(board::millis()).saturating_add(ceil_millis(t)));
        loop {
            // With interrupts masked, an interrupt that lands between the checks
            // and `wfi` stays pending and ends the `wfi` at once; its handler runs
            // when `free` unmasks them again. No wake-up is lost.
            let done = interrupt::free(|_| {
                if WOKEN.load(Ordering::Acquire) {
                    // Cleared only here, never on entry: a wake that came after
                    // the loop's last drain of the queue must end this wait.
                    WOKEN.store(false, Ordering::Relaxed);
                    REMOTE_WAKES.store(REMOTE_WAKES.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                    return true;
                }
                if deadline.is_some_and(|d| u64::from(board::millis()) >= d) {
                    return true;
                }
                asm::wfi();
                false
            });
            if done {
                return Ok(());
            }
        }
    }

    fn waker(&self) -> Option<Waker> {
        Some(Waker { wake, data: 0 })
    }
}
