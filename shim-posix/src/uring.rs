//! The io_uring backend (Linux 5.13 and later, chosen only on request):
//! readiness through `IORING_OP_POLL_ADD`, with the interest changes of a
//! loop iteration submitted by the same `io_uring_enter` that waits, with
//! that wait's timeout (`IORING_ENTER_EXT_ARG`).
//!
//! Waits are rounded up to milliseconds as epoll's (a loop of many close
//! timers wakes once per millisecond, not once per timer) unless the base
//! has `PRECISE_TIMER`, which costs nothing more here: no timerfd, no other
//! call.
//!
//! Edge-triggered interest is a multishot poll, which reports each new
//! readiness once (and the readiness already there when it is armed).
//! Level-triggered interest is a one-shot poll, armed again at the next
//! dispatch after it fired: a handle still ready then completes at once and
//! is reported again, as epoll does. A change of interest cancels the fd's
//! poll (`IORING_OP_POLL_REMOVE`) and arms a new one. A poll's `user_data`
//! holds its fd and a sequence number, so that what a cancelled poll still
//! completes is told apart and dropped.
//!
//! A poll holds a reference to its file: a handle closed while its event is
//! still added stays open in the kernel until its poll fires or the event is
//! deleted (at the next dispatch, with the changelist). Delete events before
//! closing their handles, as libevent asks anyway.
//!
//! The notifier and the signal pipe are watched by multishot polls too.

use core::time::Duration;

use evbase_core::{Change, Error, Method, Sink, Waker, What};
use io_uring::{IoUring, cqueue, opcode, squeue, types};

use crate::clock::millis_up;
use crate::epoll::{interest, readiness};
use crate::internal::{Internal, Seen};
use crate::sys;

/// Submission queue entries; a longer batch of changes is submitted in
/// parts (one more `io_uring_enter` each 256 entries).
const ENTRIES: u32 = 256;
/// Completion queue entries: room for every armed poll of a large set to
/// fire at once (more are kept by the kernel and read at the next enter).
const CQ_ENTRIES: u32 = 4096;
/// Set in the `user_data` of the backend's own polls (notifier, signal pipe).
const INTERNAL: u64 = 1 << 63;
/// The `user_data` of a poll removal, whose own completion means nothing.
const REMOVAL: u64 = u64::MAX;

/// What is wanted of one fd and what is armed for it.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    /// The poll bits wanted; 0 for none.
    want: u32,
    /// Whether the interest is edge-triggered (a multishot poll).
    et: bool,
    /// Whether a poll with sequence number `seq` is armed.
    armed: bool,
    seq: u32,
    /// The armed poll no longer matches the interest: arm a new one.
    stale: bool,
    /// Listed in `Uring::dirty`.
    dirty: bool,
}

/// An open io_uring backend.
pub struct Uring {
    /// Boxed: the ring's bookkeeping is ten times the size of the other
    /// backends.
    ring: Box<IoUring>,
    /// By fd.
    slots: Vec<Slot>,
    /// The fds whose polls the next dispatch arms or cancels.
    dirty: Vec<u32>,
    internal: Internal,
    /// Waits to the nanosecond (`PRECISE_TIMER`), else to the millisecond.
    precise: bool,
}

impl core::fmt::Debug for Uring {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Uring")
            .field("ring_fd", &std::os::fd::AsRawFd::as_raw_fd(&*self.ring))
            .field("fds", &self.slots.len())
            .field("internal", &self.internal)
            .finish()
    }
}

fn user_data(fd: u32, seq: u32) -> u64 {
    (u64::from(seq & 0x7fff_ffff) << 32) | u64::from(fd)
}

fn poll(fd: i32, bits: u32, multishot: bool, data: u64) -> squeue::Entry {
    opcode::PollAdd::new(types::Fd(fd), bits)
        .multi(multishot)
        .build()
        .user_data(data)
}

/// Why the kernel refuses a ring, in words for the selection report.
pub(crate) fn refusal(code: sys::Errno) -> Error {
    match code {
        libc::ENOSYS => Error::Unsupported(&"io_uring_setup: ENOSYS, the kernel has no io_uring"),
        libc::EPERM => Error::Unsupported(
            &"io_uring_setup: EPERM, io_uring is forbidden (sysctl kernel.io_uring_disabled, or a seccomp filter)",
        ),
        code => Error::Os {
            op: &"io_uring_setup",
            code,
        },
    }
}

