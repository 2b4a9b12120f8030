//! Workload A (pipe chain) on evbase with fixed-capacity storage (tables
//! inline, no allocation in the core): `Fixed<1024>` up to 480 pipes,
//! `Fixed<4096>` up to 2000, `Fixed<32768>` up to 16300 (the fd map is
//! indexed by descriptor number).
//!
//! Bases up to `Fixed<4096>` (0.7 MB) run on the main thread: a second
//! thread makes every `read`, `write` and `epoll_wait` of the process take
//! glibc's cancellation-point path (~45 more instructions per call, ~130
//! per event), which no single-threaded peer pays. Only the largest base
//! needs a thread with a big stack.
use evbase_bench::{chain, die, on_big_stack};
use evbase_core::Fixed;

fn main() {
    let o = chain::parse_args("evbase-fixed");
    match o.pipes {
        0..=480 => chain::run::<Fixed<1024>>("evbase-fixed", o, None),
        481..=2000 => chain::run::<Fixed<4096>>("evbase-fixed", o, None),
        2001..=16300 => on_big_stack(move || chain::run::<Fixed<32768>>("evbase-fixed", o, None)),
        _ => die("chain-evbase-fixed supports at most 16300 pipes"),
    }
}
