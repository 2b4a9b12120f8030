//! # evbase-std
//!
//! [evbase](evbase_core) — libevent's `event_base` in Rust — for programs on
//! Linux, macOS, the BSDs and Windows. [`EventBase::new`] picks the fastest
//! backend of the OS (epoll, kqueue, poll, select; win32 select, IOCP),
//! callbacks are closures, and a [`Remote`] lets other threads activate,
//! add and delete events or stop the loop, waking it at once.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::{TcpListener, TcpStream};
//! use evbase_std::prelude::*;
//!
//! # fn main() -> evbase_std::Result<()> {
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let mut client = TcpStream::connect(listener.local_addr()?)?;
//! let (mut server, _) = listener.accept()?;
//! server.set_nonblocking(true)?;
//!
//! let mut base = EventBase::new()?;
//! println!("using {} with {:?}", base.method().name, base.features());
//! // The closure owns the socket; the event names it by its source.
//! let ev = base.new_event(server.as_source()?, What::READ | What::PERSIST, move |base, _id, what| {
//!     assert!(what.contains(What::READ));
//!     let mut buf = [0; 16];
//!     let n = server.read(&mut buf).unwrap();
//!     assert_eq!(&buf[..n], b"ping");
//!     base.loop_break();
//! })?;
//! base.add(ev, Some(std::time::Duration::from_secs(5)))?; // READ, or TIMEOUT after 5 s
//! client.write_all(b"ping")?;
//! base.dispatch()?;
//! assert!(base.got_break());
//! # Ok(())
//! # }
//! ```
//!
//! ## What is here
//! - [`EventBase`]: the core's base ([`CoreBase`], reached through `Deref`)
//!   on the OS's platform ([`OsPlatform`]) with growable storage, plus
//!   constructors, closure-taking methods, and [`EventBase::remote`].
//!   Every verb of the core is available: priorities, common timeouts,
//!   `once`, finalizers, counters, `dump_events`, `reinit`.
//! - [`BaseExt`]: closure helpers on the base that callbacks receive
//!   ([`BaseExt::io_event`] for anything [`AsSource`], [`BaseExt::signal_event`],
//!   [`BaseExt::timer`], [`BaseExt::once_after`], [`BaseExt::interval`]).
//! - [`Remote`]: `Send + Sync + Clone`; [`Remote::del_wait`] is libevent's
//!   blocking `event_del` for callbacks running on the loop thread.
//! - [`Error`]: the core's error or an [`std::io::Error`]. In a function
//!   returning [`evbase_std::Result`](Result), `?` takes both std I/O calls
//!   and the core's calls (which return [`evbase_core::Error`]); it converts
//!   into an [`std::io::Error`] in turn.
//!
//! ## Threads
//! A base is not `Send`: it stays on the thread that made it, which runs its
//! loop; callbacks need not be `Send`. Other threads reach it only through a
//! [`Remote`]. Unlike libevent there is nothing to enable first
//! (`evthread_use_pthreads`): every base can be woken from another thread
//! unless made with [`BaseFlags::NOLOCK`].
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod base;
mod error;
mod platform;
mod remote;
mod source;

pub use base::{BaseExt, CoreBase, EventBase, supported_methods};
pub use error::{Error, Result};
pub use platform::{OsPlatform, SysPlatform};
pub use remote::{Remote, Ticket};
pub use source::AsSource;
#[cfg(unix)]
pub use source::raw_fd;
#[cfg(windows)]
pub use source::raw_socket;

/// The core crate, for everything not re-exported here.
pub use evbase_core;
pub use evbase_core::{
    BaseFlags, CommonTimeout, Config, Count, DispatchLimits, EventId, EventInfo, Exit, Features, Instant, LoopFlags,
    Method, Pending, Phase, Source, WatchId, WatchKind, What,
};

/// `SIGINT` (Ctrl-C): 2 on every Unix, and on Windows, where the console's
/// Ctrl-C is delivered as this signal. Example: [`BaseExt::signal_event`].
pub const SIGINT: u32 = 2;

/// The names most programs need: `use evbase_std::prelude::*;`.
/// Example: [`BaseExt`].
pub mod prelude {
    pub use crate::{
        AsSource, BaseExt, Config, CoreBase, EventBase, EventId, Exit, Features, LoopFlags, Remote, Source, What,
    };
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
