//! The event-core part of libevent's `event2/util.h`, and the internal
//! `evutil_*_` helpers (util-internal.h, time-internal.h) that libevent's
//! own test programs link.
//!
//! Left out, as they belong to DNS and address handling rather than the
//! event core: `evutil_getaddrinfo` and friends, `evutil_inet_ntop`/`pton`,
//! `evutil_parse_sockaddr_port`, `evutil_sockaddr_cmp`,
//! `evutil_format_sockaddr_port_`, `evutil_sockaddr_is_loopback_` and the
//! `evutil_v4/v6addr_is_local_` predicates.
//!
//! `evutil_snprintf` and `evutil_vsnprintf` are variadic, so in `c/util.c`.

mod os;
mod rand;
mod socket;
pub(crate) mod sys;
mod text;
mod time;

#[cfg(test)]
mod tests {
    use core::ffi::{CStr, c_char, c_int};

    unsafe extern "C" {
        fn evutil_snprintf(buf: *mut c_char, buflen: usize, format: *const c_char, ...) -> c_int;
    }

    /// `evutil_snprintf` into a 16-byte buffer: the result and the text.
    fn format16(f: impl FnOnce(*mut c_char, usize) -> c_int) -> (c_int, String) {
        let mut buf = [b'#' as c_char; 16];
        let n = f(buf.as_mut_ptr(), buf.len());
        // SAFETY: evutil_snprintf NUL-terminates within the buffer.
        let text = unsafe { CStr::from_ptr(buf.as_ptr()) };
        (n, text.to_string_lossy().into_owned())
    }

    #[test]
    fn snprintf_truncates_terminates_and_measures() {
        // SAFETY: each format matches its arguments; `buf` has `len` bytes.
        let fits = format16(|buf, len| unsafe { evutil_snprintf(buf, len, c"%d %d".as_ptr(), 50, 100) });
        assert_eq!(fits, (6, "50 100".to_owned()));
        // SAFETY: as above.
        let cut = format16(|buf, len| unsafe { evutil_snprintf(buf, len, c"longish %d".as_ptr(), 1_234_567_890) });
        assert_eq!(cut, (18, "longish 1234567".to_owned()));
        // SAFETY: as above.
        let big = format16(|buf, len| unsafe { evutil_snprintf(buf, len, c"%lld".as_ptr(), -200_000_000_000_i64) });
        assert_eq!(big, (13, "-200000000000".to_owned()));
    }

    #[test]
    fn snprintf_into_nothing_writes_nothing_and_answers_zero() {
        let mut byte = b'#' as c_char;
        // SAFETY: a zero length: the buffer is not touched.
        let n = unsafe { evutil_snprintf(&mut byte, 0, c"%d".as_ptr(), 12_345) };
        assert_eq!((n, byte), (0, b'#' as c_char));
    }
}
