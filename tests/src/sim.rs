//! The simulated platform in the suite.

use std::time::Duration;

use evbase_core::sim::SimPlatform;
use evbase_core::{Config, Error};

use crate::TestPlatform;

/// The config that makes a simulated base use `variant`
/// (`kqueue`, `epoll`, `epoll-changelist`, `poll`, `select`).
///
/// # Errors
/// [`Error::InvalidArgument`] for an unknown variant.
pub fn sim_variant(variant: &str) -> Result<Config, Error> {
    let mut config = Config::default();
    let (method, changelist) = match variant {
        "epoll-changelist" => ("epoll", true),
        "kqueue" | "epoll" | "poll" | "select" => (variant, false),
        _ => return Err(Error::InvalidArgument(&"unknown simulated variant")),
    };
    for m in evbase_core::sim::SIM_METHODS.iter().filter(|m| m.name != method) {
        config.avoid_method(m.name)?;
    }
    if changelist {
        config.set_flag(evbase_core::BaseFlags::EPOLL_USE_CHANGELIST);
    }
    Ok(config)
}

impl TestPlatform for SimPlatform {
    const TOLERANCE: Duration = Duration::ZERO;

    fn make(variant: &str) -> (Self, Config) {
        (SimPlatform::new(), sim_variant(variant).expect("a simulated variant"))
    }

    fn socketpair(&mut self) -> (u32, u32) {
        self.world(|w| w.pair())
    }

    fn send(&mut self, fd: u32, data: &[u8]) -> Option<usize> {
        self.world(|w| w.write(fd, data))
    }

    fn recv(&mut self, fd: u32, buf: &mut [u8]) -> Option<usize> {
        self.world(|w| w.read(fd, buf))
    }

    fn shutdown_write(&mut self, fd: u32) {
        self.world(|w| w.shutdown_write(fd));
    }

    fn close(&mut self, fd: u32) {
        self.world(|w| w.close(fd));
    }

    fn sleep(&mut self, d: Duration) {
        self.world(|w| w.advance(d));
    }
}
