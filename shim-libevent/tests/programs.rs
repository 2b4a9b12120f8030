//! libevent 2.1.12's own core test programs (test-init, test-eof, test-weof,
//! test-closed, test-time, test-changelist, test-dumpevents, bench,
//! bench_cascade), compiled unchanged and run on evbase's library on every
//! backend, in the three modes of `tests/programs.sh` (evbase's headers;
//! Debian's headers; Debian's build with evbase's library loaded in its
//! place). This test runs that script so that `cargo test --workspace`
//! judges the C face too; the script's summary is printed on every run.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn libevent_test_programs() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs.sh");
    // This binary is TARGET/PROFILE/deps/programs-HASH, and the
    // libevbase_libevent.a that this `cargo test` has just built (with the
    // features of the whole run) is TARGET/PROFILE/libevbase_libevent.a: the
    // script installs that one into TARGET/libevent-programs/archive.
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary sits in TARGET/PROFILE/deps");
    let target: PathBuf = profile_dir
        .parent()
        .expect("the profile directory sits in the target directory")
        .to_path_buf();
    let archive = profile_dir.join("libevbase_libevent.a");
    assert!(archive.is_file(), "cargo builds {} with the tests", archive.display());

    let out = Command::new("bash")
        .arg(&script)
        .arg("--archive")
        .arg(&archive)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("bash runs tests/programs.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);

    // The table and the counts, straight to the process's standard error:
    // libtest captures print!/eprint!, and this summary is worth seeing on
    // a passing run too.
    let summary: String = stdout
        .lines()
        .take_while(|line| !line.starts_with("--- FAIL"))
        .flat_map(|line| [line, "\n"])
        .collect();
    let _ = std::io::stderr().write_all(summary.as_bytes());

    assert!(
        out.status.success(),
        "tests/programs.sh failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}
