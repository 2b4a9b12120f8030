//! The firmware's board without evbase, for the size figures: the same
//! start-up, clock, spare interrupt, semihosting output, panic handler and
//! stack painting; a hand-written wait instead of the event loop. Flash and
//! RAM of the firmware minus this are what evbase-core (with the platform
//! glue and the program's callbacks) costs.

#![no_std]
#![no_main]

#[path = "../board.rs"]
mod board;

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
    let peripherals = cortex_m::Peripherals::take().expect("peripherals taken once");
    board::start(peripherals.SYST, spare_interrupt);
    let start = board::millis();
    board::pend();
    board::pend_at(start + 35);
    while board::millis() - start < 55 {
        interrupt::free(|_| asm::wfi());
    }
    let irqs = IRQS.load(Ordering::Relaxed);
    hprintln!("baseline: {} interrupts in {} ms", irqs, board::millis() - start);
    hprintln!(
        "RAM: statics {} bytes, stack high-water {} bytes",
        board::statics_size(),
        board::stack_used()
    );
    board::exit(irqs == 2)
}
