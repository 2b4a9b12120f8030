//! The static description of a backend (libevent's `eventop` metadata).

use crate::Features;

/// What the core knows of a backend before opening it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Method {
    /// libevent's name: `"epoll"`, `"epoll (with changelist)"`, `"kqueue"`,
    /// `"poll"`, `"select"`, `"win32"`, `"iocp"`, ...
    pub name: &'static str,
    /// What the backend can do.
    pub features: Features,
    /// Whether the kernel object must be rebuilt in a forked child.
    pub need_reinit: bool,
    /// Whether the backend takes interest changes in a batch at dispatch
    /// (the changelist) instead of one call per change.
    pub changelist: bool,
}
