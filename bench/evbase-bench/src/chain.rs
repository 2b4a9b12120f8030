//! Workload A, pipe chain (SPEC.md), as `chain_libevent.c` does it: one
//! `READ | PERSIST` event per socketpair read end; with `-t` the event
//! carries a 10..20 s timeout that every callback re-adds with `add`.

use std::os::fd::{AsRawFd, OwnedFd};
use std::process::exit;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use evbase_core::{Callback, EventId, Source, Storage, What};
use evbase_posix::socketpair;

use crate::{Base, EXIT_UNSUPPORTED, TIMERS, die, ensure_nofile, list, long_timeout, median, now_ns, parse, rng_seed};

/// The options of `chain-<impl>`.
#[derive(Debug, Clone, Copy)]
pub struct Opts {
    /// `-n P`: socketpairs in the ring.
    pub pipes: usize,
    /// `-a A`: bytes in flight.
    pub active: usize,
    /// `-w W`: forward writes per run.
    pub writes: u64,
    /// `-t`: timer churn on every event.
    pub timers: bool,
    /// `-d`: every callback deletes its event and adds it again.
    pub readd: bool,
    /// `-r R`: timed runs.
    pub runs: usize,
    /// `-s S`: PRNG seed.
    pub seed: u64,
}

fn usage(name: &str) {
    eprintln!(
        "usage: chain-{name} [-n pipes] [-a active] [-w writes] [-t] [-d] [-r runs] [-s seed]\n\
         \x20 -n P  socketpairs in the ring (default 100)\n\
         \x20 -a A  bytes in flight at once, 1 <= A <= P (default 1)\n\
         \x20 -w W  forward writes per run (default 100000)\n\
         \x20 -t    re-arm a random 10..20 s timeout on every callback\n\
         \x20 -d    delete the event and add it again in every callback\n\
         \x20 -r R  timed runs on the same setup (default 5)\n\
         \x20 -s S  PRNG seed (default 1)"
    );
}

/// Parses the command line as SPEC.md says (exits on bad usage).
pub fn parse_args(name: &str) -> Opts {
    let mut o = Opts {
        pipes: 100,
        active: 1,
        writes: 100_000,
        timers: false,
        readd: false,
        runs: 5,
        seed: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-t" => o.timers = true,
            "-d" => o.readd = true,
            "-h" | "--help" => {
                usage(name);
                exit(0);
            }
            "-n" => o.pipes = parse(&a, args.next(), 1) as usize,
            "-a" => o.active = parse(&a, args.next(), 1) as usize,
            "-w" => o.writes = parse(&a, args.next(), 0) as u64,
            "-r" => o.runs = parse(&a, args.next(), 1) as usize,
            "-s" => o.seed = parse(&a, args.next(), 0) as u64,
            _ => {
                usage(name);
                exit(2);
            }
        }
    }
    if o.active > o.pipes {
        eprintln!("error: -a ({}) must not exceed -n ({})", o.active, o.pipes);
        exit(2);
    }
    let _ = EXIT_UNSUPPORTED; // -t is supported
    rng_seed(o.seed);
    o
}

/// `[i][0]` the read end of pair i, `[i][1]` its write end.
static PAIRS: OnceLock<Box<[[i32; 2]]>> = OnceLock::new();
static CONSUMED: AtomicU64 = AtomicU64::new(0);
static WRITTEN: AtomicU64 = AtomicU64::new(0);
static WMAX: AtomicU64 = AtomicU64::new(0);
static TARGET: AtomicU64 = AtomicU64::new(0);
static READD: AtomicBool = AtomicBool::new(false);

/// The callback word of pair i: its read end, and the write end of pair
/// i + 1 (mod P) in the high half (libevent's `arg`, here the two fds the
/// callback needs instead of an index into a table).
fn word(pairs: &[[i32; 2]], i: usize) -> usize {
    let next = pairs[(i + 1) % pairs.len()][1];
    pairs[i][0] as u32 as usize | (next as u32 as usize) << 32
}

#[cold]
fn io_failed(what: &str) -> ! {
    die(format!("{what}: {}", std::io::Error::last_os_error()))
}

/// The work of one read callback (`chain_consume`) with the fds of
/// [`word`]; true when the last byte of the run was consumed.
#[inline]
fn consume(fds: usize) -> bool {
    let mut b = 0u8;
    // SAFETY: reads one byte into `b` from a descriptor this program owns.
    if unsafe { libc::read(fds as u32 as i32, (&raw mut b).cast(), 1) } != 1 {
        io_failed("read");
    }
    let consumed = CONSUMED.load(Relaxed) + 1;
    CONSUMED.store(consumed, Relaxed);
    let written = WRITTEN.load(Relaxed);
    if written < WMAX.load(Relaxed) {
        // SAFETY: writes one byte from a static to a descriptor this program owns.
        if unsafe { libc::write((fds >> 32) as u32 as i32, b"e".as_ptr().cast(), 1) } != 1 {
            io_failed("write");
        }
        WRITTEN.store(written + 1, Relaxed);
    }
    consumed == TARGET.load(Relaxed)
}

