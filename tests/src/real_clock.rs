//! The timer promise on the real clock: no timer fires, and no `loop_exit`
//! returns, before its duration has passed on `std::time::Instant` (the
//! OS's real monotonic clock: `CLOCK_MONOTONIC`, `QueryPerformanceCounter`).
//!
//! The cases count from a `std::time::Instant` read before the call that
//! starts the duration, and check every firing against it: random one-shot
//! timers added outside the loop, in a `with_cached_time` batch, inside
//! callbacks and from another thread; persistent timers over a second; and
//! `loop_exit` while a 1 ms ticker keeps the loop busy. Each runs in the
//! three timing modes of a base ([`MODES`]). With a thousand and more
//! firings per case, a fault that makes one timer in a hundred early fails
//! with a probability above 1 - 10^-4.
//!
//! A timer added inside a callback counts from the base's time at the add,
//! which with the time cache on is the loop iteration's cached time (as in
//! libevent and libev): its reference here is `Instant::now()` minus how
//! far the base's own clock has moved since that cached time, which is no
//! later than the cached time on the real clock.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant as StdInstant};

use evbase_core::{BaseFlags, Callback, Config, EventBase, EventId, Exit, Growable, LoopFlags, Source, What};

use crate::{Rng, TestPlatform};

/// The timing modes of a base: the default (the time cache on), the
/// precise-timer flag, and no time cache.
pub const MODES: [(&str, BaseFlags); 3] = [
    ("default", BaseFlags::empty()),
    ("precise", BaseFlags::PRECISE_TIMER),
    ("no-cache", BaseFlags::NO_CACHE_TIME),
];

type Base<P> = EventBase<P, Growable>;

/// How another thread reaches the base under test: `add(id, timeout)` and
/// `loop_break()` through the platform's remote handle.
pub struct Remote {
    /// Sends `add(id, Some(timeout))`; false when it was refused.
    pub add: Box<dyn Fn(EventId, Duration) -> bool + Send + Sync>,
}

/// A delay of 1 to 150 ms, in microseconds.
fn delay(rng: &mut Rng) -> Duration {
    Duration::from_micros(1_000 + rng.below(149_000))
}

/// What the firings of one case showed.
#[derive(Debug, Default, Clone)]
struct Tally {
    fired: usize,
    early: usize,
    worst_early: Duration,
    worst_late: Duration,
    late_sum: Duration,
}

impl Tally {
    /// Records a firing `elapsed` after its reference, for `asked`.
    fn record(&mut self, elapsed: Duration, asked: Duration) {
        self.fired += 1;
        if elapsed < asked {
            self.early += 1;
            self.worst_early = self.worst_early.max(asked - elapsed);
        } else {
            self.worst_late = self.worst_late.max(elapsed - asked);
            self.late_sum += elapsed - asked;
        }
    }

    fn report(&self, what: &str) -> String {
        let mean = self.late_sum.checked_div(self.fired.max(1) as u32).unwrap_or_default();
        format!(
            "{what}: {}/{} early (worst {:?}); late by {:?} on average, {:?} at worst",
            self.early, self.fired, self.worst_early, mean, self.worst_late
        )
    }
}

/// Where a timer's duration starts, as the base defines it inside a
/// callback: the base's time (the cached time, with the cache on) as a
/// point on std's clock, no later than it really was.
fn reference_in_callback<P: TestPlatform>(base: &mut Base<P>) -> StdInstant {
    let cached = base.now();
    let real = StdInstant::now();
    let moved = base.gettime_monotonic().saturating_since(cached);
    real.checked_sub(moved).unwrap_or(real)
}

/// Where a timer's duration starts on std's clock, the duration, and how
/// it was started (an index into [`KINDS`]).
type Start = (StdInstant, Duration, usize);

/// How one-shot timers are started, for the report.
const KINDS: [&str; 4] = ["outside the loop", "with_cached_time", "inside callbacks", "remote"];

