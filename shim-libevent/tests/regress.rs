//! libevent 2.1.12's own regression suite, the event core's groups (main/,
//! signal/, et/, finalize/, thread/), compiled unchanged with the driver of
//! `tests/regress/` and run on evbase's library on every backend (epoll,
//! epoll with the changelist, epoll with the precise timer, poll, select),
//! plainly and in debug mode, by `tests/regress.sh`. This test runs that
//! script so that `cargo test --workspace` judges the C face with libevent's
//! own cases; the script's summary is printed on every run.

use std::io::Write;
use std::path::Path;
use std::process::Command;

mod common;

#[test]
fn libevent_regression_suite() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regress.sh");
    let (target, archive) = common::archive();

    let out = Command::new("sh")
        .arg(&script)
        .arg("--lib")
        .arg(&archive)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("sh runs tests/regress.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);

    // The summary table straight to the process's standard error (libtest
    // captures print!), worth seeing on a passing run too.
    let summary: String = stdout
        .lines()
        .skip_while(|line| !line.starts_with("regress: summary"))
        .flat_map(|line| [line, "\n"])
        .collect();
    let _ = std::io::stderr().write_all(summary.as_bytes());

    assert!(
        out.status.success(),
        "tests/regress.sh failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}
