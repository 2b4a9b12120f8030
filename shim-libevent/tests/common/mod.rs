//! What the C-level tests share: the static library to link.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The target directory and `libevbase_libevent.a` built from the current
/// sources, with the profile of this test binary. `cargo test` builds the
/// crate's rlib only, so the archive is built here with a nested `cargo
/// build` (a no-op when it is fresh; never a stale archive).
pub fn archive() -> (PathBuf, PathBuf) {
    // This binary is TARGET/PROFILE/deps/NAME-HASH.
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary sits in TARGET/PROFILE/deps");
    let target = profile_dir
        .parent()
        .expect("the profile directory sits in the target directory")
        .to_path_buf();
    let profile = profile_dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug");
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo
        .args(["build", "--quiet", "--lib", "-p", "evbase-libevent", "--manifest-path"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target);
    if profile == "release" {
        cargo.arg("--release");
    }
    let status = cargo.status().expect("cargo runs");
    assert!(status.success(), "cargo build -p evbase-libevent failed");
    let archive = profile_dir.join("libevbase_libevent.a");
    assert!(archive.is_file(), "cargo built {}", archive.display());
    (target, archive)
}