/// Random one-shot timers of 1–150 ms: `n` added one by one outside the
/// loop, `n` in one `with_cached_time` batch, one more added by each of
/// those callbacks (`2n`), and `n` added from another thread through
/// `remote`. None may fire before its duration on the real clock.
///
/// # Panics
/// When one does, or when a timer never fires.
pub fn one_shot<P: TestPlatform>(label: &str, platform: P, config: &Config, remote: Remote, n: usize) {
    let mut base = Base::<P>::with_config(platform, config).expect("the variant opens");
    let total = 5 * n;
    let refs: Arc<Mutex<Vec<Option<Start>>>> = Arc::new(Mutex::new(vec![None; total]));
    let tallies = Rc::new(std::cell::RefCell::new(vec![Tally::default(); KINDS.len()]));
    let fired = Rc::new(Cell::new(0));
    let rng = Rc::new(std::cell::RefCell::new(Rng(0x2545_F491_4F6C_DD1D ^ label.len() as u64)));
    let mut ids = Vec::with_capacity(total);
    // Timers 0..2n start outside the loop; each also starts 2n + i from its
    // callback; 4n.. are the remote ones.
    for i in 0..total {
        let (refs2, tallies2, fired2, rng2) = (refs.clone(), tallies.clone(), fired.clone(), rng.clone());
        let follow = Rc::new(Cell::new(None::<EventId>));
        let follow2 = follow.clone();
        let id = base
            .new_event(
                Source::None,
                What::TIMEOUT,
                Callback::new(move |bs: &mut Base<P>, _, what| {
                    let now = StdInstant::now();
                    assert_eq!(what, What::TIMEOUT);
                    let (at, asked, kind) = refs2.lock().unwrap()[i].expect("a started timer");
                    tallies2.borrow_mut()[kind].record(now - at, asked);
                    if let Some(next) = follow2.get() {
                        let d = delay(&mut rng2.borrow_mut());
                        let at = reference_in_callback(bs);
                        refs2.lock().unwrap()[2 * n + i] = Some((at, d, 2));
                        bs.add(next, Some(d)).unwrap();
                    }
                    fired2.set(fired2.get() + 1);
                    if fired2.get() == total {
                        bs.loop_break();
                    }
                }),
            )
            .unwrap();
        ids.push((id, follow));
    }
    for i in 0..2 * n {
        ids[i].1.set(Some(ids[2 * n + i].0));
    }
    let ids: Vec<EventId> = ids.into_iter().map(|(id, _)| id).collect();
    // The remote thread starts after the loop, spread over ~100 ms.
    let remote_ids: Vec<(usize, EventId)> = (4 * n..total).map(|i| (i, ids[i])).collect();
    let remote_delays: Vec<Duration> = (0..n).map(|_| delay(&mut rng.borrow_mut())).collect();
    let refs2 = refs.clone();
    let sender = std::thread::spawn(move || {
        for ((i, id), d) in remote_ids.into_iter().zip(remote_delays) {
            std::thread::sleep(Duration::from_micros(100_000 / n as u64));
            refs2.lock().unwrap()[i] = Some((StdInstant::now(), d, 3));
            assert!((remote.add)(id, d), "the remote add was accepted");
        }
    });
    for (i, &id) in ids[..n].iter().enumerate() {
        let d = delay(&mut rng.borrow_mut());
        refs.lock().unwrap()[i] = Some((StdInstant::now(), d, 0));
        base.add(id, Some(d)).unwrap();
    }
    let batch: Vec<Duration> = (0..n).map(|_| delay(&mut rng.borrow_mut())).collect();
    let at = StdInstant::now();
    base.with_cached_time(|b| {
        for (k, &d) in batch.iter().enumerate() {
            refs.lock().unwrap()[n + k] = Some((at, d, 1));
            b.add(ids[n + k], Some(d)).unwrap();
        }
    });
    let start = StdInstant::now();
    assert_eq!(base.run(LoopFlags::NO_EXIT_ON_EMPTY), Ok(Exit::Done));
    sender.join().unwrap();
    assert_eq!(fired.get(), total, "{label}: every timer fired once");
    let tallies = tallies.borrow();
    let mut early = 0;
    for (kind, t) in KINDS.iter().zip(tallies.iter()) {
        eprintln!("one_shot[{label}] {}", t.report(kind));
        early += t.early;
    }
    eprintln!("one_shot[{label}]: {total} timers in {:?}", start.elapsed());
    assert_eq!(
        early, 0,
        "{label}: {early} of {total} one-shot timers fired early on the real clock"
    );
}

