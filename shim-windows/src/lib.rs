//! evbase-windows (work in progress).
