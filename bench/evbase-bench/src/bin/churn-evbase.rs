//! Workload B (timer churn) on evbase with growable storage. See SPEC.md.
use evbase_bench::churn;
use evbase_core::Growable;

fn main() {
    let o = churn::parse_args("evbase");
    churn::run::<Growable>("evbase", o, None);
}
