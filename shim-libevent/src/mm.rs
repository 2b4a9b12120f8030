//! libevent's replaceable allocator: `event_set_mem_functions`, and the
//! `event_mm_*_` functions of libevent's mm-internal.h that its C code and
//! test programs allocate with.
//!
//! The rest of the crate allocates memory a C program may see or free
//! through [`malloc`], [`calloc`], [`realloc`] and [`free`], so that the
//! program's functions, once set, see every block. As in libevent, a zero
//! size allocates nothing (null), and `calloc` and `strdup` are built from
//! the program's `malloc` when it has one.

use core::ffi::{CStr, c_char, c_void};
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};

use crate::util::sys;

/// `void *(*malloc_fn)(size_t)`.
pub type MallocFn = Option<unsafe extern "C" fn(usize) -> *mut c_void>;

/// `void *(*realloc_fn)(void *, size_t)`.
pub type ReallocFn = Option<unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void>;

/// `void (*free_fn)(void *)`.
pub type FreeFn = Option<unsafe extern "C" fn(*mut c_void)>;

/// The program's functions, as data pointers (null: the C library's).
static MALLOC_FN: AtomicPtr<()> = AtomicPtr::new(ptr::null_mut());
static REALLOC_FN: AtomicPtr<()> = AtomicPtr::new(ptr::null_mut());
static FREE_FN: AtomicPtr<()> = AtomicPtr::new(ptr::null_mut());

fn malloc_fn() -> MallocFn {
    // SAFETY: MALLOC_FN holds null or a `MallocFn` stored by
    // `event_set_mem_functions`; an `Option` of a fn pointer has a data
    // pointer's size, with null as `None`.
    unsafe { core::mem::transmute::<*mut (), MallocFn>(MALLOC_FN.load(Ordering::Acquire)) }
}

fn realloc_fn() -> ReallocFn {
    // SAFETY: as `malloc_fn`, for REALLOC_FN and `ReallocFn`.
    unsafe { core::mem::transmute::<*mut (), ReallocFn>(REALLOC_FN.load(Ordering::Acquire)) }
}

fn free_fn() -> FreeFn {
    // SAFETY: as `malloc_fn`, for FREE_FN and `FreeFn`.
    unsafe { core::mem::transmute::<*mut (), FreeFn>(FREE_FN.load(Ordering::Acquire)) }
}

/// `event_set_mem_functions`: the library allocates with these from now
/// on. A null function means the C library's.
#[unsafe(no_mangle)]
pub extern "C" fn event_set_mem_functions(malloc_fn: MallocFn, realloc_fn: ReallocFn, free_fn: FreeFn) {
    MALLOC_FN.store(malloc_fn.map_or(ptr::null_mut(), |f| f as *mut ()), Ordering::Release);
    REALLOC_FN.store(realloc_fn.map_or(ptr::null_mut(), |f| f as *mut ()), Ordering::Release);
    FREE_FN.store(free_fn.map_or(ptr::null_mut(), |f| f as *mut ()), Ordering::Release);
}

/// `size` uninitialized bytes, or null (a zero size, or no memory).
pub(crate) fn malloc(size: usize) -> *mut c_void {
    if size == 0 {
        return ptr::null_mut();
    }
    match malloc_fn() {
        // SAFETY: the program's malloc takes any size.
        Some(f) => unsafe { f(size) },
        // SAFETY: malloc takes any size.
        None => unsafe { libc::malloc(size) },
    }
}

/// `count * size` zeroed bytes, or null: a zero count or size, an
/// overflowing product or no memory (`errno` is `ENOMEM` then).
pub(crate) fn calloc(count: usize, size: usize) -> *mut c_void {
    if count == 0 || size == 0 {
        return ptr::null_mut();
    }
    let Some(f) = malloc_fn() else {
        // SAFETY: calloc takes any sizes and checks the product itself.
        return unsafe { libc::calloc(count, size) };
    };
    let Some(total) = count.checked_mul(size) else {
        sys::set_errno(libc::ENOMEM);
        return ptr::null_mut();
    };
    // SAFETY: the program's malloc takes any size.
    let p = unsafe { f(total) };
    if p.is_null() {
        sys::set_errno(libc::ENOMEM);
        return p;
    }
    // SAFETY: `p` is a fresh block of `total` writable bytes.
    unsafe { ptr::write_bytes(p.cast::<u8>(), 0, total) };
    p
}

