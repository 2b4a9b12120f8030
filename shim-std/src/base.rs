//! [`EventBase`]: the core's base on the OS platform, with closures.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use evbase_core::{
    Callback, Config, Error as CoreError, EventId, Exit, Growable, LoopFlags, Method, Phase, Platform, SelectionReport,
    Source, WatchCallback, WatchId, What,
};

use crate::platform::{OsPlatform, Shared, SysPlatform};
use crate::{AsSource, Error, Remote, Result};

/// The core's base on this OS: what callbacks receive, and what
/// [`EventBase`] dereferences to. Every verb of libevent's `event_base` is a
/// method of it (see [`evbase_core::EventBase`]); the closure-taking helpers
/// are in [`BaseExt`].
///
/// ```
/// use evbase_std::{CoreBase, Count, EventBase};
///
/// // Code that takes a `&mut CoreBase` serves callbacks and `EventBase`s alike.
/// fn added(base: &CoreBase) -> usize {
///     base.num_events(Count::ADDED)
/// }
/// let base = EventBase::new()?;
/// assert_eq!(added(&base), 0);
/// # Ok::<(), evbase_std::Error>(())
/// ```
pub type CoreBase = evbase_core::EventBase<OsPlatform, Growable>;

/// One event loop on the OS's fastest backend, with closures as callbacks.
///
/// It dereferences to [`CoreBase`], so the whole core API is here:
/// [`add`](evbase_core::EventBase::add), [`del`](evbase_core::EventBase::del),
/// [`active`](evbase_core::EventBase::active),
/// [`pending`](evbase_core::EventBase::pending), priorities
/// ([`priority_init`](evbase_core::EventBase::priority_init),
/// [`set_priority`](evbase_core::EventBase::set_priority)), common timeouts
/// ([`init_common_timeout`](evbase_core::EventBase::init_common_timeout),
/// [`add_common`](evbase_core::EventBase::add_common)),
/// [`loop_exit`](evbase_core::EventBase::loop_exit),
/// [`loop_break`](evbase_core::EventBase::loop_break),
/// [`reinit`](evbase_core::EventBase::reinit),
/// [`method`](evbase_core::EventBase::method),
/// [`features`](evbase_core::EventBase::features), counters and
/// [`dump_events`](evbase_core::EventBase::dump_events). What it adds:
/// constructors for this OS, closure-taking [`new_event`](Self::new_event),
/// [`once`](Self::once) and finalizers, a [`Remote`] for other threads, and
/// loop methods that let [`Remote::del_wait`] know whether a loop runs.
///
/// A base is not `Send`: it lives on the thread that made it, which runs its
/// loop. Other threads use [`remote`](Self::remote).
///
/// ```
/// use std::time::Duration;
/// use evbase_std::{EventBase, Exit, Source, What};
///
/// # fn main() -> evbase_std::Result<()> {
/// let mut base = EventBase::new()?;
/// let mut fired = 0;
/// let ev = base.new_event(Source::None, What::PERSIST, move |base, id, what| {
///     assert_eq!(what, What::TIMEOUT);
///     fired += 1;
///     if fired == 3 {
///         base.del(id).unwrap();
///     }
/// })?;
/// base.add(ev, Some(Duration::from_millis(5)))?;
/// assert_eq!(base.dispatch()?, Exit::NoEvents); // nothing left pending
/// # Ok(())
/// # }
/// ```
pub struct EventBase {
    inner: CoreBase,
}

impl core::fmt::Debug for EventBase {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EventBase")
            .field("method", &self.inner.method().name)
            .finish_non_exhaustive()
    }
}

impl EventBase {
    /// A base with the default config on the first method of this OS that
    /// opens (libevent's `event_base_new`), honouring `EVENT_NO<METHOD>`,
    /// `EVENT_SHOW_METHOD`, `EVENT_PRECISE_TIMER`,
    /// `EVENT_EPOLL_USE_CHANGELIST` and `EVENT_IO_URING` (io_uring on Linux,
    /// epoll where the kernel refuses it).
    ///
    /// # Errors
    /// [`Error::NoBackend`](evbase_core::Error::NoBackend) when no method opens.
    ///
    /// ```
    /// let base = evbase_std::EventBase::new()?;
    /// println!("using {}", base.method().name); // epoll, kqueue, poll, select, win32 or iocp
    /// # Ok::<(), evbase_std::Error>(())
    /// ```
    pub fn new() -> Result<Self> {
        Self::with_config(&Config::default())
    }

