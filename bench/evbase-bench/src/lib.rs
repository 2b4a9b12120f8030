//! The two workloads of the peer benchmark (`../shared/bench/SPEC.md`) on
//! evbase, written to drive [`EventBase`] the way `chain_libevent.c` and
//! `churn_libevent.c` drive libevent: one persistent read event per
//! socketpair whose timeout is re-armed with `add` under `-t`; timers that
//! are deleted and added again.
//!
//! The binaries `chain-evbase` / `churn-evbase` run on growable storage,
//! `chain-evbase-fixed` / `churn-evbase-fixed` on fixed-capacity storage
//! (no allocator in the core); `chain-evbase-changelist`,
//! `chain-evbase-io_uring` and `churn-evbase-io_uring` on growable storage
//! with that backend ([`open_base`]). `chain-* -d` deletes and re-adds each
//! event in its callback (registration churn, as short-lived connections
//! cause). Each prints the SPEC's result line plus
//! `bytes_per_event` ([`evbase_core::Memory::per_event`]) and its breakdown.
#![allow(clippy::result_large_err)]

use std::process::exit;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use evbase_core::{BaseFlags, Config, EventBase, Memory, SelectionReport, Storage};
use evbase_posix::PosixPlatform;

pub mod chain;
pub mod churn;

/// The base every benchmark uses: the POSIX platform, storage `S`.
pub type Base<S> = EventBase<PosixPlatform, S>;

/// Opens the base of a benchmark on `method`: `None` is the default
/// selection (epoll, or what the `EVENT_*` variables say), `"epoll-changelist"`
/// epoll with its changelist, `"io_uring"` io_uring. A method the kernel
/// refuses exits with status 3 (unsupported, a blank in the tables) and
/// the selection report.
pub fn open_base<S: Storage>(method: Option<&str>) -> Base<S> {
    let mut config = Config::default();
    match method {
        None => {}
        Some("epoll-changelist") => {
            config.set_flag(BaseFlags::EPOLL_USE_CHANGELIST);
        }
        Some(name) => {
            config.prefer_method(name).unwrap_or_else(|e| die(e));
        }
    }
    let mut report = SelectionReport::new();
    let base = Base::with_config_report(PosixPlatform::new(), &config, &mut report)
        .unwrap_or_else(|e| die(format!("EventBase::new: {e}: {report}")));
    if let Some(name) = method.filter(|m| !m.starts_with("epoll"))
        && base.method().name != name
    {
        eprintln!("error: {name} is not available here: {report}");
        exit(EXIT_UNSUPPORTED);
    }
    base
}

/// Exit status for an option the implementation does not support.
pub const EXIT_UNSUPPORTED: i32 = 3;

// ---------------------------------------------------------------- clocks --

fn clock(id: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec to write into.
    unsafe { libc::clock_gettime(id, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// `CLOCK_MONOTONIC` in nanoseconds.
pub fn now_ns() -> u64 {
    clock(libc::CLOCK_MONOTONIC)
}

/// `CLOCK_THREAD_CPUTIME_ID` in nanoseconds.
pub fn cpu_ns() -> u64 {
    clock(libc::CLOCK_THREAD_CPUTIME_ID)
}

// ------------------------------------------------------------------ PRNG --

static RNG: AtomicU64 = AtomicU64::new(1);

/// Seeds splitmix64.
pub fn rng_seed(seed: u64) {
    RNG.store(seed, Relaxed);
}

/// splitmix64, as SPEC.md gives it.
#[inline]
pub fn rng_next() -> u64 {
    let s = RNG.load(Relaxed).wrapping_add(0x9E37_79B9_7F4A_7C15);
    RNG.store(s, Relaxed);
    let mut z = s;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// 10 s + [0, 10 s): never fires during a run.
#[inline]
pub fn long_timeout() -> Duration {
    Duration::from_micros(10_000_000 + rng_next() % 10_000_000)
}

/// [0, 50 ms).
#[inline]
pub fn short_timeout() -> Duration {
    Duration::from_micros(rng_next() % 50_000)
}

// ------------------------------------------------------------ utilities --

/// Prints `error: MSG` and exits with status 1.
pub fn die(msg: impl std::fmt::Display) -> ! {
    eprintln!("error: {msg}");
    exit(1)
}

/// Parses the value of option `opt`, at least `min`, or exits with status 2.
pub fn parse(opt: &str, v: Option<String>, min: i64) -> i64 {
    match v.as_deref().map(str::parse::<i64>) {
        Some(Ok(n)) if n >= min => n,
        _ => {
            eprintln!(
                "error: bad value for {opt}: '{}' (want an integer >= {min})",
                v.unwrap_or_default()
            );
            exit(2)
        }
    }
}

/// Raises the soft `RLIMIT_NOFILE` towards the hard limit so that `need`
/// descriptors can be opened; exits with a message when it cannot.
pub fn ensure_nofile(need: u64) {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `rl` is a valid rlimit to write into.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } != 0 {
        die("getrlimit(RLIMIT_NOFILE)");
    }
    if rl.rlim_cur != libc::RLIM_INFINITY && rl.rlim_cur < need {
        let mut want = need;
        if rl.rlim_max != libc::RLIM_INFINITY && rl.rlim_max < want {
            want = rl.rlim_max;
        }
        rl.rlim_cur = want;
        // SAFETY: `rl` is a valid rlimit; best effort.
        unsafe {
            libc::setrlimit(libc::RLIMIT_NOFILE, &rl);
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl);
        }
    }
    if rl.rlim_cur != libc::RLIM_INFINITY && rl.rlim_cur < need {
        die(format!(
            "need {need} file descriptors but the limit is {} (hard {}); lower -n or raise `ulimit -n`",
            rl.rlim_cur, rl.rlim_max
        ));
    }
}

/// Median of `v` (mean of the two middle values when even).
pub fn median(v: &[u64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_unstable();
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2] as f64
    } else {
        (s[n / 2 - 1] as f64 + s[n / 2] as f64) / 2.0
    }
}

/// ` key=v1,v2,...` with each value divided by `div`, one decimal.
pub fn list(key: &str, v: &[u64], div: f64) -> String {
    let vals: Vec<String> = v.iter().map(|&x| format!("{:.1}", x as f64 / div)).collect();
    format!(" {key}={}", vals.join(","))
}

/// ` bytes_per_event=X bytes_split=records,timers,handles` (per event).
pub fn memory_fields(m: &Memory, storage: &str) -> String {
    let per = |b: usize| if m.events == 0 { 0.0 } else { b as f64 / m.events as f64 };
    format!(
        " storage={storage} bytes_per_event={} bytes_split={:.1},{:.1},{:.1}",
        m.per_event(),
        per(m.slots),
        per(m.timers),
        per(m.handles)
    )
}

/// Runs `f` on a thread with a large stack: a fixed-storage base holds its
/// tables inline and is built on the stack.
pub fn on_big_stack(f: impl FnOnce() + Send + 'static) {
    let h = std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(f)
        .unwrap_or_else(|e| die(format!("spawn: {e}")));
    if h.join().is_err() {
        exit(1);
    }
}

/// The name of storage `S` for the result line.
pub fn storage_name<S: Storage>() -> &'static str {
    S::NAME
}

/// A flag shared with the callbacks (set once at setup).
pub(crate) static TIMERS: AtomicBool = AtomicBool::new(false);
