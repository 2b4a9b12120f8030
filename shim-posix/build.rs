//! Declares `cfg(kqueue)` on the systems that have kqueue, so the sources
//! name the mechanism instead of repeating the list of systems.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(kqueue)");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if matches!(
        os.as_str(),
        "macos" | "ios" | "tvos" | "watchos" | "freebsd" | "netbsd" | "openbsd" | "dragonfly"
    ) {
        println!("cargo::rustc-cfg=kqueue");
    }
}