/// The read callback of a pair (libevent's `read_cb`).
fn read_cb<S: Storage>(base: &mut Base<S>, id: EventId, what: What, fds: usize) {
    if what.contains(What::TIMEOUT) {
        die("a 10..20 s timeout fired during the run");
    }
    let done = consume(fds);
    let timers = TIMERS.load(Relaxed);
    if READD.load(Relaxed) {
        let _ = base.del(id);
        let _ = base.add(id, timers.then(long_timeout));
    } else if timers {
        let _ = base.add(id, Some(long_timeout()));
    }
    if done {
        base.loop_break();
    }
}

/// Resets the counters and puts A bytes in flight (`chain_start_run`).
fn start_run(o: &Opts) {
    let pairs = PAIRS.get().expect("pairs");
    CONSUMED.store(0, Relaxed);
    WRITTEN.store(0, Relaxed);
    WMAX.store(o.writes, Relaxed);
    TARGET.store(o.writes + o.active as u64, Relaxed);
    for k in 0..o.active {
        let i = k * o.pipes / o.active;
        // SAFETY: as in `consume`.
        if unsafe { libc::write(pairs[i][1], b"e".as_ptr().cast(), 1) } != 1 {
            die("prime write");
        }
    }
}

/// Runs workload A on storage `S` and backend `method`
/// ([`open_base`](crate::open_base)), reporting as implementation `name`.
pub fn run<S: Storage>(name: &str, o: Opts, method: Option<&str>) {
    TIMERS.store(o.timers, Relaxed);
    READD.store(o.readd, Relaxed);
    ensure_nofile(2 * o.pipes as u64 + 64);
    let mut owned: Vec<(OwnedFd, OwnedFd)> = Vec::with_capacity(o.pipes);
    for _ in 0..o.pipes {
        owned.push(socketpair().unwrap_or_else(|e| die(format!("socketpair: {e}"))));
    }
    let pairs: Box<[[i32; 2]]> = owned.iter().map(|(a, b)| [a.as_raw_fd(), b.as_raw_fd()]).collect();
    let _ = PAIRS.set(pairs);
    let pairs = PAIRS.get().expect("pairs");

    let mut base: Base<S> = crate::open_base(method);
    let mut evs = Vec::with_capacity(o.pipes);
    for (i, p) in pairs.iter().enumerate() {
        let ev = base
            .new_event(
                Source::Fd(p[0] as u32),
                What::READ | What::PERSIST,
                Callback::from_fn(read_cb::<S>, word(pairs, i)),
            )
            .unwrap_or_else(|e| die(format!("new_event: {e}")));
        let timeout = if o.timers { Some(long_timeout()) } else { None };
        base.add(ev, timeout).unwrap_or_else(|e| die(format!("add: {e}")));
        evs.push(ev);
    }

    let mut run_ns = vec![0u64; o.runs];
    for r in run_ns.iter_mut() {
        if o.timers {
            // Fresh timeouts so that none can fire during this run.
            for &ev in &evs {
                let _ = base.add(ev, Some(long_timeout()));
            }
        }
        start_run(&o);
        let t0 = now_ns();
        base.dispatch().unwrap_or_else(|e| die(format!("dispatch: {e}")));
        *r = now_ns() - t0;
        let (c, w) = (CONSUMED.load(Relaxed), WRITTEN.load(Relaxed));
        if c != TARGET.load(Relaxed) || w != o.writes {
            die(format!(
                "run ended with consumed={c} (want {}), written={w} (want {})",
                TARGET.load(Relaxed),
                o.writes
            ));
        }
    }
    let med = median(&run_ns);
    let events = o.writes + o.active as u64;
    println!(
        "bench=chain impl={name} backend={} pipes={} active={} writes={} timers={}{} runs={} events={events}{} median_us={:.1} ns_per_event={:.1}{}",
        base.method().name,
        o.pipes,
        o.active,
        o.writes,
        u8::from(o.timers),
        if o.readd { " readd=1" } else { "" },
        o.runs,
        list("run_us", &run_ns, 1000.0),
        med / 1000.0,
        med / events as f64,
        crate::memory_fields(&base.memory(), S::NAME),
    );
    drop(base);
    drop(owned);
}
