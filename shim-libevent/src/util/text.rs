//! Strings and bytes: locale-independent ASCII character classes and
//! case-insensitive comparison (for protocols, where the C locale's
//! answers would be wrong), number parsing, and a memory wipe the
//! compiler may not drop.

use core::ffi::{CStr, c_char, c_int, c_void};

use crate::log;

/// The byte a C `char` holds.
fn byte(c: c_char) -> u8 {
    c as u8
}

/// `EVUTIL_ISALPHA_`.
#[unsafe(export_name = "EVUTIL_ISALPHA_")]
pub extern "C" fn evutil_isalpha_(c: c_char) -> c_int {
    byte(c).is_ascii_alphabetic().into()
}

/// `EVUTIL_ISALNUM_`.
#[unsafe(export_name = "EVUTIL_ISALNUM_")]
pub extern "C" fn evutil_isalnum_(c: c_char) -> c_int {
    byte(c).is_ascii_alphanumeric().into()
}

/// `EVUTIL_ISSPACE_`: C's `isspace` in the C locale, which (unlike
/// Rust's `is_ascii_whitespace`) includes the vertical tab.
#[unsafe(export_name = "EVUTIL_ISSPACE_")]
pub extern "C" fn evutil_isspace_(c: c_char) -> c_int {
    matches!(byte(c), b'\t'..=b'\r' | b' ').into()
}

/// `EVUTIL_ISDIGIT_`.
#[unsafe(export_name = "EVUTIL_ISDIGIT_")]
pub extern "C" fn evutil_isdigit_(c: c_char) -> c_int {
    byte(c).is_ascii_digit().into()
}

/// `EVUTIL_ISXDIGIT_`.
#[unsafe(export_name = "EVUTIL_ISXDIGIT_")]
pub extern "C" fn evutil_isxdigit_(c: c_char) -> c_int {
    byte(c).is_ascii_hexdigit().into()
}

/// `EVUTIL_ISPRINT_`: space through `~`.
#[unsafe(export_name = "EVUTIL_ISPRINT_")]
pub extern "C" fn evutil_isprint_(c: c_char) -> c_int {
    matches!(byte(c), b' '..=b'~').into()
}

/// `EVUTIL_ISLOWER_`.
#[unsafe(export_name = "EVUTIL_ISLOWER_")]
pub extern "C" fn evutil_islower_(c: c_char) -> c_int {
    byte(c).is_ascii_lowercase().into()
}

/// `EVUTIL_ISUPPER_`.
#[unsafe(export_name = "EVUTIL_ISUPPER_")]
pub extern "C" fn evutil_isupper_(c: c_char) -> c_int {
    byte(c).is_ascii_uppercase().into()
}

/// `EVUTIL_TOLOWER_`.
#[unsafe(export_name = "EVUTIL_TOLOWER_")]
pub extern "C" fn evutil_tolower_(c: c_char) -> c_char {
    byte(c).to_ascii_lowercase() as c_char
}

/// `EVUTIL_TOUPPER_`.
#[unsafe(export_name = "EVUTIL_TOUPPER_")]
pub extern "C" fn evutil_toupper_(c: c_char) -> c_char {
    byte(c).to_ascii_uppercase() as c_char
}

/// Compares two C strings ASCII-case-insensitively over at most `limit`
/// bytes: -1, 0 or 1. Bytes compare as C's (signed) `char`, as libevent's.
fn compare_ascii_nocase(a: &CStr, b: &CStr, limit: usize) -> c_int {
    for (x, y) in lowered(a).zip(lowered(b)).take(limit) {
        match x.cmp(&y) {
            core::cmp::Ordering::Less => return -1,
            core::cmp::Ordering::Greater => return 1,
            core::cmp::Ordering::Equal if x == 0 => return 0,
            core::cmp::Ordering::Equal => {}
        }
    }
    0
}

/// The string's chars in lower case, NUL included: a prefix then compares
/// below the longer string.
fn lowered(s: &CStr) -> impl Iterator<Item = c_char> + '_ {
    s.to_bytes_with_nul().iter().map(|c| c.to_ascii_lowercase() as c_char)
}

