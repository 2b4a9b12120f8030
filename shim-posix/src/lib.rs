//! evbase-posix (work in progress).
