//! Workload B (timer churn) on evbase with growable storage and the io_uring
//! backend (exits with status 3 where the kernel refuses it). See SPEC.md.
use evbase_bench::churn;
use evbase_core::Growable;

fn main() {
    let o = churn::parse_args("evbase-io_uring");
    churn::run::<Growable>("evbase-io_uring", o, Some("io_uring"));
}
