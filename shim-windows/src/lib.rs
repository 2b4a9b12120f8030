//! # evbase-windows
//!
//! The Windows shim of evbase: a [`Platform`](evbase_core::Platform) with
//! libevent's `win32` backend (WinSock `select`, fd sets that grow past 64
//! sockets) and an `iocp` backend (readiness through AFD poll requests on a
//! completion port, as wepoll and mio do it), monotonic clocks
//! (`GetTickCount64`, `QueryPerformanceCounter`), socketpair emulation over
//! loopback TCP, cross-thread wake-ups, and `SIGINT`/`SIGBREAK` from the
//! console's control handler.
//!
//! ```no_run
//! # #[cfg(windows)] {
//! use evbase_core::{EventBase, Growable};
//! use evbase_windows::WindowsPlatform;
//!
//! let base: EventBase<WindowsPlatform, Growable> = EventBase::new(WindowsPlatform::new()).unwrap();
//! assert_eq!(base.method().name, "win32");
//! # }
//! ```
//!
//! Handles are sockets only (neither backend takes files or pipes: no
//! [`Features::FDS`](evbase_core::Features::FDS)), named by `u32` in the
//! core; see `handle_of`.
//!
//! On other targets this crate is empty, so a workspace build on Linux
//! still works. Every `unsafe` block lives in one private module that wraps
//! the Windows calls.
#![cfg_attr(windows, deny(unsafe_code))]
#![cfg_attr(not(windows), forbid(unsafe_code))]
#![deny(missing_docs)]

#[cfg(windows)]
mod clock;
#[cfg(windows)]
mod iocp;
#[cfg(windows)]
mod net;
#[cfg(windows)]
mod notify;
#[cfg(windows)]
mod platform;
#[cfg(windows)]
mod select;
#[cfg(windows)]
mod sys;

#[cfg(windows)]
pub use iocp::{IOCP, IocpBackend};
#[cfg(windows)]
pub use net::{close, connect, handle_of, recv, send, shutdown_write, socketpair};
#[cfg(windows)]
pub use notify::{SIGBREAK, SIGINT};
#[cfg(windows)]
pub use platform::{Remote, WindowsBackend, WindowsPlatform};
#[cfg(windows)]
pub use select::{SelectBackend, WIN32};
