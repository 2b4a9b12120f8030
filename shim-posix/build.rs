//! Declares `cfg(kqueue)` on the systems that have kqueue and `cfg(io_uring)`
//! where evbase's io_uring backend builds, so the sources name the mechanism
//! instead of repeating the list of systems.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(kqueue)");
    println!("cargo::rustc-check-cfg=cfg(io_uring)");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    // The architectures the io-uring crate has bindings for (the same list
    // as the dependency's cfg in Cargo.toml); elsewhere io_uring is listed
    // and refused at open with that reason.
    if os == "linux"
        && matches!(
            arch.as_str(),
            "x86_64" | "aarch64" | "riscv64" | "loongarch64" | "powerpc64"
        )
    {
        println!("cargo::rustc-cfg=io_uring");
    }
    if matches!(
        os.as_str(),
        "macos" | "ios" | "tvos" | "watchos" | "freebsd" | "netbsd" | "openbsd" | "dragonfly"
    ) {
        println!("cargo::rustc-cfg=kqueue");
    }
}
