//! Workload A (pipe chain) on evbase with growable storage. See SPEC.md.
use evbase_bench::chain;
use evbase_core::Growable;

fn main() {
    let o = chain::parse_args("evbase");
    chain::run::<Growable>("evbase", o, None);
}
