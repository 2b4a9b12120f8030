//! [`OsPlatform`]: the platform of the OS, with a remote queue that other
//! std threads can wait on.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant as StdInstant};

use evbase_core::{Config, Growable, Inbox, Instant, Method, Platform, RemoteOp, RemoteQueue, Waker};

/// The platform of this OS that [`OsPlatform`] wraps:
/// [`evbase_posix::PosixPlatform`] on Unix. Example: [`OsPlatform`].
#[cfg(unix)]
pub type SysPlatform = evbase_posix::PosixPlatform;

/// The platform of this OS that [`OsPlatform`] wraps:
/// [`evbase_windows::WindowsPlatform`] on Windows. Example: [`OsPlatform`].
#[cfg(windows)]
pub type SysPlatform = evbase_windows::WindowsPlatform;

/// The platform of a std base: the OS's own ([`SysPlatform`]: epoll,
/// kqueue, poll, select on Unix; win32, iocp on Windows) plus the remote
/// queue behind [`Remote`](crate::Remote), which lets other threads block
/// until the loop has applied what they sent.
///
/// ```
/// use evbase_std::{Config, EventBase, OsPlatform, SysPlatform};
///
/// // A platform configured by hand (here as `new()` would make it).
/// let platform = OsPlatform::from_sys(SysPlatform::new());
/// println!("{:?}", platform.sys());
/// let base = EventBase::with_platform(platform, &Config::default())?;
/// # drop(base);
/// # Ok::<(), evbase_std::Error>(())
/// ```
pub struct OsPlatform {
    sys: SysPlatform,
    pub(crate) shared: Arc<Shared>,
}

impl core::fmt::Debug for OsPlatform {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OsPlatform")
            .field("sys", &self.sys)
            .finish_non_exhaustive()
    }
}

impl Default for OsPlatform {
    fn default() -> Self {
        Self::new()
    }
}

impl OsPlatform {
    /// The OS's platform with every method it has. Example: [`OsPlatform`].
    pub fn new() -> Self {
        Self::from_sys(SysPlatform::new())
    }

    /// Wraps a platform configured by hand (e.g. a `PosixPlatform` with
    /// `force_timerfd`). Its own remote queue, if it has one, is not used:
    /// other threads go through [`Remote`](crate::Remote).
    /// Example: [`OsPlatform`].
    pub fn from_sys(sys: SysPlatform) -> Self {
        OsPlatform {
            sys,
            shared: Arc::new(Shared::new()),
        }
    }

    /// The wrapped OS platform. Example: [`OsPlatform`].
    pub fn sys(&self) -> &SysPlatform {
        &self.sys
    }
}

impl Platform for OsPlatform {
    type Backend = <SysPlatform as Platform>::Backend;

    fn methods(&self) -> &'static [Method] {
        self.sys.methods()
    }

    fn open(&mut self, method: &Method, config: &Config) -> Result<Self::Backend, evbase_core::Error> {
        self.sys.open(method, config)
    }

    fn now(&mut self) -> Instant {
        self.sys.now()
    }

    fn wall_now(&mut self) -> Option<Duration> {
        self.sys.wall_now()
    }

    fn env(&self, name: &str) -> bool {
        self.sys.env(name)
    }

    fn show_method(&mut self, name: &str) {
        self.sys.show_method(name)
    }

    fn inbox(&self) -> Option<&dyn Inbox> {
        Some(&*self.shared)
    }
}

/// The remote queue of one base and what other threads need to wait on it.
pub(crate) struct Shared {
    pub(crate) queue: RemoteQueue<Growable>,
    /// The thread that made the base (bases are not `Send`, so it is the
    /// thread that runs its loop): recorded when the base installs its waker.
    owner: OnceLock<ThreadId>,
    /// Whether the base's loop runs now (set by [`crate::EventBase`]'s loop
    /// methods).
    looping: AtomicBool,
    /// Threads blocked in [`Shared::wait_until`]; the loop only takes the
    /// lock to notify them when there is one.
    waiters: AtomicUsize,
    lock: Mutex<()>,
    cond: Condvar,
}

impl Shared {
    fn new() -> Self {
        Shared {
            queue: RemoteQueue::new(),
            owner: OnceLock::new(),
            looping: AtomicBool::new(false),
            waiters: AtomicUsize::new(0),
            lock: Mutex::new(()),
            cond: Condvar::new(),
        }
    }

    /// Whether the caller is the thread that owns the base.
    pub(crate) fn on_loop_thread(&self) -> bool {
        self.owner.get() == Some(&thread::current().id())
    }

    pub(crate) fn looping(&self) -> bool {
        self.looping.load(Ordering::SeqCst)
    }

    pub(crate) fn set_looping(&self, on: bool) {
        self.looping.store(on, Ordering::SeqCst);
        if !on {
            self.notify();
        }
    }

    /// Wakes the threads in [`Shared::wait_until`] after a change they may
    /// be waiting for (made before this call).
    fn notify(&self) {
        // Pairs with the fence in `wait_until`: either the waiter sees the
        // change, or this load sees the waiter (and the lock orders the rest).
        fence(Ordering::SeqCst);
        if self.waiters.load(Ordering::SeqCst) > 0 {
            drop(self.lock.lock().unwrap_or_else(|e| e.into_inner()));
            self.cond.notify_all();
        }
    }

    /// Blocks until `done()` holds or `deadline` passes; returns `done()`.
    pub(crate) fn wait_until(&self, deadline: Option<StdInstant>, done: impl Fn() -> bool) -> bool {
        if done() {
            return true;
        }
        let mut guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.waiters.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let met = loop {
            if done() {
                break true;
            }
            // A bounded wait as well: the loop notifies after applying an
            // operation and when it stops, and does not notify when a
            // callback ends (that is the hot path); re-checking now and
            // then covers that rare case.
            let mut step = Duration::from_millis(10);
            if let Some(deadline) = deadline {
                let now = StdInstant::now();
                if now >= deadline {
                    break false;
                }
                step = step.min(deadline - now);
            }
            guard = match self.cond.wait_timeout(guard, step) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        };
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        drop(guard);
        met
    }
}

impl Inbox for Shared {
    fn has_pending(&self) -> bool {
        self.queue.has_pending()
    }

    fn pop(&self) -> Option<RemoteOp> {
        let op = self.queue.pop();
        if op.is_none() {
            // The drain ended: what was sent before it counts as processed.
            self.notify();
        }
        op
    }

    fn set_running(&self, index: Option<u32>) {
        self.queue.set_running(index);
    }

    fn attach(&self, base: u32, waker: Option<Waker>) {
        // Called by the base's constructor (and `reinit`), on the thread
        // that owns the base.
        let _ = self.owner.set(thread::current().id());
        self.queue.attach(base, waker);
    }

    fn detach(&self) {
        self.queue.detach();
        // Waiters in `del_wait` and `wait` return at once.
        self.notify();
    }
}
