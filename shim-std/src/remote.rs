//! [`Remote`]: reaching a base from other threads.

use std::sync::Arc;
use std::time::{Duration, Instant as StdInstant};

use evbase_core::{EventId, What};

use crate::Result;
use crate::platform::Shared;

/// A handle other threads use to reach one base: activate, add or delete
/// its events, break or exit its loop. `Send + Sync + Clone`; get one with
/// [`EventBase::remote`](crate::EventBase::remote).
///
/// Each call records the operation and wakes the loop at once (the
/// backend's wake-up: an eventfd, a pipe, `EVFILT_USER`, a posted
/// completion...). The loop applies what was sent after each wait and after
/// each callback, in the order it was sent, and before the first callback
/// of each run: an operation sent while no loop runs is applied when the
/// next one starts. A base made with
/// [`BaseFlags::NOLOCK`](evbase_core::BaseFlags::NOLOCK) is not woken:
/// operations wait for the loop to wake by itself.
///
/// **Never refused for want of room.** `loop_break` and `loop_exit` are
/// requests (state), not queue entries; activations of one event coalesce
/// into one callback with the OR of their `what`s, as libevent's
/// `event_active` does, so a flood of them takes no room per call; adds
/// and deletes queue in memory that grows. What a call can still return is
/// [`Error::Closed`](evbase_core::Error::Closed) once the base is dropped
/// (and `wait`/`del_wait` then return at once), or
/// [`Error::StaleEvent`](evbase_core::Error::StaleEvent) for an id of
/// another base. Errors an operation meets on the loop (an event freed
/// since) cannot reach the sender: the operation is dropped.
///
/// ```
/// use std::time::Duration;
/// use evbase_std::{EventBase, Exit, LoopFlags, Source, What};
///
/// # fn main() -> evbase_std::Result<()> {
/// let mut base = EventBase::new()?;
/// let remote = base.remote();
/// let ev = base.new_event(Source::None, What::empty(), |base, _, what| {
///     assert!(what.contains(What::READ));
///     base.loop_break();
/// })?;
/// let t = std::thread::spawn(move || {
///     std::thread::sleep(Duration::from_millis(10));
///     remote.activate(ev, What::READ).unwrap();
/// });
/// // Nothing is pending: without NO_EXIT_ON_EMPTY the loop would return at once.
/// assert_eq!(base.run(LoopFlags::NO_EXIT_ON_EMPTY)?, Exit::Done);
/// t.join().unwrap();
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Remote {
    shared: Arc<Shared>,
}

impl core::fmt::Debug for Remote {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Remote")
            .field("processed", &self.shared.queue.processed())
            .field("looping", &self.shared.looping())
            .field("closed", &self.shared.queue.is_closed())
            .finish()
    }
}

/// The number of an operation sent through a [`Remote`], to ask whether the
/// loop has applied it ([`Remote::is_processed`], [`Remote::wait`]).
/// Example: [`Remote::wait`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ticket(u32);

