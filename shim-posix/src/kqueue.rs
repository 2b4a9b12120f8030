//! The kqueue backend (libevent's `kqueue.c`, BSD and macOS): the batch of
//! interest changes is handed to the same `kevent()` call that waits.
//!
//! READ and CLOSED share `EVFILT_READ` (CLOSED is its `EV_EOF`, which
//! libevent does not report); WRITE is `EVFILT_WRITE`. Edge-triggered
//! interest gets `EV_CLEAR`, and so does a CLOSED-only interest, so that
//! unread data does not wake the loop again and again. Signals are
//! `EVFILT_SIGNAL`, registered at once; every kqueue receives them
//! independently. The wake-up is an `EVFILT_USER` event (ident 0), or a
//! pipe where the kernel lacks `EVFILT_USER`. A kqueue is not inherited
//! by a forked child, so reinit makes a new one without closing the old
//! number.

// libc gives kevent's fields and constants different integer types on each
// BSD; the casts below are no-ops on some of them.
#![allow(clippy::unnecessary_cast)]

use core::time::Duration;

use evbase_core::{Change, Error, Features, Method, Sink, Text, Waker, What};

use crate::sys;
use crate::wake::{Notifier, WakeSlot};

/// `kqueue`.
pub static KQUEUE: Method = Method {
    name: "kqueue",
    features: Features::ET
        .union(Features::O1)
        .union(Features::FDS)
        .union(Features::EARLY_CLOSE),
    need_reinit: true,
    changelist: true,
};

const INITIAL_EVENTS: usize = 64;
/// `udata` of a change that adds (1) or deletes (0), to tell them apart in
/// `EV_ERROR` results.
const ADDING: usize = 1;

/// How the loop is woken.
#[derive(Debug)]
enum Wake {
    /// `EVFILT_USER` on the kqueue itself; the slot holds the kqueue fd.
    User(WakeSlot),
    /// A pipe in the set.
    Pipe(Notifier),
}

/// An open kqueue backend.
#[derive(Debug)]
pub struct Kqueue {
    kq: i32,
    changes: Vec<libc::kevent>,
    events: Vec<libc::kevent>,
    wake: Wake,
    signals: Vec<u32>,
    generation: u64,
}

fn os(op: Text) -> impl Fn(sys::Errno) -> Error {
    move |code| Error::Os { op, code }
}

fn kev(ident: usize, filter: i32, flags: u32, fflags: u32, udata: usize) -> libc::kevent {
    let mut k = sys::kevent_zero();
    k.ident = ident as _;
    k.filter = filter as _;
    k.flags = flags as _;
    k.fflags = fflags as _;
    k.udata = udata as _;
    k
}

fn user_wake() -> libc::kevent {
    kev(
        0,
        libc::EVFILT_USER as i32,
        (libc::EV_ADD | libc::EV_CLEAR) as u32,
        0,
        0,
    )
}

impl Kqueue {
    /// Opens a kqueue backend.
    pub(crate) fn open() -> Result<Kqueue, Error> {
        let kq = sys::kqueue().map_err(os(&"kqueue"))?;
        let wake = match Self::make_wake(kq) {
            Ok(w) => w,
            Err(e) => {
                sys::close(kq);
                return Err(e);
            }
        };
        Ok(Kqueue {
            kq,
            changes: Vec::new(),
            events: vec![sys::kevent_zero(); INITIAL_EVENTS],
            wake,
            signals: Vec::new(),
            generation: crate::fork_generation(),
        })
    }

    fn make_wake(kq: i32) -> Result<Wake, Error> {
        if sys::kevent(kq, &[user_wake()], &mut [], Some(Duration::ZERO)).is_ok() {
            return Ok(Wake::User(WakeSlot::claim(kq)?));
        }
        let n = Notifier::open()?;
        let add = kev(n.fd() as usize, libc::EVFILT_READ as i32, libc::EV_ADD as u32, 0, 0);
        sys::kevent(kq, &[add], &mut [], Some(Duration::ZERO)).map_err(os(&"kevent"))?;
        Ok(Wake::Pipe(n))
    }

    fn wake_fd(&self) -> Option<i32> {
        match &self.wake {
            Wake::Pipe(n) => Some(n.fd()),
            Wake::User(_) => None,
        }
    }

