//! Wake-ups and console-control signals, through one process-wide registry.
//!
//! Every open backend registers how to wake it (post to its completion port,
//! or send a byte on its wake socket) and gets an id. Its [`Waker`] carries
//! that id, not the handle: waking looks the id up under the registry's
//! lock, so a waker that outlives its backend (a remote queue kept by another
//! thread) does nothing instead of posting to a closed, maybe reused, handle.
//!
//! Signals: Windows has no POSIX signals for sockets programs, but a console
//! sends control events (Ctrl+C, Ctrl+Break) to a handler that runs on a
//! thread the system creates. That thread may take locks, so delivering is
//! safe here, unlike in a POSIX signal handler: the handler counts the event
//! for every backend that watches it and wakes them. `SIGINT` (2) is
//! `CTRL_C_EVENT`, `SIGBREAK` (21) is `CTRL_BREAK_EVENT`, the numbers of the
//! Microsoft C runtime. Every watching base receives the signal.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use evbase_core::{Error, Waker};

use crate::sys;

/// `SIGINT` in the Microsoft C runtime: Ctrl+C (`CTRL_C_EVENT`).
pub const SIGINT: u32 = 2;
/// `SIGBREAK` in the Microsoft C runtime: Ctrl+Break (`CTRL_BREAK_EVENT`).
pub const SIGBREAK: u32 = 21;

/// The signals this platform delivers, by index.
const SIGNALS: [u32; 2] = [SIGINT, SIGBREAK];

/// The completion key of wake-up posts on a completion port.
pub(crate) const WAKE_KEY: usize = usize::MAX;

/// How to wake one backend.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target {
    /// Post an empty completion with [`WAKE_KEY`] to this port.
    Port(usize),
    /// Send one byte on this socket (the write end of the wake pair).
    Socket(usize),
}

impl Target {
    fn wake(self) {
        match self {
            Target::Port(port) => {
                let _ = sys::post(port, WAKE_KEY);
            }
            Target::Socket(s) => {
                // A full buffer (WSAEWOULDBLOCK) means a wake-up is pending already.
                let _ = sys::send(s, &[0]);
            }
        }
    }
}

/// Signal state of one backend: what it watches and what arrived.
#[derive(Debug, Default)]
struct Signals {
    watching: [AtomicBool; 2],
    counts: [AtomicU32; 2],
}

struct Entry {
    id: usize,
    target: Target,
    signals: Arc<Signals>,
}

static REGISTRY: Mutex<Vec<Entry>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

fn registry() -> MutexGuard<'static, Vec<Entry>> {
    // A panic while holding the lock leaves the list consistent (every
    // change is one push or one swap_remove): keep going.
    REGISTRY.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn wake_id(id: usize) {
    if let Some(e) = registry().iter().find(|e| e.id == id) {
        e.target.wake();
    }
}

/// A backend's entry in the registry; removed on drop, which must happen
/// before the backend closes what [`Target`] names.
#[derive(Debug)]
pub(crate) struct Registration {
    id: usize,
    signals: Arc<Signals>,
}

impl Registration {
    /// Registers `target`.
    pub(crate) fn new(target: Target) -> Registration {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let signals = Arc::new(Signals::default());
        registry().push(Entry {
            id,
            target,
            signals: signals.clone(),
        });
        Registration { id, signals }
    }

    /// The waker other threads use.
    pub(crate) fn waker(&self) -> Waker {
        Waker {
            wake: wake_id,
            data: self.id,
        }
    }

    /// Starts or stops counting `signal` for this backend.
    pub(crate) fn watch(&self, signal: u32, on: bool) -> Result<(), Error> {
        let Some(i) = SIGNALS.iter().position(|&s| s == signal) else {
            return Err(Error::Unsupported(
                &"Windows delivers only SIGINT (2, Ctrl+C) and SIGBREAK (21, Ctrl+Break), from the console",
            ));
        };
        if on {
            sys::install_console_handler()?;
        } else {
            self.signals.counts[i].store(0, Ordering::Relaxed);
        }
        self.signals.watching[i].store(on, Ordering::Release);
        Ok(())
    }

    /// Reports and clears the signals that arrived since the last call.
    pub(crate) fn report<K: evbase_core::Sink>(&self, sink: &mut K) {
        for (i, &sig) in SIGNALS.iter().enumerate() {
            if !self.signals.watching[i].load(Ordering::Acquire) {
                continue;
            }
            let n = self.signals.counts[i].swap(0, Ordering::AcqRel);
            if n > 0 {
                sink.signal(sig, n);
            }
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut list = registry();
        if let Some(pos) = list.iter().position(|e| e.id == self.id) {
            list.swap_remove(pos);
        }
    }
}

/// Delivers console control event `ctrl` (the handler's body): counts it
/// for every backend watching its signal and wakes them. Returns whether any
/// did (then the event is handled; otherwise Windows applies its default,
/// ending the process on Ctrl+C).
pub(crate) fn console_event(ctrl: u32) -> bool {
    let i = match ctrl {
        0 => 0, // CTRL_C_EVENT
        1 => 1, // CTRL_BREAK_EVENT
        _ => return false,
    };
    let mut handled = false;
    for e in registry().iter() {
        if e.signals.watching[i].load(Ordering::Acquire) {
            e.signals.counts[i].fetch_add(1, Ordering::AcqRel);
            e.target.wake();
            handled = true;
        }
    }
    handled
}
