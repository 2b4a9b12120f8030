//! Builds the C half of the library: libevent's variadic functions
//! (`event_warn`, `evutil_snprintf`, ...), which stable Rust cannot define.
//! Every `src/c/*.c` goes into one static library that the Rust code links;
//! the staticlib bundles it, so C programs see a single archive.

use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from("src/c");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("src/c is part of the package")
        .map(|entry| entry.expect("src/c is readable").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "c"))
        .collect();
    // A stable order keeps the archive reproducible.
    files.sort();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    cc::Build::new()
        .files(&files)
        .include("include")
        // The archive is linked into libevent's shared libraries too.
        .pic(true)
        .warnings(true)
        .extra_warnings(true)
        .compile("evbase_libevent_c");
}