/// Borrows two C strings for a comparison, or warns about a null one.
///
/// # Safety
/// Each pointer is null or a NUL-terminated string.
unsafe fn two_strings<'a>(name: &str, a: *const c_char, b: *const c_char) -> Option<(&'a CStr, &'a CStr)> {
    if a.is_null() || b.is_null() {
        log::warn(format_args!("{name}: null string"));
        return None;
    }
    // SAFETY: both are non-null NUL-terminated strings (the caller's
    // contract).
    Some(unsafe { (CStr::from_ptr(a), CStr::from_ptr(b)) })
}

/// `evutil_ascii_strcasecmp`: -1, 0 or 1. A null string sorts first.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_ascii_strcasecmp(s1: *const c_char, s2: *const c_char) -> c_int {
    // SAFETY: the caller passes C strings or nulls.
    match unsafe { two_strings("evutil_ascii_strcasecmp", s1, s2) } {
        Some((a, b)) => compare_ascii_nocase(a, b, usize::MAX),
        None => null_order(s1, s2),
    }
}

/// `evutil_ascii_strncasecmp`: as `evutil_ascii_strcasecmp`, over at most
/// `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_ascii_strncasecmp(s1: *const c_char, s2: *const c_char, n: usize) -> c_int {
    if n == 0 {
        return 0;
    }
    // SAFETY: the caller passes C strings or nulls.
    match unsafe { two_strings("evutil_ascii_strncasecmp", s1, s2) } {
        Some((a, b)) => compare_ascii_nocase(a, b, n),
        None => null_order(s1, s2),
    }
}

/// The order of two strings at least one of which is null.
fn null_order(a: *const c_char, b: *const c_char) -> c_int {
    c_int::from(!a.is_null()) - c_int::from(!b.is_null())
}

/// `evutil_rtrim_lws_`: cuts trailing spaces and tabs (HTTP's linear
/// white space) off a string in place.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_rtrim_lws_(s: *mut c_char) {
    if s.is_null() {
        return;
    }
    // SAFETY: the caller passes a NUL-terminated string it may write.
    let len = unsafe { CStr::from_ptr(s) }.count_bytes();
    // SAFETY: as above: `len` bytes before the NUL are the caller's.
    let text = unsafe { core::slice::from_raw_parts_mut(s.cast::<u8>(), len) };
    let kept = text.iter().rposition(|&c| c != b' ' && c != b'\t').map_or(0, |i| i + 1);
    text[kept..].fill(0);
}

/// `evutil_strtoll`: the C library's `strtoll`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_strtoll(s: *const c_char, endptr: *mut *mut c_char, base: c_int) -> i64 {
    if s.is_null() {
        log::warn(format_args!("evutil_strtoll: null string"));
        return 0;
    }
    // SAFETY: the caller passes a C string and a writable `endptr` or null.
    unsafe { libc::strtoll(s, endptr, base) }
}

/// `evutil_hex_char_to_int_`: a hex digit's value, or -1.
#[unsafe(no_mangle)]
pub extern "C" fn evutil_hex_char_to_int_(c: c_char) -> c_int {
    char::from(byte(c)).to_digit(16).map_or(-1, |d| d as c_int)
}

