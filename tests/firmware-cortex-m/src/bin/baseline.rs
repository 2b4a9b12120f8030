//! The firmware without evbase, for the size figures: the same board
//! (start-up, clock, spare interrupt, panic handler, stack painting) and the
//! same report, with the log written by a hand-made sleep loop that follows
//! the expected schedule instead of the event loop. The firmware's flash and
//! RAM minus this baseline's are what evbase-core costs there, with its
//! platform glue and the program's event set-up.

#![no_std]
#![no_main]

#[path = "../board.rs"]
mod board;
#[path = "../report.rs"]
mod report;

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::{asm, interrupt};
use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;

static IRQS: AtomicU32 = AtomicU32::new(0);

fn spare_interrupt() {
    IRQS.store(IRQS.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

#[entry]
fn main() -> ! {
    board::paint_stack();
    let Some(peripherals) = cortex_m::Peripherals::take() else {
        panic!("peripherals taken twice")
    };
    board::start(peripherals.SYST, spare_interrupt);
    let start = board::millis();
    board::pend();
    board::pend_at(start + 35);
    for (kind, n, due, what) in report::EXPECTED {
        while board::millis() - start < due {
            interrupt::free(|_| asm::wfi());
        }
        report::record(kind, n, board::millis() - start, what);
    }
    hprintln!("baseline: {} interrupts", IRQS.load(Ordering::Relaxed));
    let ok = report::check();
    hprintln!(
        "RAM: statics {} bytes, stack high-water {} bytes",
        board::statics_size(),
        board::stack_used()
    );
    hprintln!("{}", if ok { "PASS" } else { "FAIL: wrong log" });
    board::exit(ok)
}