const TOO_OLD: Error = Error::Unsupported(
    &"io_uring lacks multishot poll or the enter's timeout argument (Linux 5.13 and later have both)",
);

/// A ring with the internal fds' polls queued; refused where the kernel
/// lacks what the backend needs.
fn new_ring(internal_fds: [Option<i32>; 2]) -> Result<Box<IoUring>, Error> {
    let mut ring = IoUring::builder()
        .setup_cqsize(CQ_ENTRIES)
        .build(ENTRIES)
        .map_err(|e| refusal(e.raw_os_error().unwrap_or(libc::EINVAL)))?;
    if !ring.params().is_feature_ext_arg() {
        return Err(TOO_OLD);
    }
    for fd in internal_fds.into_iter().flatten() {
        // The queue is empty: there is room.
        let _ = sys::uring_push(&mut ring, &poll(fd, libc::POLLIN as u32, true, INTERNAL | fd as u64));
    }
    // A kernel without multishot poll refuses it at once (EINVAL).
    ring.submit().map_err(|e| Error::Os {
        op: &"io_uring_enter",
        code: e.raw_os_error().unwrap_or(libc::EIO),
    })?;
    if ring.completion().any(|c| c.result() < 0) {
        return Err(TOO_OLD);
    }
    Ok(Box::new(ring))
}

impl Uring {
    /// Opens a ring; `precise` waits to the nanosecond; `refuse` answers
    /// as a kernel without io_uring does (for testing the fallback).
    pub(crate) fn open(precise: bool, refuse: bool) -> Result<Uring, Error> {
        if refuse {
            return Err(refusal(libc::ENOSYS));
        }
        let internal = Internal::open()?;
        let ring = new_ring(internal.fds())?;
        Ok(Uring {
            ring,
            slots: Vec::new(),
            dirty: Vec::new(),
            internal,
            precise,
        })
    }

    /// Queues `entry`, submitting the full queue first if need be (an
    /// `EBUSY` there, the completion queue full beyond what the kernel
    /// keeps, fails rather than spins).
    fn push(&mut self, entry: &squeue::Entry) -> Result<(), Error> {
        while !sys::uring_push(&mut self.ring, entry) {
            if let Err(e) = self.ring.submit() {
                let code = e.raw_os_error().unwrap_or(libc::EIO);
                if code != libc::EINTR {
                    return Err(Error::Os {
                        op: &"io_uring_enter",
                        code,
                    });
                }
            }
        }
        Ok(())
    }

    /// Records one change of interest, to be armed at the next dispatch.
    fn note(&mut self, c: &Change) -> Result<(), Error> {
        if c.fd > i32::MAX as u32 || self.internal.is_internal(c.fd as i32) {
            return Err(Error::InvalidHandle(c.fd.into()));
        }
        if self.internal.forked() {
            // The ring is the parent's: touch nothing until reinit.
            return Ok(());
        }
        let i = c.fd as usize;
        if i >= self.slots.len() {
            self.slots.resize(i + 1, Slot::default());
        }
        let slot = &mut self.slots[i];
        slot.want = interest(c.new);
        slot.et = c.new.contains(What::ET);
        // As epoll's EPOLL_CTL_MOD: any change re-arms, so that a re-added
        // edge-triggered event sees the readiness already there.
        slot.stale = true;
        if !slot.dirty {
            slot.dirty = true;
            self.dirty.push(c.fd);
        }
        Ok(())
    }

    /// Queues the polls to cancel and arm for the dirty fds.
    fn sync(&mut self) -> Result<(), Error> {
        let mut dirty = core::mem::take(&mut self.dirty);
        let mut result = Ok(());
        for fd in dirty.drain(..) {
            let slot = self.slots[fd as usize];
            let mut next = Slot {
                dirty: false,
                stale: false,
                ..slot
            };
            if slot.armed && (slot.stale || slot.want == 0) {
                let remove = opcode::PollRemove::new(user_data(fd, slot.seq))
                    .build()
                    .user_data(REMOVAL);
                result = result.and(self.push(&remove));
                next.armed = false;
            }
            if !next.armed && slot.want != 0 {
                next.seq = slot.seq.wrapping_add(1);
                result = result.and(self.push(&poll(fd as i32, slot.want, slot.et, user_data(fd, next.seq))));
                next.armed = true;
            }
            self.slots[fd as usize] = next;
        }
        self.dirty = dirty;
        result
    }