/// A copy of `s` with its NUL, or null (no memory).
pub(crate) fn strdup(s: &CStr) -> *mut c_char {
    let Some(f) = malloc_fn() else {
        // SAFETY: `s` is a valid C string.
        return unsafe { libc::strdup(s.as_ptr()) };
    };
    let bytes = s.to_bytes_with_nul();
    // SAFETY: the program's malloc takes any size.
    let p = unsafe { f(bytes.len()) }.cast::<u8>();
    if p.is_null() {
        sys::set_errno(libc::ENOMEM);
        return ptr::null_mut();
    }
    // SAFETY: `p` is a fresh block of `bytes.len()` writable bytes.
    unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len()) };
    p.cast()
}

/// Resizes the block `p` (null: allocates) to `size` bytes.
///
/// # Safety
/// `p` is null or a live block from this module's functions.
pub(crate) unsafe fn realloc(p: *mut c_void, size: usize) -> *mut c_void {
    match realloc_fn() {
        // SAFETY: the caller passes a block of the program's allocator.
        Some(f) => unsafe { f(p, size) },
        // SAFETY: the caller passes a block of the C library's allocator.
        None => unsafe { libc::realloc(p, size) },
    }
}

/// Frees the block `p` (null: nothing).
///
/// # Safety
/// `p` is null or a live block from this module's functions.
pub(crate) unsafe fn free(p: *mut c_void) {
    match free_fn() {
        // SAFETY: the caller passes a block of the program's allocator.
        Some(f) => unsafe { f(p) },
        // SAFETY: the caller passes a block of the C library's allocator.
        None => unsafe { libc::free(p) },
    }
}

/// `event_mm_malloc_`.
#[unsafe(no_mangle)]
pub extern "C" fn event_mm_malloc_(size: usize) -> *mut c_void {
    malloc(size)
}

/// `event_mm_calloc_`.
#[unsafe(no_mangle)]
pub extern "C" fn event_mm_calloc_(count: usize, size: usize) -> *mut c_void {
    calloc(count, size)
}

/// `event_mm_strdup_`: null for a null string, with `errno` `EINVAL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_mm_strdup_(s: *const c_char) -> *mut c_char {
    if s.is_null() {
        sys::set_errno(libc::EINVAL);
        return ptr::null_mut();
    }
    // SAFETY: the caller passes a NUL-terminated string.
    strdup(unsafe { CStr::from_ptr(s) })
}

/// `event_mm_realloc_`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_mm_realloc_(p: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: the caller passes null or a block of the library's allocator.
    unsafe { realloc(p, size) }
}