impl Remote {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Remote { shared }
    }

    /// Activates `id` with `what` (libevent's `event_active` from another
    /// thread). Activations sent before the loop applies them run the
    /// callback once, with the OR of their `what`s. Example: [`Remote`].
    ///
    /// # Errors
    /// [`Error::Closed`](evbase_core::Error::Closed) once the base is
    /// dropped; [`Error::StaleEvent`](evbase_core::Error::StaleEvent) for an
    /// id of another base.
    pub fn activate(&self, id: EventId, what: What) -> Result<Ticket> {
        Ok(Ticket(self.shared.queue.activate(id, what)?))
    }

    /// Adds `id` with `timeout`, measured from when the loop applies it
    /// (libevent's `event_add` from another thread). Example: [`Remote::wait`].
    ///
    /// # Errors
    /// As [`activate`](Self::activate).
    pub fn add(&self, id: EventId, timeout: Option<Duration>) -> Result<Ticket> {
        Ok(Ticket(self.shared.queue.add(id, timeout)?))
    }

    /// Deletes `id` without waiting (libevent's `event_del_noblock`): the
    /// event's callback may be running on the loop thread now, and may even
    /// start once more before the loop applies the deletion. Use
    /// [`del_wait`](Self::del_wait) to be sure it has stopped.
    /// Example: [`Remote::loop_exit`].
    ///
    /// # Errors
    /// As [`activate`](Self::activate).
    pub fn del(&self, id: EventId) -> Result<Ticket> {
        Ok(Ticket(self.shared.queue.del(id)?))
    }

    /// Deletes `id` and waits until the loop has applied the deletion and
    /// the event's callback is not running (libevent's `event_del`, which
    /// blocks while the callback runs in the loop thread). When it returns,
    /// the callback is not running and will not start again unless the
    /// event is added again, so state the callback uses may be torn down.
    ///
    /// It does not wait when it cannot: on the loop's own thread (from a
    /// callback, waiting would deadlock; the deletion is applied as soon as
    /// the current callback returns, before any other callback runs), and
    /// while no loop runs (the deletion is applied when the next run starts,
    /// before any callback). "A loop runs" means
    /// [`EventBase::dispatch`](crate::EventBase::dispatch) or
    /// [`EventBase::run`](crate::EventBase::run) is executing.
    ///
    /// It returns as soon as the base is dropped: its callbacks cannot run
    /// any more.
    ///
    /// As with libevent, a callback that waits for the thread calling
    /// `del_wait` deadlocks both.
    ///
    /// # Errors
    /// [`Error::Closed`](evbase_core::Error::Closed), at once, when the base
    /// was dropped before the call; as [`activate`](Self::activate).
    ///
    /// ```
    /// use std::time::Duration;
    /// use evbase_std::prelude::*;
    ///
    /// let mut base = EventBase::new()?;
    /// let remote = base.remote();
    /// let tick = base.interval(Duration::from_millis(1), |_, _, _| {})?;
    /// let t = std::thread::spawn(move || -> evbase_std::Result<()> {
    ///     std::thread::sleep(Duration::from_millis(5));
    ///     remote.del_wait(tick)?; // the callback is not running and will not start again
    ///     Ok(())
    /// });
    /// assert_eq!(base.dispatch()?, Exit::NoEvents); // the interval was its only event
    /// t.join().unwrap()?;
    /// # Ok::<(), evbase_std::Error>(())
    /// ```
    pub fn del_wait(&self, id: EventId) -> Result<()> {
        let ticket = self.del(id)?;
        if self.shared.on_loop_thread() {
            return Ok(());
        }
        let shared = &*self.shared;
        shared.wait_until(None, || {
            !shared.looping()
                || shared.queue.is_closed()
                || (shared.queue.is_processed(ticket.0) && shared.queue.running() != Some(id.index()))
        });
        Ok(())
    }

    /// Makes the loop return after the current callback (libevent's
    /// `event_base_loopbreak`). Sent while no loop runs, it makes the next
    /// run return at once (libevent#1292 loses it). A request, not a queue
    /// entry: never refused for want of room.
    ///
    /// # Errors
    /// [`Error::Closed`](evbase_core::Error::Closed) once the base is dropped.
    ///
    /// ```
    /// use std::time::Duration;
    /// use evbase_std::prelude::*;
    ///
    /// let mut base = EventBase::new()?;
    /// base.interval(Duration::from_millis(1), |_, _, _| {})?;
    /// base.remote().loop_break()?; // before the loop starts: kept
    /// assert_eq!(base.dispatch()?, Exit::Done);
    /// assert!(base.got_break());
    /// # Ok::<(), evbase_std::Error>(())
    /// ```
    pub fn loop_break(&self) -> Result<Ticket> {
        Ok(Ticket(self.shared.queue.loop_break()?))
    }

    /// Makes the loop return once the callbacks active now have run
    /// (libevent's `event_base_loopexit(base, NULL)`). A request, not a
    /// queue entry: never refused for want of room.
    ///
    /// # Errors
    /// [`Error::Closed`](evbase_core::Error::Closed) once the base is dropped.
    ///
    /// ```
    /// use std::time::Duration;
    /// use evbase_std::prelude::*;
    ///
    /// let mut base = EventBase::new()?;
    /// let remote = base.remote();
    /// let tick = base.interval(Duration::from_millis(1), |_, _, _| {})?;
    /// let t = std::thread::spawn(move || -> evbase_std::Result<()> {
    ///     remote.del(tick)?; // without waiting for a running callback
    ///     remote.loop_exit()?;
    ///     Ok(())
    /// });
    /// base.dispatch()?;
    /// t.join().unwrap()?;
    /// assert!(base.pending(tick, What::TIMEOUT)?.what.is_empty());
    /// # Ok::<(), evbase_std::Error>(())
    /// ```
    pub fn loop_exit(&self) -> Result<Ticket> {
        Ok(Ticket(self.shared.queue.loop_exit()?))
    }

    /// Whether the loop has applied the operation of `ticket`.
    /// Example: [`Remote::wait`].
    pub fn is_processed(&self, ticket: Ticket) -> bool {
        self.shared.queue.is_processed(ticket.0)
    }

    /// Waits up to `timeout` for the loop to apply the operation of
    /// `ticket`; returns whether it did. It does not wait on the loop's own
    /// thread (the loop cannot progress while its thread waits), nor once
    /// the base is dropped (nothing will apply it: `false`, unless it was
    /// applied before).
    ///
    /// ```
    /// use std::time::Duration;
    /// use evbase_std::prelude::*;
    ///
    /// let mut base = EventBase::new()?;
    /// let remote = base.remote();
    /// let ev = base.timer(|base, _, _| base.loop_break())?;
    /// assert!(remote.is_loop_thread() && !remote.is_looping());
    /// let t = std::thread::spawn(move || -> evbase_std::Result<()> {
    ///     assert!(!remote.is_loop_thread());
    ///     let ticket = remote.add(ev, Some(Duration::from_millis(1)))?;
    ///     assert!(remote.wait(ticket, Duration::from_secs(60)));
    ///     assert!(remote.is_processed(ticket));
    ///     Ok(())
    /// });
    /// base.run(LoopFlags::NO_EXIT_ON_EMPTY)?; // until the timer breaks it
    /// t.join().unwrap()?;
    /// # Ok::<(), evbase_std::Error>(())
    /// ```
    pub fn wait(&self, ticket: Ticket, timeout: Duration) -> bool {
        if self.shared.on_loop_thread() {
            return self.is_processed(ticket);
        }
        let deadline = StdInstant::now().checked_add(timeout);
        let queue = &self.shared.queue;
        self.shared
            .wait_until(deadline, || queue.is_processed(ticket.0) || queue.is_closed());
        self.is_processed(ticket)
    }

    /// Whether the base is gone (dropped): every operation is then
    /// [`Error::Closed`](evbase_core::Error::Closed).
    ///
    /// ```
    /// use evbase_std::{EventBase, What, evbase_core};
    ///
    /// let mut base = EventBase::new()?;
    /// let ev = base.new_event(evbase_std::Source::None, What::empty(), |_, _, _| {})?;
    /// let remote = base.remote();
    /// drop(base);
    /// assert!(remote.is_closed());
    /// let err = remote.activate(ev, What::READ).unwrap_err();
    /// assert!(matches!(err.core(), Some(evbase_core::Error::Closed)));
    /// # Ok::<(), evbase_std::Error>(())
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.queue.is_closed()
    }

    /// Whether the base's loop is running now. Example: [`Remote::wait`].
    pub fn is_looping(&self) -> bool {
        self.shared.looping()
    }

    /// Whether the caller is the thread that owns the base (and runs its loop).
    /// Example: [`Remote::wait`].
    pub fn is_loop_thread(&self) -> bool {
        self.shared.on_loop_thread()
    }
}
