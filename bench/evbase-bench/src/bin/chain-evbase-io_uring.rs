//! Workload A (pipe chain) on evbase with growable storage and the io_uring
//! backend (exits with status 3 where the kernel refuses it). See SPEC.md.
use evbase_bench::chain;
use evbase_core::Growable;

fn main() {
    let o = chain::parse_args("evbase-io_uring");
    chain::run::<Growable>("evbase-io_uring", o, Some("io_uring"));
}