/// `event_mm_free_`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_mm_free_(p: *mut c_void) {
    // SAFETY: the caller passes null or a block of the library's allocator.
    unsafe { free(p) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::sync::{Mutex, PoisonError};

    // Counting pass-throughs to the C library. Other tests running while
    // these are installed allocate through them harmlessly; the counts
    // are per thread so that each test sees its own calls only.
    thread_local! {
        static MALLOCS: Cell<usize> = const { Cell::new(0) };
        static REALLOCS: Cell<usize> = const { Cell::new(0) };
        static FREES: Cell<usize> = const { Cell::new(0) };
        static FAIL: Cell<bool> = const { Cell::new(false) };
    }

    /// Serializes the tests that install functions.
    static INSTALLED: Mutex<()> = Mutex::new(());

    unsafe extern "C" fn counting_malloc(size: usize) -> *mut c_void {
        MALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: malloc takes any size.
        unsafe { libc::malloc(size) }
    }

    unsafe extern "C" fn counting_realloc(p: *mut c_void, size: usize) -> *mut c_void {
        REALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: every block comes from the C library underneath.
        unsafe { libc::realloc(p, size) }
    }

    unsafe extern "C" fn counting_free(p: *mut c_void) {
        FREES.with(|c| c.set(c.get() + 1));
        // SAFETY: every block comes from the C library underneath.
        unsafe { libc::free(p) }
    }

    /// Out of memory on the threads that ask for it (`FAIL`) only.
    unsafe extern "C" fn failing_malloc(size: usize) -> *mut c_void {
        if FAIL.with(Cell::get) {
            return ptr::null_mut();
        }
        // SAFETY: malloc takes any size.
        unsafe { libc::malloc(size) }
    }

    fn counts() -> (usize, usize, usize) {
        (MALLOCS.with(Cell::get), REALLOCS.with(Cell::get), FREES.with(Cell::get))
    }

    /// Runs `f` with the counting functions installed.
    fn with_counting(f: impl FnOnce()) {
        let _guard = INSTALLED.lock().unwrap_or_else(PoisonError::into_inner);
        event_set_mem_functions(Some(counting_malloc), Some(counting_realloc), Some(counting_free));
        f();
        event_set_mem_functions(None, None, None);
    }

    #[test]
    fn the_programs_functions_see_every_call() {
        with_counting(|| {
            let before = counts();
            let p = event_mm_malloc_(16);
            let z = event_mm_calloc_(4, 8);
            // SAFETY: a valid C string.
            let s = unsafe { event_mm_strdup_(c"kumquat".as_ptr()) };
            // SAFETY: `p` came from event_mm_malloc_.
            let p = unsafe { event_mm_realloc_(p, 64) };
            assert!(!p.is_null() && !z.is_null() && !s.is_null());
            // SAFETY: `z` is 32 readable bytes from calloc.
            let zeroed = unsafe { core::slice::from_raw_parts(z.cast::<u8>(), 32) };
            assert!(zeroed.iter().all(|&b| b == 0));
            // SAFETY: `s` is the NUL-terminated copy.
            assert_eq!(unsafe { CStr::from_ptr(s) }, c"kumquat");
            // SAFETY: all three are live blocks of the installed allocator.
            unsafe {
                event_mm_free_(p);
                event_mm_free_(z);
                event_mm_free_(s.cast());
            }
            let after = counts();
            assert_eq!((after.0 - before.0, after.1 - before.1, after.2 - before.2), (3, 1, 3));
        });
    }

    #[test]
    fn zero_sizes_allocate_nothing() {
        with_counting(|| {
            let before = counts();
            assert!(malloc(0).is_null());
            assert!(calloc(0, 8).is_null());
            assert!(calloc(8, 0).is_null());
            assert_eq!(counts(), before);
        });
    }

    #[test]
    fn calloc_overflow_is_enomem() {
        with_counting(|| {
            sys::set_errno(0);
            assert!(calloc(usize::MAX / 2, 3).is_null());
            assert_eq!(sys::errno(), libc::ENOMEM);
        });
        // The C library's calloc checks the product too.
        assert!(calloc(usize::MAX / 2, 3).is_null());
    }

    #[test]
    fn a_failing_malloc_is_enomem() {
        let _guard = INSTALLED.lock().unwrap_or_else(PoisonError::into_inner);
        event_set_mem_functions(Some(failing_malloc), None, None);
        FAIL.with(|f| f.set(true));
        sys::set_errno(0);
        let p = calloc(2, 2);
        let errno = sys::errno();
        FAIL.with(|f| f.set(false));
        event_set_mem_functions(None, None, None);
        assert!(p.is_null());
        assert_eq!(errno, libc::ENOMEM);
    }

    #[test]
    fn strdup_of_null_is_einval() {
        sys::set_errno(0);
        // SAFETY: null is the case under test.
        assert!(unsafe { event_mm_strdup_(ptr::null()) }.is_null());
        assert_eq!(sys::errno(), libc::EINVAL);
    }

    #[test]
    fn the_c_librarys_functions_by_default() {
        let _guard = INSTALLED.lock().unwrap_or_else(PoisonError::into_inner);
        let s = strdup(c"lime");
        // SAFETY: `s` is libc's NUL-terminated copy.
        assert_eq!(unsafe { CStr::from_ptr(s) }, c"lime");
        // SAFETY: `s` came from libc's strdup, freed by libc's free.
        unsafe { free(s.cast()) };
    }
}