    /// A base with `config` (libevent's `event_base_new_with_config`):
    /// methods to avoid, features to require, flags, dispatch limits.
    ///
    /// # Errors
    /// [`Error::NoBackend`](evbase_core::Error::NoBackend); the error's
    /// [`selection_report`](crate::Error::selection_report) says for each
    /// method why it was not chosen.
    ///
    /// ```
    /// use evbase_std::{BaseFlags, Config, EventBase};
    ///
    /// let mut config = Config::default();
    /// config.avoid_method("select")?.set_flag(BaseFlags::PRECISE_TIMER);
    /// let base = EventBase::with_config(&config)?;
    /// assert_ne!(base.method().name, "select");
    ///
    /// // Avoid every method: the error says why each one was refused.
    /// let mut none = Config::default();
    /// for method in EventBase::supported_methods() {
    ///     none.avoid_method(method.name)?;
    /// }
    /// let err = EventBase::with_config(&none).unwrap_err();
    /// println!("{err}");
    /// # Ok::<(), evbase_std::Error>(())
    /// ```
    pub fn with_config(config: &Config) -> Result<Self> {
        Self::with_platform(OsPlatform::new(), config)
    }

    /// A base with `config` on a platform set up by hand.
    /// Example: [`OsPlatform`].
    ///
    /// # Errors
    /// As [`with_config`](Self::with_config).
    pub fn with_platform(platform: OsPlatform, config: &Config) -> Result<Self> {
        let mut report = SelectionReport::new();
        match CoreBase::with_config_report(platform, config, &mut report) {
            Ok(inner) => Ok(EventBase { inner }),
            Err(CoreError::NoBackend) => Err(Error::no_backend(report)),
            Err(e) => Err(e.into()),
        }
    }

