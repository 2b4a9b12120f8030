//! Workload B (timer churn) on evbase with fixed-capacity storage (tables
//! inline, no allocation in the core): `Fixed<2048>` up to 2000 timers,
//! `Fixed<131072>` up to 131000.
use evbase_bench::{churn, die, on_big_stack};
use evbase_core::Fixed;

fn main() {
    let o = churn::parse_args("evbase-fixed");
    on_big_stack(move || match o.timers {
        0..=2000 => churn::run::<Fixed<2048>>("evbase-fixed", o),
        2001..=131_000 => churn::run::<Fixed<131072>>("evbase-fixed", o),
        _ => die("churn-evbase-fixed supports at most 131000 timers"),
    });
}
