//! Workload A (pipe chain) on evbase with growable storage and epoll's
//! changelist (`EPOLL_USE_CHANGELIST`). See SPEC.md.
use evbase_bench::chain;
use evbase_core::Growable;

fn main() {
    let o = chain::parse_args("evbase-changelist");
    chain::run::<Growable>("evbase-changelist", o, Some("epoll-changelist"));
}