    /// The methods this OS has, most preferred first (libevent's
    /// `event_get_supported_methods`); a base takes the first one its
    /// config and the environment allow.
    ///
    /// ```
    /// for method in evbase_std::EventBase::supported_methods() {
    ///     println!("{}: {:?}", method.name, method.features);
    /// }
    /// ```
    pub fn supported_methods() -> &'static [Method] {
        supported_methods()
    }

    /// A handle for other threads: activate, add, del (waiting or not),
    /// break, exit. Example: [`Remote`].
    pub fn remote(&self) -> Remote {
        Remote::new(Arc::clone(self.shared()))
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.inner.platform().shared
    }

    /// Runs the loop until no event is pending or active, or until
    /// `loop_exit`/`loop_break` (libevent's `event_base_dispatch`).
    /// Example: [`EventBase`].
    ///
    /// # Errors
    /// [`Error::Forked`](evbase_core::Error::Forked) in a forked child before
    /// [`reinit`](evbase_core::EventBase::reinit); the backend's error when
    /// its wait fails.
    pub fn dispatch(&mut self) -> Result<Exit> {
        self.run(LoopFlags::empty())
    }

    /// Runs the loop with `flags` (libevent's `event_base_loop`): `ONCE`,
    /// `NONBLOCK`, `NO_EXIT_ON_EMPTY`.
    ///
    /// # Errors
    /// As [`dispatch`](Self::dispatch).
    ///
    /// ```
    /// use std::time::Duration;
    /// use evbase_std::{BaseExt, EventBase, Exit, LoopFlags, What};
    ///
    /// let mut base = EventBase::new()?;
    /// let ev = base.timer(|_, _, _| unreachable!("not within a minute"))?;
    /// base.add(ev, Some(Duration::from_secs(60)))?;
    /// // NONBLOCK: run what is ready now, without waiting for the timer.
    /// assert_eq!(base.run(LoopFlags::NONBLOCK)?, Exit::Done);
    /// assert_eq!(base.pending(ev, What::TIMEOUT)?.what, What::TIMEOUT);
    /// # Ok::<(), evbase_std::Error>(())
    /// ```
    pub fn run(&mut self, flags: LoopFlags) -> Result<Exit> {
        struct Looping(Arc<Shared>);
        impl Drop for Looping {
            fn drop(&mut self) {
                self.0.set_looping(false);
            }
        }
        let looping = Looping(Arc::clone(self.shared()));
        looping.0.set_looping(true);
        let exit = self.inner.run(flags);
        drop(looping);
        Ok(exit?)
    }

    /// Makes an event whose callback is a closure (libevent's `event_new`);
    /// see [`evbase_core::EventBase::new_event`] for the rules on `what`.
    /// The closure gets the base, the event's id and what happened.
    /// Example: [`EventBase`].
    ///
    /// # Errors
    /// [`Error::InvalidFlags`](evbase_core::Error::InvalidFlags) for flags
    /// that do not go together.
    pub fn new_event(
        &mut self,
        source: Source,
        what: What,
        callback: impl FnMut(&mut CoreBase, EventId, What) + 'static,
    ) -> Result<EventId> {
        Ok(self.inner.new_event(source, what, Callback::new(callback))?)
    }

    /// Runs `callback` once when `source` is ready for `what` or `timeout`
    /// passes (libevent's `event_base_once`); `What::TIMEOUT` alone with no
    /// timeout runs it on the next loop iteration.
    ///
    /// # Errors
    /// As [`evbase_core::EventBase::once`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use evbase_std::{EventBase, Exit, Source, What};
    ///
    /// let mut base = EventBase::new()?;
    /// base.once(Source::None, What::TIMEOUT, Some(Duration::from_millis(1)), |_, _, what| {
    ///     assert_eq!(what, What::TIMEOUT);
    /// })?;
    /// assert_eq!(base.dispatch()?, Exit::NoEvents); // the event has freed itself
    /// # Ok::<(), evbase_std::Error>(())
    /// ```
    pub fn once(
        &mut self,
        source: Source,
        what: What,
        timeout: Option<Duration>,
        callback: impl FnOnce(&mut CoreBase, EventId, What) + 'static,
    ) -> Result<EventId> {
        Ok(self.inner.once(source, what, timeout, once_callback(callback))?)
    }

    /// Deletes `id` without waiting and runs `finalizer` from the loop
    /// (libevent's `event_finalize`); the event is inert afterwards.
    ///
    /// # Errors
    /// As [`evbase_core::EventBase::finalize`].
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc, time::Duration};
    /// use evbase_std::{BaseExt, EventBase, What};
    ///
    /// let mut base = EventBase::new()?;
    /// let ev = base.interval(Duration::from_secs(60), |_, _, _| {})?;
    /// let done = Rc::new(Cell::new(false));
    /// let flag = Rc::clone(&done);
    /// base.finalize(ev, move |_, _| flag.set(true))?;
    /// base.dispatch()?; // runs the finalizer; the deleted timer no longer holds the loop
    /// assert!(done.get());
    /// assert!(base.pending(ev, What::TIMEOUT)?.what.is_empty());
    /// # Ok::<(), evbase_std::Error>(())
    /// ```
    pub fn finalize(&mut self, id: EventId, finalizer: impl FnOnce(&mut CoreBase, EventId) + 'static) -> Result<()> {
        Ok(self.inner.finalize(id, finalizer_callback(finalizer))?)
    }

    /// Like [`finalize`](Self::finalize), and the event is freed after its
    /// finalizer ran (libevent's `event_free_finalize`).
    ///
    /// # Errors
    /// As [`evbase_core::EventBase::free_finalize`].
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc, time::Duration};
    /// use evbase_std::{BaseExt, EventBase, What};
    ///
    /// let mut base = EventBase::new()?;
    /// let ev = base.interval(Duration::from_secs(60), |_, _, _| {})?;
    /// let done = Rc::new(Cell::new(false));
    /// let flag = Rc::clone(&done);
    /// base.free_finalize(ev, move |_, _| flag.set(true))?;
    /// base.dispatch()?;
    /// assert!(done.get());
    /// assert!(base.pending(ev, What::TIMEOUT).is_err()); // freed: the id is stale
    /// # Ok::<(), evbase_std::Error>(())
    /// ```
    pub fn free_finalize(
        &mut self,
        id: EventId,
        finalizer: impl FnOnce(&mut CoreBase, EventId) + 'static,
    ) -> Result<()> {
        Ok(self.inner.free_finalize(id, finalizer_callback(finalizer))?)
    }

    /// The core's base.
    ///
    /// ```
    /// use std::time::Duration;
    /// use evbase_std::{BaseExt, Count, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let ev = base.timer(|_, _, _| {})?;
    /// base.core_mut().add(ev, Some(Duration::from_secs(60)))?;
    /// assert_eq!(base.core().num_events(Count::ADDED), 1);
    /// let core = base.into_core(); // an `evbase_core::EventBase`
    /// assert_eq!(core.num_events(Count::ADDED), 1);
    /// # Ok::<(), evbase_std::Error>(())
    /// ```
    pub fn core(&self) -> &CoreBase {
        &self.inner
    }

    /// The core's base, mutably. Its own `run`/`dispatch` work too, but
    /// while they run, [`Remote::del_wait`] does not know a loop runs and
    /// returns without waiting. Example: [`core`](Self::core).
    pub fn core_mut(&mut self) -> &mut CoreBase {
        &mut self.inner
    }

    /// Unwraps the core's base. Example: [`core`](Self::core).
    pub fn into_core(self) -> CoreBase {
        self.inner
    }
}