    /// Appends the kevents for one change.
    fn push_change(&mut self, c: &Change) {
        let ident = c.fd as usize;
        let et = c.new.contains(What::ET);
        let filter_flags = |want: What| -> Option<u32> {
            // Which filter flags an interest needs: EV_CLEAR for edge
            // triggering, or for CLOSED alone (only EV_EOF matters).
            if !want.intersects(What::READ | What::CLOSED) {
                return None;
            }
            let clear = et || !want.contains(What::READ);
            Some(if clear { libc::EV_CLEAR as u32 } else { 0 })
        };
        let (old_r, new_r) = (filter_flags(c.old), filter_flags(c.new));
        let readd_r = c.readd.intersects(What::READ | What::CLOSED);
        let read = libc::EVFILT_READ as i32;
        match (old_r, new_r) {
            (Some(_), None) => self.changes.push(kev(ident, read, libc::EV_DELETE as u32, 0, 0)),
            (o, Some(n)) if o != Some(n) || readd_r => {
                if o.is_some_and(|o| o != n) {
                    // The mode changes: delete, then add afresh.
                    self.changes.push(kev(ident, read, libc::EV_DELETE as u32, 0, 0));
                }
                self.changes.push(kev(ident, read, libc::EV_ADD as u32 | n, 0, ADDING));
            }
            _ => {}
        }
        let write = libc::EVFILT_WRITE as i32;
        let (old_w, new_w) = (c.old.contains(What::WRITE), c.new.contains(What::WRITE));
        let clear = if et { libc::EV_CLEAR as u32 } else { 0 };
        if old_w && !new_w {
            self.changes.push(kev(ident, write, libc::EV_DELETE as u32, 0, 0));
        } else if new_w && (!old_w || c.readd.contains(What::WRITE) || c.old.contains(What::ET) != et) {
            self.changes
                .push(kev(ident, write, libc::EV_ADD as u32 | clear, 0, ADDING));
        }
    }

    fn forked(&self) -> bool {
        self.generation != crate::fork_generation()
    }
}

