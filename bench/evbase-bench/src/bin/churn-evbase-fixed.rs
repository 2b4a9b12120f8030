//! Workload B (timer churn) on evbase with fixed-capacity storage (tables
//! inline, no allocation in the core): `Fixed<2048>` up to 2000 timers on
//! the main thread, `Fixed<131072>` up to 131000 on a thread with a big
//! stack (see chain-evbase-fixed.rs for why not always a thread).
use evbase_bench::{churn, die, on_big_stack};
use evbase_core::Fixed;

fn main() {
    let o = churn::parse_args("evbase-fixed");
    match o.timers {
        0..=2000 => churn::run::<Fixed<2048>>("evbase-fixed", o, None),
        2001..=131_000 => on_big_stack(move || churn::run::<Fixed<131072>>("evbase-fixed", o, None)),
        _ => die("churn-evbase-fixed supports at most 131000 timers"),
    }
}