impl Deref for EventBase {
    type Target = CoreBase;

    fn deref(&self) -> &CoreBase {
        &self.inner
    }
}

impl DerefMut for EventBase {
    fn deref_mut(&mut self) -> &mut CoreBase {
        &mut self.inner
    }
}

/// The methods this OS has, most preferred first (libevent's
/// `event_get_supported_methods`).
///
/// ```
/// let names: Vec<&str> = evbase_std::supported_methods().iter().map(|m| m.name).collect();
/// assert!(names.contains(&"select") || names.contains(&"win32"));
/// ```
pub fn supported_methods() -> &'static [Method] {
    SysPlatform::new().methods()
}

fn once_callback(f: impl FnOnce(&mut CoreBase, EventId, What) + 'static) -> Callback<OsPlatform, Growable> {
    let mut f = Some(f);
    Callback::new(move |base, id, what| {
        if let Some(f) = f.take() {
            f(base, id, what)
        }
    })
}

fn finalizer_callback(f: impl FnOnce(&mut CoreBase, EventId) + 'static) -> Callback<OsPlatform, Growable> {
    once_callback(move |base, id, _| f(base, id))
}

/// Closure-taking helpers on the base callbacks receive ([`CoreBase`]),
/// and through `Deref` on [`EventBase`]. Bring them in with
/// `use evbase_std::BaseExt` (or `evbase_std::prelude::*`).
///
/// ```
/// use std::time::Duration;
/// use evbase_std::prelude::*;
///
/// # fn main() -> evbase_std::Result<()> {
/// let mut base = EventBase::new()?;
/// let mut ticks = 0;
/// base.interval(Duration::from_millis(2), move |base, id, _| {
///     ticks += 1;
///     if ticks == 2 {
///         // Callbacks get the core base; the helpers work there too.
///         base.once_after(Duration::from_millis(1), |base, _, _| base.loop_break()).unwrap();
///         base.del(id).unwrap();
///     }
/// })?;
/// base.dispatch()?;
/// assert!(base.got_break());
/// # Ok(())
/// # }
/// ```
pub trait BaseExt: sealed::Sealed {
    /// Makes an event on a socket, file, pipe... (see [`AsSource`]) for
    /// `what` (`READ`, `WRITE`, `CLOSED`, with `PERSIST`, `ET`), not added.
    ///
    /// # Errors
    /// The handle's [`AsSource`] error; as
    /// [`evbase_core::EventBase::new_event`].
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use evbase_std::prelude::*;
    ///
    /// let socket = UdpSocket::bind("127.0.0.1:0")?;
    /// socket.connect(socket.local_addr()?)?;
    /// socket.send(b"ping")?; // to itself: readable at once
    /// let mut base = EventBase::new()?;
    /// let ev = base.io_event(&socket, What::READ, |base, _, what| {
    ///     assert!(what.contains(What::READ));
    ///     base.loop_break();
    /// })?;
    /// base.add(ev, None)?;
    /// base.dispatch()?;
    /// assert!(base.got_break());
    /// # Ok::<(), evbase_std::Error>(())
    /// ```
    fn io_event<H: AsSource + ?Sized>(
        &mut self,
        handle: &H,
        what: What,
        callback: impl FnMut(&mut CoreBase, EventId, What) + 'static,
    ) -> Result<EventId>;

