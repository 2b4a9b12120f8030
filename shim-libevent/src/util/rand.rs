//! Random numbers: libevent's weak generator (a fast LCG for jitter and
//! shuffles, whose state the caller owns) and its secure generator, which
//! here is the kernel's (`getrandom(2)`, or a random device) in place of
//! libevent's arc4random.

use core::ffi::{c_char, c_int, c_void};
use std::ffi::CString;
use std::sync::{Mutex, PoisonError};

use super::sys;
use crate::log;

/// `struct evutil_weakrand_state`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WeakrandState {
    /// `seed`: the generator's whole state.
    pub seed: u32,
}

/// `EVUTIL_WEAKRAND_MAX`: the largest value `evutil_weakrand_` returns.
const WEAKRAND_MAX: i32 = i32::MAX;

impl WeakrandState {
    /// The next value in `0..=WEAKRAND_MAX`: the LCG of glibc's `TYPE_0`
    /// generator (multiplier 1103515245, increment 12345, modulus 2^31).
    fn next(&mut self) -> i32 {
        self.seed = self.seed.wrapping_mul(1_103_515_245).wrapping_add(12_345) & 0x7fff_ffff;
        self.seed as i32
    }

    /// A value in `0..top` from the high bits (the low bits of an LCG
    /// with a power-of-two modulus repeat quickly).
    fn below(&mut self, top: i32) -> i32 {
        let divisor = WEAKRAND_MAX / top;
        loop {
            let r = self.next() / divisor;
            if r < top {
                return r;
            }
        }
    }
}

/// `evutil_weakrand_seed_`: sets the seed; 0 means "pick one" (from the
/// time and the process id). Returns the seed used.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_weakrand_seed_(state: *mut WeakrandState, seed: u32) -> u32 {
    // SAFETY: the caller passes its own state or null.
    let Some(state) = (unsafe { state.as_mut() }) else {
        log::warn(format_args!("evutil_weakrand_seed_: null state"));
        return 0;
    };
    let seed = if seed == 0 { fresh_seed() } else { seed };
    state.seed = seed;
    seed
}

/// A seed that differs from run to run; weak by design.
fn fresh_seed() -> u32 {
    let now = sys::gettimeofday().unwrap_or(libc::timeval { tv_sec: 0, tv_usec: 0 });
    (now.tv_sec as u32)
        .wrapping_add(now.tv_usec as u32)
        .wrapping_add(sys::getpid() as u32)
}

/// `evutil_weakrand_`: the next value, in `0..=EVUTIL_WEAKRAND_MAX`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_weakrand_(state: *mut WeakrandState) -> i32 {
    // SAFETY: the caller passes its own state or null.
    match unsafe { state.as_mut() } {
        Some(state) => state.next(),
        None => {
            log::warn(format_args!("evutil_weakrand_: null state"));
            0
        }
    }
}

/// `evutil_weakrand_range_`: a value in `0..top`; `top` must be positive.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_weakrand_range_(state: *mut WeakrandState, top: i32) -> i32 {
    // SAFETY: the caller passes its own state or null.
    let state = unsafe { state.as_mut() };
    match state {
        Some(state) if top > 0 => state.below(top),
        _ => {
            log::warn(format_args!("evutil_weakrand_range_: null state or top {top} < 1"));
            0
        }
    }
}

/// The random device read where `getrandom(2)` is missing or forbidden:
/// `None` is `/dev/urandom`.
static DEVICE: Mutex<Option<CString>> = Mutex::new(None);

