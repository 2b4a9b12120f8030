//! Workload A (pipe chain) on evbase with fixed-capacity storage (tables
//! inline, no allocation in the core): `Fixed<1024>` up to 480 pipes,
//! `Fixed<32768>` up to 16300 (the fd map is indexed by descriptor number).
use evbase_bench::{chain, die, on_big_stack};
use evbase_core::Fixed;

fn main() {
    let o = chain::parse_args("evbase-fixed");
    on_big_stack(move || match o.pipes {
        0..=480 => chain::run::<Fixed<1024>>("evbase-fixed", o),
        481..=16300 => chain::run::<Fixed<32768>>("evbase-fixed", o),
        _ => die("chain-evbase-fixed supports at most 16300 pipes"),
    });
}