    /// Submits what is queued and waits up to `timeout` nanoseconds
    /// (`None`: until a completion) in one `io_uring_enter`. The one
    /// conversion of the loop's timeout for this backend.
    fn enter(&mut self, timeout: Option<u64>) -> Result<(), sys::Errno> {
        let submitter = self.ring.submitter();
        let r = match timeout {
            Some(0) => submitter.submit(),
            None => submitter.submit_and_wait(1),
            Some(ns) => {
                let d = if self.precise {
                    Duration::from_nanos(ns)
                } else {
                    Duration::from_millis(millis_up(ns, u64::MAX))
                };
                let ts = types::Timespec::from(d);
                submitter.submit_with_args(1, &types::SubmitArgs::new().timespec(&ts))
            }
        };
        match r.map_err(|e| e.raw_os_error().unwrap_or(libc::EIO)) {
            // Timed out, interrupted, or completions to read first.
            Err(libc::ETIME | libc::EINTR | libc::EBUSY | libc::EAGAIN) | Ok(_) => Ok(()),
            Err(code) => Err(code),
        }
    }

    /// Reports the completions; the internal polls that ended are armed
    /// again.
    fn complete<K: Sink>(&mut self, sink: &mut K) -> Result<(), Error> {
        let mut seen = Seen::default();
        let mut rearm: [Option<i32>; 2] = [None, None];
        for cqe in self.ring.completion() {
            let (data, res, more) = (cqe.user_data(), cqe.result(), cqueue::more(cqe.flags()));
            if data == REMOVAL {
                continue;
            }
            if data & INTERNAL != 0 {
                let fd = data as i32;
                if self.internal.note(fd, &mut seen) && !more {
                    let free = rearm.iter_mut().find(|r| r.is_none_or(|r| r == fd));
                    if let Some(r) = free {
                        *r = Some(fd);
                    }
                }
                continue;
            }
            let (fd, seq) = (data as u32, (data >> 32) as u32);
            let Some(slot) = self.slots.get_mut(fd as usize) else {
                continue;
            };
            if !slot.armed || slot.seq & 0x7fff_ffff != seq {
                continue; // A cancelled poll.
            }
            if !more {
                slot.armed = false;
                // A failed poll (the fd was closed: EBADF) is not armed again.
                if res >= 0 && slot.want != 0 && !slot.dirty {
                    slot.dirty = true;
                    self.dirty.push(fd);
                }
            }
            if res > 0 {
                sink.io(fd, readiness(res as u32));
            }
        }
        self.internal.finish(seen, sink);
        for fd in rearm.into_iter().flatten() {
            self.push(&poll(fd, libc::POLLIN as u32, true, INTERNAL | fd as u64))?;
        }
        Ok(())
    }
}

