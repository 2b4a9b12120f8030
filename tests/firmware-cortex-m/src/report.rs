//! The log of what ran, the expected sequence, and the check that prints
//! both. Shared by the firmware and by the size baseline, so that the size
//! difference between them is evbase and its use, not this report.

use core::cell::RefCell;

use cortex_m_semihosting::hprintln;
use critical_section::Mutex;
use evbase_core::What;

/// What ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
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
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Entry {
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
pub const EXPECTED: [(Kind, u32, u32, What); 13] = [
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

type Log = heapless::Vec<Entry, 24>;
static LOG: Mutex<RefCell<Log>> = Mutex::new(RefCell::new(heapless::Vec::new()));

/// Appends to the log and returns the entry's number: `n`, or with `n` 0
/// one more than the earlier entries of its kind.
pub fn record(kind: Kind, n: u32, at: u32, what: What) -> u32 {
    critical_section::with(|cs| {
        let mut log = LOG.borrow_ref_mut(cs);
        let n = if n == 0 {
            log.iter().filter(|e| e.kind == kind).count() as u32 + 1
        } else {
            n
        };
        if log.push(Entry { kind, n, at, what }).is_err() {
            panic!("log full: more callbacks than expected");
        }
        n
    })
}

/// Prints the log with a verdict per line; true when it is the expected
/// sequence (kinds, numbers, flags, and times within the slack), which also
/// makes the counts right.
pub fn check() -> bool {
    let log = critical_section::with(|cs| LOG.borrow_ref(cs).clone());
    let mut ok = true;
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
    hprintln!(
        "counts: user {}, tick {}, irq {}, common {}, exit {}",
        count(Kind::High) + count(Kind::Middle) + count(Kind::Low),
        count(Kind::Tick),
        count(Kind::Irq),
        count(Kind::Common),
        count(Kind::Exit),
    );
    ok
}
