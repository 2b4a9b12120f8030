//! evbase-core on a Cortex-M3 (QEMU's lm3s6965evb), with its own platform
//! ([`platform::Board`]), fixed-capacity storage and no allocator.
//!
//! The program, in milliseconds from the start of the loop:
//!
//! - 0: three user events, activated low, middle, high before the loop
//!   starts, run high, middle, low (strict priorities);
//! - every 10: a persistent timer ("tick", middle priority);
//! - 20: the second tick pends the spare interrupt from software; its
//!   handler activates the "irq" event (high priority) through the remote
//!   queue, which runs right after the tick;
//! - 25: two one-shot events on a 25 ms common timeout (low priority), in the
//!   order they were added;
//! - 35: the SysTick interrupt pends the spare interrupt while the loop sleeps
//!   in `wfi` until the tick at 40: the "irq" event runs at 35, not 40;
//! - 55: `loop_exit` ends the loop.
//!
//! Every callback appends to a fixed log; the log is printed over
//! semihosting and compared with the expected sequence, order, counts and
//! times. QEMU exits with 0 when they match, 1 otherwise (or on a panic).

#![no_std]
#![no_main]

mod board;
mod platform;

use core::cell::RefCell;
use core::mem::size_of;
use core::sync::atomic::Ordering;
use core::time::Duration;

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use critical_section::Mutex;
use evbase_core::{Callback, Error, EventBase, EventId, Exit, Fixed, Source, What};

use platform::{Board, REMOTE};

/// The base of this firmware: 16 entries per table.
type Base = EventBase<Board, Fixed<16>>;

const HIGH: usize = 0;
const MIDDLE: usize = 1;
const LOW: usize = 2;

/// What ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    High,
    Middle,
    Low,
    Tick,
    Irq,
    Common,
    Exit,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::High => "high",
            Kind::Middle => "middle",
            Kind::Low => "low",
            Kind::Tick => "tick",
            Kind::Irq => "irq",
            Kind::Common => "common",
            Kind::Exit => "exit",
        }
    }
}

/// One log line: what ran, its number (the nth tick, the nth irq; which
/// common event), when (ms after the loop started) and with what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    kind: Kind,
    n: u32,
    at: u32,
    what: What,
}

/// Callbacks may run this late after their due time (QEMU runs with
/// `-icount`, so the times are exact in CI; this keeps the check meaningful
/// without it). Never early: that is checked exactly.
const SLACK_MS: u32 = 3;

/// (kind, n, due ms, what the callback is told).
const EXPECTED: [(Kind, u32, u32, What); 13] = [
    (Kind::High, 1, 0, What::READ),
    (Kind::Middle, 1, 0, What::READ),
    (Kind::Low, 1, 0, What::READ),
    (Kind::Tick, 1, 10, What::TIMEOUT),
    (Kind::Tick, 2, 20, What::TIMEOUT),
    (Kind::Irq, 1, 20, What::READ),
    (Kind::Common, 1, 25, What::TIMEOUT),
    (Kind::Common, 2, 25, What::TIMEOUT),
    (Kind::Tick, 3, 30, What::TIMEOUT),
    (Kind::Irq, 2, 35, What::READ),
    (Kind::Tick, 4, 40, What::TIMEOUT),
    (Kind::Tick, 5, 50, What::TIMEOUT),
    (Kind::Exit, 1, 55, What::empty()),
];

static LOG: Mutex<RefCell<heapless::Vec<Entry, 24>>> = Mutex::new(RefCell::new(heapless::Vec::new()));

/// The event the spare interrupt activates, and the loop's start tick.
static IRQ_EVENT: Mutex<RefCell<Option<EventId>>> = Mutex::new(RefCell::new(None));
static START: Mutex<RefCell<u32>> = Mutex::new(RefCell::new(0));

fn elapsed() -> u32 {
    board::millis() - critical_section::with(|cs| *START.borrow_ref(cs))
}

/// Appends to the log; `n` 0 numbers the entry after the earlier ones of its kind.
fn record(base: &mut Base, kind: Kind, n: u32, what: What) -> u32 {
    // Inside the loop `now` is the time cached after the last wait.
    let now = (base.now().as_nanos() / 1_000_000) as u32;
    let at = now - critical_section::with(|cs| *START.borrow_ref(cs));
    critical_section::with(|cs| {
        let mut log = LOG.borrow_ref_mut(cs);
        let n = if n == 0 {
            log.iter().filter(|e| e.kind == kind).count() as u32 + 1
        } else {
            n
        };
        log.push(Entry { kind, n, at, what })
            .expect("log full: more callbacks than expected");
        n
    })
}

fn on_user(base: &mut Base, _id: EventId, what: What, kind: usize) {
    let kind = [Kind::High, Kind::Middle, Kind::Low][kind];
    record(base, kind, 0, what);
}

fn on_tick(base: &mut Base, _id: EventId, what: What, _: usize) {
    if record(base, Kind::Tick, 0, what) == 2 {
        // The handler runs now, queues the activation and wakes the loop;
        // the base applies it after this callback.
        board::pend();
    }
}

fn on_irq(base: &mut Base, _id: EventId, what: What, _: usize) {
    record(base, Kind::Irq, 0, what);
}

fn on_common(base: &mut Base, _id: EventId, what: What, n: usize) {
    record(base, Kind::Common, n as u32, what);
}