impl evbase_core::Backend for Uring {
    fn method(&self) -> &'static Method {
        &crate::IO_URING
    }

    /// Not an open fd is refused here: its poll would fail only at the next
    /// dispatch, where the failure can only be dropped.
    fn check_handle(&mut self, fd: u32) -> Result<(), Error> {
        if fd > i32::MAX as u32 || self.internal.is_internal(fd as i32) {
            return Err(Error::InvalidHandle(fd.into()));
        }
        crate::check_open(fd)
    }

    /// Recorded for the next dispatch (the core calls this when it
    /// registers everything again after reinit).
    fn change(&mut self, change: &Change) -> Result<(), Error> {
        self.note(change)
    }

    fn dispatch<K: Sink>(&mut self, changes: &[Change], timeout: Option<u64>, sink: &mut K) -> Result<(), Error> {
        for c in changes.iter().filter(|c| !c.is_noop()) {
            // As epoll's changelist: a change that cannot apply is dropped.
            let _ = self.note(c);
        }
        self.sync()?;
        self.enter(timeout).map_err(|code| Error::Os {
            op: &"io_uring_enter",
            code,
        })?;
        self.complete(sink)
    }

    /// A signal that is refused leaves nothing behind: the signal pipe, if
    /// opened for it, is closed again before its poll is queued.
    fn add_signal(&mut self, signal: u32) -> Result<(), Error> {
        crate::signal::check(signal)?;
        let opened = self.internal.open_signals()?;
        if let Err(e) = self.internal.add_signal(signal) {
            if opened.is_some() {
                self.internal.close_signals();
            }
            return Err(e);
        }
        if let Some(fd) = opened
            && let Err(e) = self.push(&poll(fd, libc::POLLIN as u32, true, INTERNAL | fd as u64))
        {
            let _ = self.internal.del_signal(signal);
            self.internal.close_signals();
            return Err(e);
        }
        Ok(())
    }

    fn del_signal(&mut self, signal: u32) -> Result<(), Error> {
        self.internal.del_signal(signal)
    }

    fn waker(&self) -> Option<Waker> {
        Some(self.internal.waker())
    }

    fn forked(&self) -> bool {
        self.internal.forked()
    }

    /// A new ring with the new notifier and signal pipe watched is made
    /// before anything old is closed: on failure the backend is as it was.
    /// The old ring is shared with the parent: dropping it unmaps and
    /// closes this process's copy only.
    fn reinit(&mut self) -> Result<(), Error> {
        let fresh = self.internal.prepare_reopen()?;
        self.ring = new_ring(fresh.fds())?;
        self.internal.reopen(fresh);
        self.slots.clear();
        self.dirty.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_data_keeps_fd_and_sequence_apart_from_the_internal_tags() {
        let d = user_data(7, 0xffff_ffff);
        assert_eq!((d as u32, (d >> 32) as u32), (7, 0x7fff_ffff));
        assert_eq!(d & INTERNAL, 0);
        assert_ne!(d, REMOVAL);
    }

    #[test]
    fn refusals_say_why() {
        for (code, words) in [(libc::ENOSYS, "no io_uring"), (libc::EPERM, "io_uring_disabled")] {
            match refusal(code) {
                Error::Unsupported(what) => assert!(what.contains(words), "{what}"),
                e => panic!("{e:?}"),
            }
        }
        assert_eq!(
            refusal(libc::ENOMEM),
            Error::Os {
                op: &"io_uring_setup",
                code: libc::ENOMEM
            }
        );
    }

    /// A level-triggered read is reported at every dispatch while the data
    /// is there, an edge-triggered one once. Miri does not emulate
    /// io_uring_setup, and qemu-user answers ENOSYS: then it says so.
    #[test]
    #[cfg(not(miri))]
    fn level_reports_again_edge_once() {
        use evbase_core::Backend;
        struct Seen(Vec<(u32, What)>);
        impl Sink for Seen {
            fn io(&mut self, fd: u32, what: What) {
                self.0.push((fd, what));
            }
            fn signal(&mut self, _: u32, _: u32) {}
        }
        let mut b = match Uring::open(false, false) {
            Ok(b) => b,
            Err(e) => {
                println!("skipped: io_uring refused here: {e}");
                return;
            }
        };
        let (a, r) = crate::socketpair().unwrap();
        let (a, r) = (std::os::fd::AsRawFd::as_raw_fd(&a), std::os::fd::AsRawFd::as_raw_fd(&r));
        assert_eq!(sys::write(a, b"x"), Ok(1));
        let add = |fd: i32, new: What| Change {
            fd: fd as u32,
            old: What::empty(),
            new,
            readd: What::empty(),
        };
        for (interest, times) in [(What::READ, 4), (What::READ | What::ET, 1)] {
            let mut b2 = Uring::open(false, false).unwrap();
            let mut seen = Seen(Vec::new());
            b2.dispatch(&[add(r, interest)], Some(0), &mut seen).unwrap();
            for _ in 0..3 {
                b2.dispatch(&[], Some(1_000_000), &mut seen).unwrap();
            }
            assert_eq!(seen.0.len(), times, "{interest:?}: {:?}", seen.0);
            assert!(seen.0.iter().all(|&(fd, w)| fd == r as u32 && w.contains(What::READ)));
        }
        assert!(b.check_handle(r as u32).is_ok());
        assert!(b.check_handle(i32::MAX as u32).is_err());
    }
}
