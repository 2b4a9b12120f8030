//! libevent 2.2's `watch/` regression cases in C (`tests/watch/watch.c`),
//! compiled with gcc against evbase's `include/` (its `event2/watch.h`)
//! and linked with the static library, then run. Debian's libevent is 2.1,
//! without `watch.h`, so the header is not compared with libevent's by
//! `headers.rs`; it declares 2.2's functions and types.

use std::path::Path;
use std::process::Command;

mod common;

#[test]
fn watch_cases_in_c() {
    if Command::new("gcc").arg("--version").output().is_err() {
        eprintln!("watch_cases_in_c: no gcc, skipped");
        return;
    }
    let (target, archive) = common::archive();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exe = target.join("watch-c-cases");
    let out = Command::new("gcc")
        .args(["-Wall", "-Wextra", "-Werror", "-O1", "-o"])
        .arg(&exe)
        .arg(dir.join("tests/watch/watch.c"))
        .arg("-I")
        .arg(dir.join("include"))
        .arg(&archive)
        .args(["-lpthread", "-lm", "-ldl"])
        .output()
        .expect("gcc runs");
    assert!(
        out.status.success(),
        "gcc failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().expect("the program runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    print!("{stdout}");
    assert!(
        run.status.success(),
        "watch.c failed ({}):\n{stdout}\n{}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(stdout.matches(" ... ok").count(), 4, "{stdout}");
}
