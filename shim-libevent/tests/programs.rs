//! libevent 2.1.12's own core test programs (test-init, test-eof, test-weof,
//! test-closed, test-time, test-changelist, test-dumpevents, bench,
//! bench_cascade), compiled unchanged and run on evbase's library on every
//! backend, in the three modes of `tests/programs.sh` (evbase's headers;
//! Debian's headers; Debian's build with evbase's library loaded in its
//! place). This test runs that script so that `cargo test --workspace`
//! judges the C face too; the script's summary is printed on every run.

use std::io::Write;
use std::path::Path;
use std::process::Command;

mod common;

#[test]
fn libevent_test_programs() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs.sh");
    let (target, archive) = common::archive();

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
