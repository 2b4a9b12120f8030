//! The board, without evbase: a SysTick millisecond clock, one spare
//! interrupt with a hook, stack painting, semihosting exit, and the panic and
//! fault handlers. Shared by the firmware and by the size baseline.

use core::cell::Cell;
use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::interrupt::InterruptNumber;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::{NVIC, SYST};
use cortex_m::{asm, register};
use cortex_m_rt::{ExceptionFrame, exception};
use cortex_m_semihosting::{debug, hprintln};
use critical_section::Mutex;

/// The core clock of QEMU's lm3s6965evb, in Hz.
const CORE_HZ: u32 = 12_000_000;

/// Milliseconds since [`start_clock`], counted by the SysTick interrupt.
/// Only that interrupt writes it (a load and a store: no compare-and-swap,
/// so the same code runs on thumbv6m).
static TICKS: AtomicU32 = AtomicU32::new(0);

/// At this tick the SysTick interrupt pends the spare interrupt
/// (`u32::MAX`: never).
static PEND_AT: AtomicU32 = AtomicU32::new(u32::MAX);

/// What the spare interrupt's handler runs, once set.
type Hook = Option<fn()>;
static HOOK: Mutex<Cell<Hook>> = Mutex::new(Cell::new(None));

/// The spare interrupt: IRQ 0 (GPIO port A on the LM3S6965). Nothing drives
/// it but [`NVIC::pend`], from the program or from the SysTick interrupt.
#[derive(Debug, Clone, Copy)]
pub struct Spare;

// SAFETY: 0 is a valid IRQ number of the LM3S6965 (GPIO port A).
unsafe impl InterruptNumber for Spare {
    fn number(self) -> u16 {
        0
    }
}

/// Starts the 1 kHz SysTick clock and unmasks the spare interrupt, whose
/// handler runs `hook`.
pub fn start(mut syst: SYST, hook: fn()) {
    critical_section::with(|cs| HOOK.borrow(cs).set(Some(hook)));
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(CORE_HZ / 1000 - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
    // SAFETY: the handler (`DefaultHandler` below) and its hook use only
    // critical sections and atomics; unmasking breaks no critical section.
    unsafe { NVIC::unmask(Spare) };
}

/// Milliseconds since [`start`].
pub fn millis() -> u32 {
    TICKS.load(Ordering::Acquire)
}

/// Pends the spare interrupt now: its handler runs before this returns
/// (unless interrupts are disabled).
pub fn pend() {
    NVIC::pend(Spare);
}

/// Makes the SysTick interrupt pend the spare interrupt when the clock
/// reaches `tick`: an interrupt that arrives while the program sleeps.
pub fn pend_at(tick: u32) {
    PEND_AT.store(tick, Ordering::Release);
}

#[exception]
fn SysTick() {
    let now = TICKS.load(Ordering::Relaxed).wrapping_add(1);
    TICKS.store(now, Ordering::Release);
    if now == PEND_AT.load(Ordering::Acquire) {
        pend();
    }
}

#[exception]
unsafe fn DefaultHandler(irqn: i16) {
    if irqn != Spare.number() as i16 {
        panic!("unexpected interrupt {irqn}");
    }
    if let Some(hook) = critical_section::with(|cs| HOOK.borrow(cs).get()) {
        hook();
    }
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    hprintln!("FAIL: hard fault at pc={:#010x}", frame.pc());
    exit(false)
}

/// Ends the QEMU run: exit status 0 when `ok`, else 1.
pub fn exit(ok: bool) -> ! {
    debug::exit(if ok { debug::EXIT_SUCCESS } else { debug::EXIT_FAILURE });
    loop {
        asm::wfi();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    cortex_m::interrupt::disable();
    hprintln!("FAIL: panic: {}", info);
    exit(false)
}

// Stack high-water mark: the free RAM between the statics and the stack is
// filled with a pattern at start; the lowest word no longer holding it at the
// end is as deep as the stack went.

const PAINT: u32 = 0xACE0_BA5E;

unsafe extern "C" {
    /// End of the statics (cortex-m-rt's `link.x`): the stack may grow down to here.
    static __sheap: u32;
    /// Top of the stack (cortex-m-rt's `link.x`).
    static _stack_start: u32;
}

fn stack_bounds() -> (usize, usize) {
    (&raw const __sheap as usize, &raw const _stack_start as usize)
}

/// Fills the unused stack below the caller's frame with the pattern.
#[inline(never)]
pub fn paint_stack() {
    let (bottom, _) = stack_bounds();
    // Leave room for this function's own frame and what it calls.
    let limit = register::msp::read() as usize - 64;
    let mut p = bottom;
    while p < limit {
        // SAFETY: [__sheap, msp - 64) is RAM that no static and no live stack
        // frame uses (no allocator either); `p` is 4-aligned (__sheap is).
        unsafe { (p as *mut u32).write_volatile(PAINT) };
        p += 4;
    }
}

/// How many bytes of stack have been used at most since [`paint_stack`].
pub fn stack_used() -> usize {
    let (bottom, top) = stack_bounds();
    let mut p = bottom;
    // SAFETY: reads within [__sheap, _stack_start), RAM, 4-aligned.
    while p < top && unsafe { (p as *const u32).read_volatile() } == PAINT {
        p += 4;
    }
    top - p
}

/// The RAM the statics take (`.data`, `.bss` and `.uninit`), in bytes.
pub fn statics_size() -> usize {
    let (bottom, _) = stack_bounds();
    bottom - 0x2000_0000
}
