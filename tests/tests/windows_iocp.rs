//! The conformance suite and the Windows-only cases on the `iocp` backend
//! (run under Wine on Linux: `cargo test --target x86_64-pc-windows-gnu`).
#![cfg(windows)]

evbase_tests::windows_suite!("iocp");