/// The spare interrupt's handler: activates the irq event through the
/// remote queue (the only way an interrupt handler reaches the base).
fn spare_interrupt() {
    if let Some(id) = critical_section::with(|cs| *IRQ_EVENT.borrow_ref(cs)) {
        REMOTE.activate(id, What::READ).expect("remote queue full");
    }
}

/// A new event with no handle, at `priority`.
fn event(base: &mut Base, what: What, priority: usize, callback: Callback<Board, Fixed<16>>) -> Result<EventId, Error> {
    let id = base.new_event(Source::None, what, callback)?;
    base.set_priority(id, priority)?;
    Ok(id)
}

fn run() -> Result<(Exit, bool), Error> {
    let mut base = Base::new(Board)?;
    base.priority_init(3)?;

    let high = event(&mut base, What::empty(), HIGH, Callback::from_fn(on_user, HIGH))?;
    let middle = event(&mut base, What::empty(), MIDDLE, Callback::from_fn(on_user, MIDDLE))?;
    let low = event(&mut base, What::empty(), LOW, Callback::from_fn(on_user, LOW))?;
    let tick = event(&mut base, What::PERSIST, MIDDLE, Callback::from_fn(on_tick, 0))?;
    let irq = event(&mut base, What::PERSIST, HIGH, Callback::from_fn(on_irq, 0))?;
    base.add(irq, None)?; // pending with no timeout: keeps the loop alive, like a registered handle
    let common = base.init_common_timeout(Duration::from_millis(25))?;
    let commons = [
        event(&mut base, What::empty(), LOW, Callback::from_fn(on_common, 1))?,
        event(&mut base, What::empty(), LOW, Callback::from_fn(on_common, 2))?,
    ];

    let start = board::millis();
    critical_section::with(|cs| {
        *START.borrow_ref_mut(cs) = start;
        *IRQ_EVENT.borrow_ref_mut(cs) = Some(irq);
    });
    base.add(tick, Some(Duration::from_millis(10)))?;
    for id in commons {
        base.add_common(id, common)?;
    }
    base.loop_exit(Some(Duration::from_millis(55)))?;
    board::pend_at(start + 35);
    // Activated low first: the loop still runs them by priority.
    for id in [low, middle, high] {
        base.active(id, What::READ, 1)?;
    }

    let exit = base.dispatch()?;
    let got_exit = base.got_exit();
    let at = elapsed();
    critical_section::with(|cs| {
        LOG.borrow_ref_mut(cs).push(Entry {
            kind: Kind::Exit,
            n: 1,
            at,
            what: What::empty(),
        })
    })
    .expect("log full");
    Ok((exit, got_exit))
}

#[entry]
fn main() -> ! {
    board::paint_stack();
    let peripherals = cortex_m::Peripherals::take().expect("peripherals taken once");
    board::start(peripherals.SYST, spare_interrupt);

    hprintln!(
        "evbase-core on lm3s6965 (Cortex-M3): method \"wfi\", EventBase<Board, Fixed<16>> = {} bytes, RemoteQueue<8> = {} bytes",
        size_of::<Base>(),
        size_of::<evbase_core::RemoteQueue<8>>()
    );
    let (exit, got_exit) = match run() {
        Ok(r) => r,
        Err(e) => {
            hprintln!("FAIL: {}", e);
            board::exit(false)
        }
    };

    let mut ok = exit == Exit::Done && got_exit;
    hprintln!("dispatch returned {:?}, got_exit = {}", exit, got_exit);
    let log = critical_section::with(|cs| LOG.borrow_ref(cs).clone());
    for (i, e) in log.iter().enumerate() {
        let verdict = match EXPECTED.get(i) {
            Some(&(kind, n, due, what)) if (kind, n, what) == (e.kind, e.n, e.what) => {
                if e.at < due {
                    "EARLY"
                } else if e.at > due + SLACK_MS {
                    "LATE"
                } else {
                    "ok"
                }
            }
            Some(_) => "WRONG",
            None => "EXTRA",
        };
        ok &= verdict == "ok";
        hprintln!("{:4} ms  {:6} #{}  {:?}  {}", e.at, e.kind.name(), e.n, e.what, verdict);
    }
    for &(kind, n, due, _) in EXPECTED.iter().skip(log.len()) {
        ok = false;
        hprintln!("  expected at {} ms: {} #{}  MISSING", due, kind.name(), n);
    }

    let count = |k: Kind| log.iter().filter(|e| e.kind == k).count();
    let (ticks, irqs, commons) = (count(Kind::Tick), count(Kind::Irq), count(Kind::Common));
    let waits = platform::WAITS.load(Ordering::Relaxed);
    let wakes = platform::REMOTE_WAKES.load(Ordering::Relaxed);
    hprintln!(
        "counts: user {}, tick {}, irq {}, common {}; backend waits {}, ended by a remote wake {}",
        count(Kind::High) + count(Kind::Middle) + count(Kind::Low),
        ticks,
        irqs,
        commons,
        waits,
        wakes
    );
    // The hardware-timed interrupt came while the loop slept: a wake ended a wait.
    ok &= (ticks, irqs, commons) == (5, 2, 2) && wakes >= 1;
    hprintln!(
        "RAM: statics {} bytes, stack high-water {} bytes",
        board::statics_size(),
        board::stack_used()
    );
    hprintln!(
        "{}",
        if ok {
            "PASS"
        } else {
            "FAIL: the loop did not run what was expected"
        }
    );
    board::exit(ok)
}
