//! The conformance suite on the POSIX `io_uring` variant, with real socket
//! pairs and the real clock; every case is skipped, with the kernel's
//! reason printed, where io_uring is refused (qemu-user, a kernel that
//! forbids it).
#![cfg(target_os = "linux")]

use evbase_core::Growable;
use evbase_posix::PosixPlatform;

evbase_tests::conformance!(PosixPlatform, Growable, "io_uring", |variant| {
    evbase_tests::posix::skipped(variant, "conformance")
});

use evbase_core::{Config, Error, EventBase, Rejection, SelectionReport};

type Base = EventBase<PosixPlatform, Growable>;

/// Asked for but refused (here as by a kernel without io_uring, `ENOSYS`),
/// io_uring gives way to epoll, and the selection report says why.
#[test]
fn refused_io_uring_falls_back_to_epoll_with_the_reason() {
    let mut config = Config::default();
    config.prefer_method("io_uring").unwrap();
    let mut report = SelectionReport::new();
    let base = Base::with_config_report(PosixPlatform::new().refuse_io_uring(), &config, &mut report).unwrap();
    assert_eq!(base.method().name, "epoll");
    assert_eq!(report.len(), 1);
    let (name, why) = report[0];
    assert_eq!(name, "io_uring");
    assert!(matches!(why, Rejection::OpenFailed(Error::Unsupported(_))), "{why:?}");
    let said = report.to_string();
    assert!(
        said.contains("io_uring could not be opened")
            && (said.contains("ENOSYS") || said.contains("no bindings for this architecture")),
        "{said}"
    );
}

/// Not asked for, io_uring is not chosen (it comes last in the table) and
/// not in the report; asked for, it is chosen where the kernel has it.
#[test]
fn io_uring_only_when_asked_for() {
    let mut config = Config::default();
    config.set_flag(evbase_core::BaseFlags::IGNORE_ENV);
    let mut report = SelectionReport::new();
    let base = Base::with_config_report(PosixPlatform::new(), &config, &mut report).unwrap();
    assert_eq!(base.method().name, "epoll");
    assert!(report.is_empty(), "{report}");
    config.prefer_method("io_uring").unwrap();
    let base = Base::with_config_report(PosixPlatform::new(), &config, &mut report).unwrap();
    match evbase_tests::posix::unavailable("io_uring") {
        None => assert_eq!((base.method().name, report.len()), ("io_uring", 0)),
        Some(why) => {
            println!("io_uring refused here, epoll chosen: {why}");
            assert_eq!((base.method().name, report[0].0), ("epoll", "io_uring"));
        }
    }
}