    /// Makes and adds a persistent event for signal number `signal`
    /// (libevent's `evsignal_new` + `event_add`); the closure runs once per
    /// delivery, however many arrived since the last loop iteration
    /// (libevent's `ncalls`).
    ///
    /// # Errors
    /// [`Error::InvalidSignal`](evbase_core::Error::InvalidSignal), or
    /// [`Error::Unsupported`](evbase_core::Error::Unsupported) where the OS
    /// cannot deliver that signal. The base is then exactly as it was: no
    /// event made, no signal pipe opened, no handler installed.
    ///
    /// ```
    /// use std::time::Duration;
    /// use evbase_std::{prelude::*, SIGINT};
    ///
    /// let mut base = EventBase::new()?;
    /// let sigint = base.signal_event(SIGINT, |base, _, _| {
    ///     println!("interrupted");
    ///     base.loop_break();
    /// })?;
    /// // Stop waiting for Ctrl-C after 10 ms: with the signal event freed,
    /// // nothing is left and the loop returns.
    /// base.once_after(Duration::from_millis(10), move |base, _, _| base.free(sigint).unwrap())?;
    /// assert_eq!(base.dispatch()?, Exit::NoEvents);
    /// # Ok::<(), evbase_std::Error>(())
    /// ```
    fn signal_event(
        &mut self,
        signal: u32,
        callback: impl FnMut(&mut CoreBase, EventId, What) + 'static,
    ) -> Result<EventId>;