/// Persistent timers of 1, 7 and 31 ms over a little more than a second:
/// the k-th firing comes no earlier than k intervals after the add.
///
/// # Panics
/// When one firing is early.
pub fn persistent<P: TestPlatform>(label: &str, platform: P, config: &Config) {
    let mut base = Base::<P>::with_config(platform, config).expect("the variant opens");
    let tally = Rc::new(std::cell::RefCell::new(Tally::default()));
    let mut timers = Vec::new();
    for interval in [1, 7, 31].map(Duration::from_millis) {
        let start = Rc::new(Cell::new(StdInstant::now()));
        let (s, t) = (start.clone(), tally.clone());
        let mut k = 0u32;
        let id = base
            .new_event(
                Source::None,
                What::PERSIST,
                Callback::new(move |_: &mut Base<P>, _, _| {
                    k += 1;
                    t.borrow_mut().record(s.get().elapsed(), interval * k);
                }),
            )
            .unwrap();
        timers.push((id, interval, start));
    }
    for (id, interval, start) in &timers {
        start.set(StdInstant::now());
        base.add(*id, Some(*interval)).unwrap();
    }
    base.loop_exit(Some(Duration::from_millis(1_050))).unwrap();
    assert_eq!(base.dispatch(), Ok(Exit::Done));
    let t = tally.borrow();
    eprintln!("persistent[{label}] {}", t.report("1/7/31 ms"));
    assert!(t.fired > 150, "{label}: the timers ran ({} firings)", t.fired);
    assert_eq!(
        t.early, 0,
        "{label}: {} of {} persistent firings were early",
        t.early, t.fired
    );
}

/// `loop_exit(1 s)`, then `runs` of `loop_exit` after 1–15 ms, while a
/// persistent 1 ms ticker keeps the loop waking: no run returns before its
/// duration on the real clock.
///
/// # Panics
/// When one returns early.
pub fn loop_exit_with_ticker<P: TestPlatform>(label: &str, platform: P, config: &Config, runs: usize) {
    let mut base = Base::<P>::with_config(platform, config).expect("the variant opens");
    let ticks = Rc::new(Cell::new(0u32));
    let t = ticks.clone();
    let ticker = base
        .new_event(
            Source::None,
            What::PERSIST,
            Callback::new(move |_: &mut Base<P>, _, _| t.set(t.get() + 1)),
        )
        .unwrap();
    base.add(ticker, Some(Duration::from_millis(1))).unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ label.len() as u64);
    let mut tally = Tally::default();
    for run in 0..=runs {
        let d = if run == 0 {
            Duration::from_secs(1)
        } else {
            Duration::from_micros(1_000 + rng.below(14_000))
        };
        let at = StdInstant::now();
        base.loop_exit(Some(d)).unwrap();
        assert_eq!(base.dispatch(), Ok(Exit::Done));
        tally.record(at.elapsed(), d);
        assert!(base.got_exit());
    }
    eprintln!(
        "loop_exit[{label}] {} ({} ticks)",
        tally.report("1 s + 1-15 ms"),
        ticks.get()
    );
    assert!(ticks.get() > 100, "{label}: the ticker ran");
    assert_eq!(
        tally.early, 0,
        "{label}: {} of {} loop_exit runs returned early",
        tally.early, tally.fired
    );
}
