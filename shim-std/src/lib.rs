//! evbase-std (work in progress).