    /// Makes a one-shot timer (libevent's `evtimer_new`), not added: add it
    /// with a timeout, as many times as needed.
    ///
    /// # Errors
    /// [`Error::Capacity`](evbase_core::Error::Capacity) when the event table
    /// cannot grow.
    ///
    /// ```
    /// use std::time::Duration;
    /// use evbase_std::prelude::*;
    ///
    /// let mut base = EventBase::new()?;
    /// let mut left = 3;
    /// let timer = base.timer(move |base, id, _| {
    ///     left -= 1;
    ///     if left > 0 {
    ///         base.add(id, Some(Duration::from_millis(1))).unwrap(); // again
    ///     }
    /// })?;
    /// base.add(timer, Some(Duration::from_millis(1)))?;
    /// assert_eq!(base.dispatch()?, Exit::NoEvents);
    /// # Ok::<(), evbase_std::Error>(())
    /// ```
    fn timer(&mut self, callback: impl FnMut(&mut CoreBase, EventId, What) + 'static) -> Result<EventId>;

    /// Runs `callback` once, `after` from now, then frees the event
    /// (libevent's `event_base_once` with a timeout). Example: [`BaseExt`].
    ///
    /// # Errors
    /// As [`timer`](Self::timer).
    fn once_after(
        &mut self,
        after: Duration,
        callback: impl FnOnce(&mut CoreBase, EventId, What) + 'static,
    ) -> Result<EventId>;

    /// Makes and adds a persistent timer that fires every `period`, without
    /// drift, until deleted. Example: [`BaseExt`].
    ///
    /// # Errors
    /// As [`timer`](Self::timer).
    fn interval(
        &mut self,
        period: Duration,
        callback: impl FnMut(&mut CoreBase, EventId, What) + 'static,
    ) -> Result<EventId>;

    /// Adds a prepare watcher (libevent 2.2's `evwatch_prepare_new`): the
    /// closure runs just before each wait of the loop, after the prepare
    /// watchers added before it, with the wait the loop is about to make
    /// (`None`: until an event). Free it with
    /// [`free_watcher`](evbase_core::EventBase::free_watcher); the rules
    /// (what a watcher may do, when it does not run) are those of
    /// [`evbase_core::EventBase::new_prepare`].
    ///
    /// # Errors
    /// [`Error::Capacity`](evbase_core::Error::Capacity) when the watcher
    /// table cannot grow.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use evbase_std::prelude::*;
    ///
    /// let mut base = EventBase::new()?;
    /// // Time spent waiting: from each prepare to the check after it.
    /// let waited = std::rc::Rc::new(std::cell::Cell::new(Duration::ZERO));
    /// let since = std::rc::Rc::new(std::cell::Cell::new(None::<Instant>));
    /// let s = since.clone();
    /// let prepare = base.prepare(move |_, timeout| {
    ///     assert!(timeout.is_some(), "a timer is pending");
    ///     s.set(Some(Instant::now()));
    /// })?;
    /// let w = waited.clone();
    /// base.check(move |_| w.set(w.get() + since.get().unwrap().elapsed()))?;
    /// base.once_after(Duration::from_millis(20), |_, _, _| {})?;
    /// assert_eq!(base.dispatch()?, Exit::NoEvents);
    /// assert!(waited.get() >= Duration::from_millis(19));
    /// base.free_watcher(prepare)?;
    /// # Ok::<(), evbase_std::Error>(())
    /// ```
    fn prepare(&mut self, callback: impl FnMut(&mut CoreBase, Option<Duration>) + 'static) -> Result<WatchId>;

    /// Adds a check watcher (libevent 2.2's `evwatch_check_new`): the
    /// closure runs just after each wait of the loop, before any event
    /// callback of that iteration. Example: [`prepare`](Self::prepare).
    ///
    /// # Errors
    /// As [`prepare`](Self::prepare).
    fn check(&mut self, callback: impl FnMut(&mut CoreBase) + 'static) -> Result<WatchId>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::CoreBase {}
}

impl BaseExt for CoreBase {
    fn io_event<H: AsSource + ?Sized>(
        &mut self,
        handle: &H,
        what: What,
        callback: impl FnMut(&mut CoreBase, EventId, What) + 'static,
    ) -> Result<EventId> {
        let source = handle.as_source()?;
        Ok(self.new_event(source, what, Callback::new(callback))?)
    }

    fn signal_event(
        &mut self,
        signal: u32,
        callback: impl FnMut(&mut CoreBase, EventId, What) + 'static,
    ) -> Result<EventId> {
        // One call: a refused signal leaves the base as it was.
        Ok(self.add_new(
            Source::Signal(signal),
            What::SIGNAL | What::PERSIST,
            None,
            Callback::new(callback),
        )?)
    }

    fn timer(&mut self, callback: impl FnMut(&mut CoreBase, EventId, What) + 'static) -> Result<EventId> {
        Ok(self.new_event(Source::None, What::empty(), Callback::new(callback))?)
    }

    fn once_after(
        &mut self,
        after: Duration,
        callback: impl FnOnce(&mut CoreBase, EventId, What) + 'static,
    ) -> Result<EventId> {
        Ok(self.once(Source::None, What::TIMEOUT, Some(after), once_callback(callback))?)
    }

    fn interval(
        &mut self,
        period: Duration,
        callback: impl FnMut(&mut CoreBase, EventId, What) + 'static,
    ) -> Result<EventId> {
        Ok(self.add_new(Source::None, What::PERSIST, Some(period), Callback::new(callback))?)
    }

    fn prepare(&mut self, mut callback: impl FnMut(&mut CoreBase, Option<Duration>) + 'static) -> Result<WatchId> {
        Ok(self.new_prepare(WatchCallback::new(move |base, _, phase| {
            if let Phase::Prepare { timeout } = phase {
                callback(base, timeout);
            }
        }))?)
    }

    fn check(&mut self, mut callback: impl FnMut(&mut CoreBase) + 'static) -> Result<WatchId> {
        Ok(self.new_check(WatchCallback::new(move |base, _, _| callback(base)))?)
    }
}