/// `evutil_memclear_`: zeroes `len` bytes in a way the compiler cannot
/// drop as a dead store (for wiping secrets).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_memclear_(mem: *mut c_void, len: usize) {
    let mem = mem.cast::<u8>();
    for i in 0..len {
        // SAFETY: the caller passes `len` writable bytes at `mem`.
        unsafe { mem.add(i).write_volatile(0) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn character_classes_are_ascii_only() {
        assert_eq!(evutil_isdigit_(b'0' as c_char), 1);
        assert_eq!(evutil_isdigit_(b'a' as c_char), 0);
        assert_eq!(evutil_isdigit_(0xff_u8 as c_char), 0);
        assert_eq!(evutil_isspace_(0x0b), 1);
        assert_eq!(evutil_isspace_(b' ' as c_char), 1);
        assert_eq!(evutil_isspace_(0xa0_u8 as c_char), 0);
        assert_eq!(evutil_isprint_(b'~' as c_char), 1);
        assert_eq!(evutil_isprint_(0x7f), 0);
        assert_eq!(evutil_isxdigit_(b'F' as c_char), 1);
        assert_eq!(evutil_toupper_(b'q' as c_char), b'Q' as c_char);
        assert_eq!(evutil_tolower_(0xc4_u8 as c_char), 0xc4_u8 as c_char);
    }

    #[test]
    fn strcasecmp_ignores_ascii_case() {
        // SAFETY: valid C strings.
        let cmp = |a: &CStr, b: &CStr| unsafe { evutil_ascii_strcasecmp(a.as_ptr(), b.as_ptr()) };
        assert_eq!(cmp(c"Content-Length", c"content-length"), 0);
        assert_eq!(cmp(c"abc", c"ABD"), -1);
        assert_eq!(cmp(c"abcd", c"ABC"), 1);
        assert_eq!(cmp(c"ab", c"abc"), -1);
        // High bytes are negative chars, as in libevent.
        assert_eq!(cmp(c"\xe9", c"a"), -1);
        // SAFETY: valid C strings.
        let ncmp = |n| unsafe { evutil_ascii_strncasecmp(c"Hello".as_ptr(), c"HELP".as_ptr(), n) };
        assert_eq!((ncmp(3), ncmp(4)), (0, -1));
        // SAFETY: a null is the case under test.
        assert_eq!(unsafe { evutil_ascii_strcasecmp(core::ptr::null(), c"a".as_ptr()) }, -1);
    }

    #[test]
    fn strtoll_parses_64_bits_and_reports_the_end() {
        // SAFETY: valid C strings; null or writable endptr.
        unsafe {
            assert_eq!(
                evutil_strtoll(c"5000000000".as_ptr(), core::ptr::null_mut(), 10),
                5_000_000_000
            );
            assert_eq!(
                evutil_strtoll(c"-5000000000".as_ptr(), core::ptr::null_mut(), 10),
                -5_000_000_000
            );
            let s = c" 99999stuff";
            let mut end = core::ptr::null_mut();
            assert_eq!(evutil_strtoll(s.as_ptr(), &mut end, 10), 99_999);
            assert_eq!(end.cast_const(), s.as_ptr().add(6));
            assert_eq!(evutil_strtoll(c"foo".as_ptr(), core::ptr::null_mut(), 10), 0);
            assert_eq!(evutil_strtoll(c"ff".as_ptr(), core::ptr::null_mut(), 16), 255);
        }
    }

    #[test]
    fn rtrim_cuts_spaces_and_tabs_only() {
        for (input, want) in [
            ("a b \t ", "a b"),
            ("  ", ""),
            ("", ""),
            ("x\n ", "x\n"),
            ("keep", "keep"),
        ] {
            let mut buf: Vec<c_char> = input.bytes().map(|b| b as c_char).chain([0]).collect();
            // SAFETY: `buf` is a writable C string.
            unsafe { evutil_rtrim_lws_(buf.as_mut_ptr()) };
            // SAFETY: still NUL-terminated.
            let got = unsafe { CStr::from_ptr(buf.as_ptr()) };
            assert_eq!(got.to_bytes(), want.as_bytes(), "{input:?}");
        }
    }

    #[test]
    fn hex_digits_and_memclear() {
        assert_eq!(evutil_hex_char_to_int_(b'a' as c_char), 10);
        assert_eq!(evutil_hex_char_to_int_(b'F' as c_char), 15);
        assert_eq!(evutil_hex_char_to_int_(b'g' as c_char), -1);
        let mut secret = [0xaa_u8; 8];
        // SAFETY: 8 writable bytes.
        unsafe { evutil_memclear_(secret.as_mut_ptr().cast(), secret.len()) };
        assert_eq!(secret, [0; 8]);
    }
}
