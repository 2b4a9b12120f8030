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
mod report;

use core::cell::RefCell;
use core::mem::size_of;
use core::sync::atomic::Ordering;
use core::time::Duration;

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use critical_section::Mutex;
use evbase_core::{Callback, Error, EventBase, EventId, Exit, Fixed, Source, What};

use platform::{Board, REMOTE};
use report::Kind;

/// The base of this firmware: 16 entries per table.
type Base = EventBase<Board, Fixed<16, 4>>;

const HIGH: usize = 0;
const MIDDLE: usize = 1;
const LOW: usize = 2;

/// The event the spare interrupt activates, and the loop's start tick.
static IRQ_EVENT: Mutex<RefCell<Option<EventId>>> = Mutex::new(RefCell::new(None));
static START: Mutex<RefCell<u32>> = Mutex::new(RefCell::new(0));

fn elapsed() -> u32 {
    board::millis() - critical_section::with(|cs| *START.borrow_ref(cs))
}

/// Logs a callback at the base's time (inside the loop: the time cached
/// after the last wait), in ms after the loop started.
fn record(base: &mut Base, kind: Kind, n: u32, what: What) -> u32 {
    let now = (base.now().as_nanos() / 1_000_000) as u32;
    report::record(kind, n, now - critical_section::with(|cs| *START.borrow_ref(cs)), what)
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
    if let Some(id) = critical_section::with(|cs| *IRQ_EVENT.borrow_ref(cs))
        && REMOTE.activate(id, What::READ).is_err()
    {
        panic!("the remote queue refused an activation");
    }
}

/// A new event with no handle, at `priority`.
fn event(
    base: &mut Base,
    what: What,
    priority: usize,
    callback: Callback<Board, Fixed<16, 4>>,
) -> Result<EventId, Error> {
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
    report::record(Kind::Exit, 1, elapsed(), What::empty());
    Ok((exit, base.got_exit()))
}

#[entry]
fn main() -> ! {
    board::paint_stack();
    let Some(peripherals) = cortex_m::Peripherals::take() else {
        panic!("peripherals taken twice")
    };
    board::start(peripherals.SYST, spare_interrupt);

    hprintln!(
        "evbase-core on lm3s6965 (Cortex-M3): method \"wfi\", EventBase<Board, Fixed<16, 4>> = {} bytes, RemoteQueue<Fixed<8>> = {} bytes",
        size_of::<Base>(),
        size_of::<evbase_core::RemoteQueue<Fixed<8>>>()
    );
    let (exit, got_exit) = match run() {
        Ok(r) => r,
        Err(e) => {
            hprintln!("FAIL: {}", e);
            board::exit(false)
        }
    };

    hprintln!(
        "dispatch returned {}, got_exit = {}",
        if exit == Exit::Done { "Done" } else { "NoEvents" },
        got_exit
    );
    let mut ok = report::check() && exit == Exit::Done && got_exit;
    let waits = platform::WAITS.load(Ordering::Relaxed);
    let wakes = platform::REMOTE_WAKES.load(Ordering::Relaxed);
    hprintln!("backend: {} waits, {} ended by a remote wake", waits, wakes);
    // The interrupt timed by SysTick came while the loop slept: a wake ended a wait.
    ok &= wakes >= 1;
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