/// Fills `buf` from the kernel's secure random source.
fn fill_secure(buf: &mut [u8]) -> Result<(), sys::Errno> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let mut filled = 0;
        while filled < buf.len() {
            match sys::getrandom(&mut buf[filled..]) {
                Ok(n) => filled += n,
                Err(libc::EINTR) => {}
                // No such call (old kernel) or a sandbox forbids it.
                Err(libc::ENOSYS | libc::EPERM) => return fill_from_device(&mut buf[filled..]),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fill_from_device(buf)
}

/// Fills `buf` from the random device.
fn fill_from_device(buf: &mut [u8]) -> Result<(), sys::Errno> {
    let device = DEVICE.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let path = device.as_deref().unwrap_or(c"/dev/urandom");
    let fd = sys::open(path, libc::O_RDONLY | libc::O_CLOEXEC, 0)?;
    let mut filled = 0;
    let mut result = Ok(());
    while filled < buf.len() {
        match sys::read(fd, &mut buf[filled..]) {
            Ok(0) => {
                result = Err(libc::EIO);
                break;
            }
            Ok(n) => filled += n,
            Err(libc::EINTR) => {}
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    let _ = sys::close(fd);
    result
}

/// `evutil_secure_rng_init`: 0 when secure random bytes can be had.
/// The kernel's generator needs no seeding, so this only checks.
#[unsafe(no_mangle)]
pub extern "C" fn evutil_secure_rng_init() -> c_int {
    let mut probe = [0u8; 16];
    match fill_secure(&mut probe) {
        Ok(()) => 0,
        Err(e) => {
            log::warn_errno(e, format_args!("evutil_secure_rng_init: no random source"));
            -1
        }
    }
}

/// `evutil_secure_rng_get_bytes`: `n` secure random bytes into `buf`.
/// There is no way to report failure, and predictable bytes would be
/// worse than none, so a missing random source is fatal.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_secure_rng_get_bytes(buf: *mut c_void, n: usize) {
    if n == 0 {
        return;
    }
    if buf.is_null() {
        log::warn(format_args!("evutil_secure_rng_get_bytes: null buffer"));
        return;
    }
    // SAFETY: the caller passes a buffer writable for `n` bytes.
    let buf = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), n) };
    if let Err(e) = fill_secure(buf) {
        log::fatal(
            log::ERR_ABORT,
            format_args!("evutil_secure_rng_get_bytes: no random source: {}", sys::error_text(e)),
        );
    }
}

/// `evutil_secure_rng_add_bytes`: the kernel's generator takes no
/// entropy from unprivileged callers, and needs none.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_secure_rng_add_bytes(dat: *const c_char, datlen: usize) {
    let _ = (dat, datlen);
}

/// `evutil_secure_rng_set_urandom_device_file`: the device read when
/// `getrandom(2)` is unavailable (libevent: the one it seeds from). The
/// name is copied. Returns 0.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_secure_rng_set_urandom_device_file(fname: *mut c_char) -> c_int {
    let name = if fname.is_null() {
        None
    } else {
        // SAFETY: the caller passes a NUL-terminated path.
        Some(unsafe { core::ffi::CStr::from_ptr(fname) }.to_owned())
    };
    *DEVICE.lock().unwrap_or_else(PoisonError::into_inner) = name;
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weakrand_is_glibcs_type_0_lcg() {
        let mut state = WeakrandState::default();
        // SAFETY: a valid state.
        assert_eq!(unsafe { evutil_weakrand_seed_(&mut state, 1) }, 1);
        // SAFETY: a valid state.
        let first = unsafe { evutil_weakrand_(&mut state) };
        assert_eq!(first, (1_103_515_245_u32.wrapping_add(12_345) & 0x7fff_ffff) as i32);
        assert_eq!(state.seed, first as u32);
    }

    #[test]
    fn weakrand_seed_zero_picks_one() {
        let mut state = WeakrandState::default();
        // SAFETY: a valid state.
        let seed = unsafe { evutil_weakrand_seed_(&mut state, 0) };
        assert_ne!(seed, 0);
        assert_eq!(state.seed, seed);
    }

    #[test]
    fn weakrand_range_stays_below_top() {
        let mut state = WeakrandState { seed: 12_346_789 };
        for top in [1, 2, 7, 9999, i32::MAX] {
            for _ in 0..1000 {
                // SAFETY: a valid state.
                let r = unsafe { evutil_weakrand_range_(&mut state, top) };
                assert!((0..top).contains(&r), "{r} not below {top}");
            }
        }
        // SAFETY: a valid state; a bad top is the case under test.
        assert_eq!(unsafe { evutil_weakrand_range_(&mut state, 0) }, 0);
    }

    #[test]
    fn secure_bytes_fill_exactly_the_buffer() {
        assert_eq!(evutil_secure_rng_init(), 0);
        let mut buf = [0u8; 40];
        let mut seen = [0u8; 40];
        for _ in 0..8 {
            buf[4..36].fill(0);
            // SAFETY: 32 writable bytes at offset 4.
            unsafe { evutil_secure_rng_get_bytes(buf[4..].as_mut_ptr().cast(), 32) };
            for (s, b) in seen.iter_mut().zip(buf) {
                *s |= b;
            }
        }
        assert!(seen[..4].iter().chain(&seen[36..]).all(|&b| b == 0));
        // Each byte stays zero through 8 draws with probability 2^-64.
        assert!(seen[4..36].iter().all(|&b| b != 0));
    }

    #[test]
    fn the_device_is_read_when_asked() {
        let mut buf = [0u8; 64];
        assert_eq!(fill_from_device(&mut buf), Ok(()));
        assert!(buf.iter().any(|&b| b != 0));
    }
}
