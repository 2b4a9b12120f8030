//! What the internal helpers ask of the process's environment: opening
//! and reading files, and environment variables a setuid program must not
//! trust.

use core::ffi::{CStr, c_char, c_int, c_uint};

use super::sys;
use crate::{log, mm};

/// `evutil_open_closeonexec_`: `open(2)` with `FD_CLOEXEC` set, by
/// `O_CLOEXEC` where the OS takes it, else by `fcntl`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_open_closeonexec_(pathname: *const c_char, flags: c_int, mode: c_uint) -> c_int {
    if pathname.is_null() {
        sys::set_errno(libc::EFAULT);
        return -1;
    }
    // SAFETY: the caller passes a NUL-terminated path.
    let path = unsafe { CStr::from_ptr(pathname) };
    open_cloexec(path, flags, mode).unwrap_or_else(|e| {
        sys::set_errno(e);
        -1
    })
}

fn open_cloexec(path: &CStr, flags: c_int, mode: c_uint) -> Result<c_int, sys::Errno> {
    match sys::open(path, flags | libc::O_CLOEXEC, mode) {
        // EINVAL: an old kernel that refuses the flag; try without it.
        Err(libc::EINVAL) => {}
        other => return other,
    }
    let fd = sys::open(path, flags, mode)?;
    if let Err(e) = sys::fcntl_set(fd, libc::F_SETFD, libc::FD_CLOEXEC) {
        let _ = sys::close(fd);
        return Err(e);
    }
    Ok(fd)
}

/// `evutil_read_file_`: the whole file, NUL-terminated, in a block from
/// the library's allocator (`*content_out`, length `*len_out` without the
/// NUL). Returns 0, -1 if the file cannot be opened, -2 on any other
/// failure. `is_binary` matters only on Windows.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_read_file_(
    filename: *const c_char,
    content_out: *mut *mut c_char,
    len_out: *mut usize,
    is_binary: c_int,
) -> c_int {
    let _ = is_binary;
    if content_out.is_null() || len_out.is_null() {
        log::warn(format_args!("evutil_read_file_: null output pointer"));
        return -2;
    }
    // SAFETY: the caller passes writable slots for both results.
    let (content_out, len_out) = unsafe { (&mut *content_out, &mut *len_out) };
    *content_out = core::ptr::null_mut();
    *len_out = 0;
    // SAFETY: the caller passes a NUL-terminated path or null.
    let fd = unsafe { evutil_open_closeonexec_(filename, libc::O_RDONLY, 0) };
    if fd < 0 {
        return -1;
    }
    let read = read_all(fd);
    let _ = sys::close(fd);
    match read {
        Some((mem, len)) => {
            *content_out = mem;
            *len_out = len;
            0
        }
        None => -2,
    }
}

/// Reads the file open on `fd` into a fresh NUL-terminated block.
fn read_all(fd: c_int) -> Option<(*mut c_char, usize)> {
    let size = usize::try_from(sys::file_size(fd).ok()?).ok()?;
    if size >= isize::MAX as usize {
        return None;
    }
    let mem = mm::malloc(size + 1).cast::<u8>();
    if mem.is_null() {
        return None;
    }
    // SAFETY: `mem` is a fresh block of `size + 1` bytes, not aliased.
    let buf = unsafe { core::slice::from_raw_parts_mut(mem, size + 1) };
    let mut filled = 0;
    // A file that shrinks is read to its end; one that grows, to `size`.
    while filled < size {
        match sys::read(fd, &mut buf[filled..size]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(_) => {
                // SAFETY: `mem` came from mm::malloc and is not used again.
                unsafe { mm::free(mem.cast()) };
                return None;
            }
        }
    }
    buf[filled] = 0;
    Some((mem.cast(), filled))
}

/// `evutil_getenv_`: `getenv`, except in a setuid or setgid program,
/// whose environment belongs to someone else (null then).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_getenv_(varname: *const c_char) -> *const c_char {
    if varname.is_null() || sys::is_setugid() {
        return core::ptr::null();
    }
    // SAFETY: the caller passes a NUL-terminated name.
    sys::getenv(unsafe { CStr::from_ptr(varname) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_file_reads_everything_and_terminates_it() {
        let path = std::env::temp_dir().join(format!("evbase-read-file-{}", std::process::id()));
        std::fs::write(&path, b"line one\nline two\n").expect("temp file");
        let cpath = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("no NUL");
        let mut content = core::ptr::null_mut();
        let mut len = 0;
        // SAFETY: valid path and output slots.
        let r = unsafe { evutil_read_file_(cpath.as_ptr(), &mut content, &mut len, 0) };
        let _ = std::fs::remove_file(&path);
        assert_eq!(r, 0);
        assert_eq!(len, 18);
        // SAFETY: the library returned a NUL-terminated block.
        assert_eq!(unsafe { CStr::from_ptr(content) }.to_bytes(), b"line one\nline two\n");
        // SAFETY: the block came from the library's allocator.
        unsafe { mm::free(content.cast()) };
    }

    #[test]
    fn read_file_of_a_missing_file_is_minus_one() {
        let mut content = core::ptr::null_mut();
        let mut len = 7;
        // SAFETY: valid path and output slots.
        let r = unsafe { evutil_read_file_(c"/no/such/evbase/file".as_ptr(), &mut content, &mut len, 1) };
        assert_eq!((r, content.is_null(), len), (-1, true, 0));
    }

    #[test]
    fn open_sets_closeonexec() {
        // SAFETY: a valid path.
        let fd = unsafe { evutil_open_closeonexec_(c"/dev/null".as_ptr(), libc::O_RDONLY, 0) };
        assert!(fd >= 0);
        assert_ne!(sys::fcntl_get(fd, libc::F_GETFD).expect("open") & libc::FD_CLOEXEC, 0);
        assert_eq!(sys::close(fd), Ok(()));
    }

    #[test]
    fn getenv_reads_the_environment() {
        // SAFETY: valid names.
        let path = unsafe { evutil_getenv_(c"PATH".as_ptr()) };
        assert!(!path.is_null());
        // SAFETY: valid names.
        assert!(unsafe { evutil_getenv_(c"EVBASE_SURELY_UNSET_VARIABLE".as_ptr()) }.is_null());
    }
}
