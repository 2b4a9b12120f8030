//! Workload B, timer churn (SPEC.md), as `churn_libevent.c` does it: N
//! timer events (`Source::None`, no flags); an op is `del` + `add` with a
//! timeout; the fire phase re-arms every timer short and runs the loop.
//! Each phase's adds share one reading of the clock (`with_cached_time`),
//! as libev's peer refreshes `ev_now` once per phase.

use std::process::exit;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use evbase_core::{Callback, EventId, Source, Storage, What};

use crate::{Base, cpu_ns, die, list, long_timeout, median, now_ns, parse, rng_next, rng_seed, short_timeout};

/// The options of `churn-<impl>`.
#[derive(Debug, Clone, Copy)]
pub struct Opts {
    /// `-n N`: timers.
    pub timers: usize,
    /// `-k K`: delete+add ops in the churn phase.
    pub rounds: u64,
    /// `-r R`: runs.
    pub runs: usize,
    /// `-s S`: PRNG seed.
    pub seed: u64,
}

fn usage(name: &str) {
    eprintln!(
        "usage: churn-{name} [-n timers] [-k rounds] [-r runs] [-s seed]\n\
         \x20 -n N  timers (default 1000)\n\
         \x20 -k K  delete+add ops in the churn phase (default 1000000)\n\
         \x20 -r R  runs (default 5)\n\
         \x20 -s S  PRNG seed (default 1)"
    );
}

/// Parses the command line as SPEC.md says (exits on bad usage).
pub fn parse_args(name: &str) -> Opts {
    let mut o = Opts {
        timers: 1000,
        rounds: 1_000_000,
        runs: 5,
        seed: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-h" | "--help" => {
                usage(name);
                exit(0);
            }
            "-n" => o.timers = parse(&a, args.next(), 1) as usize,
            "-k" => o.rounds = parse(&a, args.next(), 1) as u64,
            "-r" => o.runs = parse(&a, args.next(), 1) as usize,
            "-s" => o.seed = parse(&a, args.next(), 0) as u64,
            _ => {
                usage(name);
                exit(2);
            }
        }
    }
    rng_seed(o.seed);
    o
}

static FIRED: AtomicU64 = AtomicU64::new(0);
static N: AtomicU64 = AtomicU64::new(0);

/// The timer callback (`churn_fire`): the N-th one ends the loop.
fn timer_cb<S: Storage>(base: &mut Base<S>, _id: EventId, _what: What, _arg: usize) {
    let fired = FIRED.load(Relaxed) + 1;
    FIRED.store(fired, Relaxed);
    if fired == N.load(Relaxed) {
        base.loop_break();
    }
}

/// Runs workload B on storage `S`, reporting as implementation `name`.
/// Runs workload B on storage `S` and backend `method` ([`open_base`](crate::open_base)),
/// reporting as implementation `name`.
pub fn run<S: Storage>(name: &str, o: Opts, method: Option<&str>) {
    let n = o.timers;
    N.store(n as u64, Relaxed);
    let mut base: Base<S> = crate::open_base(method);
    let evs: Vec<EventId> = (0..n)
        .map(|_| {
            base.new_event(Source::None, What::empty(), Callback::from_fn(timer_cb::<S>, 0))
                .unwrap_or_else(|e| die(format!("new_event: {e}")))
        })
        .collect();

    let (mut churn_ns, mut wall_ns, mut cpu) = (vec![0u64; o.runs], vec![0u64; o.runs], vec![0u64; o.runs]);
    for r in 0..o.runs {
        // Each phase reads "now" once as it starts (SPEC: like libev's
        // `ev_now_update`), not on every add.
        // arm (untimed)
        base.with_cached_time(|base| {
            for &ev in &evs {
                let _ = base.add(ev, Some(long_timeout()));
            }
        });
        // churn (timed)
        let t0 = now_ns();
        base.with_cached_time(|base| {
            for _ in 0..o.rounds {
                let i = (rng_next() % n as u64) as usize;
                let t = long_timeout();
                let _ = base.del(evs[i]);
                let _ = base.add(evs[i], Some(t));
            }
        });
        churn_ns[r] = now_ns() - t0;
        // fire (timed)
        FIRED.store(0, Relaxed);
        let c0 = cpu_ns();
        let t0 = now_ns();
        base.with_cached_time(|base| {
            for &ev in &evs {
                let _ = base.del(ev);
                let _ = base.add(ev, Some(short_timeout()));
            }
        });
        base.dispatch().unwrap_or_else(|e| die(format!("dispatch: {e}")));
        wall_ns[r] = now_ns() - t0;
        cpu[r] = cpu_ns() - c0;
        let fired = FIRED.load(Relaxed);
        if fired != n as u64 {
            die(format!("{fired} of {n} timers fired"));
        }
    }
    // The memory of N armed timers: arm them once more (untimed).
    for &ev in &evs {
        let _ = base.add(ev, Some(long_timeout()));
    }
    let (mc, mw, mcpu) = (median(&churn_ns), median(&wall_ns), median(&cpu));
    println!(
        "bench=churn impl={name} backend={} ntimers={n} rounds={} runs={}{}{}{} median_churn_ns_op={:.1} median_fire_wall_us={:.1} median_fire_cpu_us={:.1} fire_cpu_ns_per_timer={:.1}{}",
        base.method().name,
        o.rounds,
        o.runs,
        list("churn_ns_op", &churn_ns, o.rounds as f64),
        list("fire_wall_us", &wall_ns, 1000.0),
        list("fire_cpu_us", &cpu, 1000.0),
        mc / o.rounds as f64,
        mw / 1000.0,
        mcpu / 1000.0,
        mcpu / n as f64,
        crate::memory_fields(&base.memory(), S::NAME),
    );
}