impl evbase_core::Backend for Kqueue {
    fn method(&self) -> &'static Method {
        &KQUEUE
    }

    /// Not an open fd is refused here: its change would reach the kernel
    /// only at the next dispatch, where an `EV_ERROR` can only drop it.
    fn check_handle(&mut self, fd: u32) -> Result<(), Error> {
        if Some(fd as i32) == self.wake_fd() {
            return Err(Error::InvalidHandle(fd.into()));
        }
        crate::check_open(fd)
    }

    /// Unused: kqueue takes its changes in `dispatch`. Applied at once if
    /// called anyway (e.g. when re-registering after reinit).
    fn change(&mut self, change: &Change) -> Result<(), Error> {
        if self.forked() {
            return Ok(());
        }
        self.changes.clear();
        self.push_change(change);
        let r = sys::kevent(self.kq, &self.changes, &mut [], Some(Duration::ZERO));
        self.changes.clear();
        r.map(|_| ()).map_err(|code| match code {
            libc::EBADF | libc::ENOENT => Error::InvalidHandle(change.fd.into()),
            code => Error::Os { op: &"kevent", code },
        })
    }

    fn dispatch<K: Sink>(&mut self, changes: &[Change], timeout: Option<u64>, sink: &mut K) -> Result<(), Error> {
        let timeout = timeout.map(Duration::from_nanos);
        self.changes.clear();
        for c in changes.iter().filter(|c| !c.is_noop()) {
            if Some(c.fd as i32) != self.wake_fd() {
                self.push_change(c);
            }
        }
        // Room for one result per change, so that every failed change is
        // reported as an EV_ERROR entry instead of failing the call.
        let want = (self.changes.len() + 8).max(INITIAL_EVENTS);
        if self.events.len() < want {
            self.events.resize(want.next_power_of_two(), sys::kevent_zero());
        }
        let n = match sys::kevent(self.kq, &self.changes, &mut self.events, timeout) {
            Ok(n) => n,
            Err(libc::EINTR) => return Ok(()),
            Err(code) => return Err(Error::Os { op: &"kevent", code }),
        };
        self.changes.clear();
        let mut woken = false;
        for ev in &self.events[..n] {
            let flags = ev.flags as u32;
            let filter = ev.filter as i32;
            let ident = ev.ident as usize;
            let mut what = What::empty();
            if flags & libc::EV_ERROR as u32 != 0 {
                let code = ev.data as i32;
                match code {
                    // A delete of an fd closed (and maybe reused) meanwhile.
                    libc::ENOENT | libc::EINVAL | libc::EBADF => continue,
                    // An add on a pipe whose other end is closed: report it
                    // as readable so that the user finds out.
                    libc::EPERM | libc::EPIPE if ev.udata as usize == ADDING => what = What::READ,
                    libc::EPERM | libc::EPIPE => continue,
                    code => return Err(Error::Os { op: &"kevent", code }),
                }
            } else if filter == libc::EVFILT_USER as i32 {
                continue;
            } else if filter == libc::EVFILT_SIGNAL as i32 {
                sink.signal(ident as u32, u32::try_from(ev.data).unwrap_or(u32::MAX));
                continue;
            } else if Some(ident as i32) == self.wake_fd() {
                woken = true;
                continue;
            } else if filter == libc::EVFILT_READ as i32 {
                what = What::READ;
                // A CLOSED-only interest woken by data (no EOF) reports
                // READ, which no event on the fd asked for: nothing runs.
                if flags & libc::EV_EOF as u32 != 0 {
                    what |= What::CLOSED;
                }
            } else if filter == libc::EVFILT_WRITE as i32 {
                what = What::WRITE;
            }
            if !what.is_empty() {
                sink.io(ident as u32, what | What::ET);
            }
        }
        if woken && let Wake::Pipe(p) = &self.wake {
            p.drain();
        }
        if n == self.events.len() {
            self.events.resize(n * 2, sys::kevent_zero());
        }
        Ok(())
    }

    fn add_signal(&mut self, signal: u32) -> Result<(), Error> {
        if self.signals.contains(&signal) {
            return Ok(());
        }
        crate::signal::watch_signal(signal)?;
        let add = kev(signal as usize, libc::EVFILT_SIGNAL as i32, libc::EV_ADD as u32, 0, 0);
        if let Err(code) = sys::kevent(self.kq, &[add], &mut [], Some(Duration::ZERO)) {
            let _ = crate::signal::unwatch_signal(signal);
            return Err(if code == libc::EINVAL {
                Error::InvalidSignal(signal)
            } else {
                Error::Os { op: &"kevent", code }
            });
        }
        self.signals.push(signal);
        Ok(())
    }

    fn del_signal(&mut self, signal: u32) -> Result<(), Error> {
        let Some(i) = self.signals.iter().position(|&s| s == signal) else {
            return Ok(());
        };
        self.signals.swap_remove(i);
        let del = kev(
            signal as usize,
            libc::EVFILT_SIGNAL as i32,
            libc::EV_DELETE as u32,
            0,
            0,
        );
        let _ = sys::kevent(self.kq, &[del], &mut [], Some(Duration::ZERO));
        crate::signal::unwatch_signal(signal)
    }

    fn waker(&self) -> Option<Waker> {
        Some(match &self.wake {
            Wake::User(slot) => Waker {
                wake: wake_user,
                data: slot.index(),
            },
            Wake::Pipe(n) => n.waker(),
        })
    }

    fn forked(&self) -> bool {
        Kqueue::forked(self)
    }

    /// The new kqueue gets its wake-up and signals before anything old is
    /// closed: on failure it is closed again and the backend is as it was.
    fn reinit(&mut self) -> Result<(), Error> {
        let kq = sys::kqueue().map_err(os(&"kqueue"))?;
        let prepared = (|| -> Result<Option<crate::sys::FdPair>, Error> {
            let fresh = match &self.wake {
                Wake::User(_) => {
                    sys::kevent(kq, &[user_wake()], &mut [], Some(Duration::ZERO)).map_err(os(&"kevent"))?;
                    None
                }
                Wake::Pipe(_) => {
                    let fds = Notifier::new_fds()?;
                    let add = kev(fds.read() as usize, libc::EVFILT_READ as i32, libc::EV_ADD as u32, 0, 0);
                    sys::kevent(kq, &[add], &mut [], Some(Duration::ZERO)).map_err(os(&"kevent"))?;
                    Some(fds)
                }
            };
            // The watched signals go to the new kqueue at once (the handler
            // stays installed), so the core's re-adds are no-ops.
            for &sig in &self.signals {
                let add = kev(sig as usize, libc::EVFILT_SIGNAL as i32, libc::EV_ADD as u32, 0, 0);
                sys::kevent(kq, &[add], &mut [], Some(Duration::ZERO)).map_err(os(&"kevent"))?;
            }
            Ok(fresh)
        })();
        let fresh = match prepared {
            Ok(f) => f,
            Err(e) => {
                sys::close(kq);
                return Err(e);
            }
        };
        // The child did not inherit the old kqueue: its number may belong to
        // something else now, so it is not closed after a fork.
        if !self.forked() {
            sys::close(self.kq);
        }
        self.kq = kq;
        self.changes.clear();
        match (&mut self.wake, fresh) {
            (Wake::User(slot), _) => {
                slot.replace(kq);
            }
            (Wake::Pipe(n), Some(fds)) => n.reopen(fds),
            (Wake::Pipe(_), None) => {}
        }
        self.generation = crate::fork_generation();
        Ok(())
    }
}

impl Drop for Kqueue {
    fn drop(&mut self) {
        for sig in core::mem::take(&mut self.signals) {
            let _ = crate::signal::unwatch_signal(sig);
        }
        if let Wake::User(slot) = &self.wake {
            slot.replace(-1);
        }
        if !self.forked() {
            sys::close(self.kq);
        }
    }
}

/// Triggers the `EVFILT_USER` event of the kqueue in slot `data`.
/// Async-signal-safe.
fn wake_user(data: usize) {
    WakeSlot::with_fd(data, |kq| {
        let trigger = kev(0, libc::EVFILT_USER as i32, 0, libc::NOTE_TRIGGER as u32, 0);
        let _ = sys::kevent(kq, &[trigger], &mut [], Some(Duration::ZERO));
    });
}
