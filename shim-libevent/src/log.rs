//! libevent's logging: the log and fatal callbacks a program installs, the
//! debug switch, and the messages the rest of the crate writes through them.
//!
//! A message goes to the program's log callback if it set one, else to
//! stderr the way libevent prints it (`[warn] text`). A fatal error is
//! logged at `EVENT_LOG_ERR`, then handed to the program's fatal callback,
//! then ends the process (libevent's `event_exit`). The variadic C entry
//! points (`event_warn`, `event_errx`, ...) live in `c/log.c` and end here,
//! in [`evbase_log_`] and [`evbase_exit_`].

use core::ffi::{CStr, c_char, c_int};
use core::fmt::{self, Write as _};
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use std::io::Write as _;

use crate::util::sys;

/// `EVENT_LOG_DEBUG`.
pub(crate) const LOG_DEBUG: c_int = 0;
/// `EVENT_LOG_MSG`.
pub(crate) const LOG_MSG: c_int = 1;
/// `EVENT_LOG_WARN`.
pub(crate) const LOG_WARN: c_int = 2;
/// `EVENT_LOG_ERR`.
pub(crate) const LOG_ERR: c_int = 3;

/// libevent's `EVENT_ERR_ABORT_`: the fatal code of a broken invariant,
/// which aborts instead of exiting when no fatal callback is set.
pub(crate) const ERR_ABORT: c_int = 0xdead_dead_u32 as c_int;

/// libevent formats a message into this many bytes and drops the rest.
const MSG_SIZE: usize = 1024;

/// `event_log_cb`.
pub type LogCallback = Option<unsafe extern "C" fn(c_int, *const c_char)>;

/// `event_fatal_cb`.
pub type FatalCallback = Option<unsafe extern "C" fn(c_int)>;

/// libevent's `event_debug_logging_mask_`: C code tests it directly (the
/// `event_debug` macro of log-internal.h) before formatting a debug message.
#[unsafe(export_name = "event_debug_logging_mask_")]
pub static DEBUG_MASK: AtomicU32 = AtomicU32::new(0);

/// The program's log callback, as a data pointer (null: none).
static LOG_FN: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());

/// The program's fatal callback, as a data pointer (null: none).
static FATAL_FN: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());

fn log_callback() -> LogCallback {
    let raw = LOG_FN.load(Ordering::Acquire);
    // SAFETY: LOG_FN holds null or a `LogCallback` stored by
    // `event_set_log_callback`; an `Option` of a fn pointer has a data
    // pointer's size, with null as `None`.
    unsafe { core::mem::transmute::<*mut (), LogCallback>(raw) }
}

fn fatal_callback() -> FatalCallback {
    let raw = FATAL_FN.load(Ordering::Acquire);
    // SAFETY: FATAL_FN holds null or a `FatalCallback` stored by
    // `event_set_fatal_callback`; see `log_callback`.
    unsafe { core::mem::transmute::<*mut (), FatalCallback>(raw) }
}

/// `event_set_log_callback`: sends every message to `cb` instead of
/// stderr; null restores stderr.
#[unsafe(no_mangle)]
pub extern "C" fn event_set_log_callback(cb: LogCallback) {
    let raw = cb.map_or(core::ptr::null_mut(), |f| f as *mut ());
    LOG_FN.store(raw, Ordering::Release);
}

/// `event_set_fatal_callback`: `cb` is called with the error code before
/// the library gives up; null restores the default (exit or abort).
#[unsafe(no_mangle)]
pub extern "C" fn event_set_fatal_callback(cb: FatalCallback) {
    let raw = cb.map_or(core::ptr::null_mut(), |f| f as *mut ());
    FATAL_FN.store(raw, Ordering::Release);
}

/// `event_enable_debug_logging`: `EVENT_DBG_ALL` turns debug messages on,
/// `EVENT_DBG_NONE` off.
#[unsafe(no_mangle)]
pub extern "C" fn event_enable_debug_logging(which: u32) {
    DEBUG_MASK.store(which, Ordering::Relaxed);
}

/// Whether debug messages are logged.
pub(crate) fn debug_enabled() -> bool {
    DEBUG_MASK.load(Ordering::Relaxed) != 0
}

/// Logs a message at `severity` (`LOG_DEBUG` only when debug logging is
/// on), truncated to libevent's 1023 bytes.
pub(crate) fn msg(severity: c_int, args: fmt::Arguments<'_>) {
    if severity == LOG_DEBUG && !debug_enabled() {
        return;
    }
    let mut buf = MsgBuf::new();
    // The buffer never fails; it truncates.
    let _ = buf.write_fmt(args);
    deliver(severity, buf.as_cstr());
}

/// Logs a warning.
pub(crate) fn warn(args: fmt::Arguments<'_>) {
    msg(LOG_WARN, args);
}

/// Logs a warning followed by `": "` and the text of `errno`, as
/// libevent's `event_warn` does.
pub(crate) fn warn_errno(errno: sys::Errno, args: fmt::Arguments<'_>) {
    msg(LOG_WARN, format_args!("{args}: {}", sys::error_text(errno)));
}

/// Logs a debug message when debug logging is on.
#[allow(dead_code, reason = "the crate's debug channel, for callers to come")]
pub(crate) fn debug(args: fmt::Arguments<'_>) {
    msg(LOG_DEBUG, args);
}

/// Logs `args` as an error, then ends the process as libevent does: the
/// program's fatal callback, else `abort()` for [`ERR_ABORT`] and
/// `exit(errcode)` otherwise.
pub(crate) fn fatal(errcode: c_int, args: fmt::Arguments<'_>) -> ! {
    msg(LOG_ERR, args);
    exit(errcode)
}

/// libevent's `event_exit`.
fn exit(errcode: c_int) -> ! {
    if let Some(cb) = fatal_callback() {
        // SAFETY: the program installed this callback to be called with a
        // fatal error code.
        unsafe { cb(errcode) };
        // A fatal callback should not return; libevent exits if it does.
        std::process::exit(errcode);
    }
    if errcode == ERR_ABORT {
        std::process::abort();
    }
    std::process::exit(errcode)
}

/// Where `c/log.c` sends each formatted message.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbase_log_(severity: c_int, msg: *const c_char) {
    if msg.is_null() {
        return deliver(severity, c"");
    }
    // SAFETY: log.c passes its NUL-terminated message buffer.
    let msg = unsafe { CStr::from_ptr(msg) };
    deliver(severity, msg);
}

/// Where `c/log.c`'s fatal functions end.
#[unsafe(no_mangle)]
pub extern "C" fn evbase_exit_(errcode: c_int) -> ! {
    exit(errcode)
}

/// Hands a finished message to the log callback, or prints it.
fn deliver(severity: c_int, msg: &CStr) {
    match log_callback() {
        // SAFETY: the program installed this callback for exactly this
        // call: a severity and a C string valid for the call.
        Some(cb) => unsafe { cb(severity, msg.as_ptr()) },
        None => print_default(severity, msg.to_bytes()),
    }
}

/// libevent's default output: `[severity] message` and a newline on
/// stderr, written at once so that lines from threads do not interleave.
fn print_default(severity: c_int, msg: &[u8]) {
    let tag: &[u8] = match severity {
        LOG_DEBUG => b"[debug] ",
        LOG_MSG => b"[msg] ",
        LOG_WARN => b"[warn] ",
        LOG_ERR => b"[err] ",
        _ => b"[???] ",
    };
    let mut line = [0u8; MSG_SIZE + 16];
    let msg = &msg[..msg.len().min(line.len() - tag.len() - 1)];
    let end = tag.len() + msg.len();
    line[..tag.len()].copy_from_slice(tag);
    line[tag.len()..end].copy_from_slice(msg);
    line[end] = b'\n';
    // Nothing sensible remains to be done if stderr is gone.
    let _ = std::io::stderr().write_all(&line[..=end]);
}

/// A message being formatted into libevent's fixed buffer: the text is
/// cut at `MSG_SIZE - 1` bytes and always followed by a NUL.
struct MsgBuf {
    bytes: [u8; MSG_SIZE],
    len: usize,
}

impl MsgBuf {
    fn new() -> Self {
        MsgBuf {
            bytes: [0; MSG_SIZE],
            len: 0,
        }
    }

    /// The text up to its first NUL (a NUL inside the text ends it, as in C).
    fn as_cstr(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.bytes).unwrap_or_default()
    }
}

impl fmt::Write for MsgBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = MSG_SIZE - 1 - self.len;
        let n = s.len().min(room);
        self.bytes[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Mutex, PoisonError};
    use std::thread::ThreadId;

    /// Messages received by `record`, with the thread that logged them:
    /// tests run in parallel and each looks at its own thread's only.
    static RECORDED: Mutex<Vec<(ThreadId, c_int, String)>> = Mutex::new(Vec::new());

    /// Serializes the tests that install the global log callback.
    static CALLBACK_LOCK: Mutex<()> = Mutex::new(());

    unsafe extern "C" fn record(severity: c_int, msg: *const c_char) {
        // SAFETY: the library passes a valid C string for the call.
        let text = unsafe { CStr::from_ptr(msg) }.to_string_lossy().into_owned();
        let me = std::thread::current().id();
        RECORDED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((me, severity, text));
    }

    /// Runs `f` with `record` installed and returns what this thread logged.
    fn recorded(f: impl FnOnce()) -> Vec<(c_int, String)> {
        let _guard = CALLBACK_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
        event_set_log_callback(Some(record));
        f();
        event_set_log_callback(None);
        let me = std::thread::current().id();
        let mut all = RECORDED.lock().unwrap_or_else(PoisonError::into_inner);
        let mine = all
            .iter()
            .filter(|(t, ..)| *t == me)
            .map(|(_, s, m)| (*s, m.clone()))
            .collect();
        all.retain(|(t, ..)| *t != me);
        mine
    }

    unsafe extern "C" {
        fn event_warnx(fmt: *const c_char, ...);
        fn event_warn(fmt: *const c_char, ...);
        fn event_msgx(fmt: *const c_char, ...);
        fn event_debugx_(fmt: *const c_char, ...);
        fn event_errx(eval: c_int, fmt: *const c_char, ...) -> !;
        fn event_err(eval: c_int, fmt: *const c_char, ...) -> !;
    }

    #[test]
    fn callback_receives_messages_with_their_severity() {
        let got = recorded(|| {
            warn(format_args!("too many {} ({})", "wombats", 99));
            msg(LOG_MSG, format_args!("lime"));
            msg(LOG_ERR, format_args!("coconut"));
        });
        let want = [
            (LOG_WARN, "too many wombats (99)"),
            (LOG_MSG, "lime"),
            (LOG_ERR, "coconut"),
        ];
        assert_eq!(got, want.map(|(s, m)| (s, m.to_owned())));
    }

    #[test]
    fn debug_messages_need_debug_logging() {
        let got = recorded(|| {
            debug(format_args!("hidden"));
            event_enable_debug_logging(u32::MAX);
            debug(format_args!("shown {}", 1));
            // SAFETY: a format with one %d and an int.
            unsafe { event_debugx_(c"shown %d".as_ptr(), 2) };
            event_enable_debug_logging(0);
            // SAFETY: a format without conversions.
            unsafe { event_debugx_(c"hidden".as_ptr()) };
        });
        assert_eq!(
            got,
            [(LOG_DEBUG, "shown 1".to_owned()), (LOG_DEBUG, "shown 2".to_owned())]
        );
    }

    #[test]
    fn c_functions_format_like_libevent() {
        let got = recorded(|| {
            // SAFETY: each format matches its arguments.
            unsafe {
                event_warnx(c"Far too many %s (%d)".as_ptr(), c"wombats".as_ptr(), 99);
                event_msgx(c"Connecting lime to coconut".as_ptr());
                sys::set_errno(libc::ENOENT);
                event_warn(c"Couldn't open %s".as_ptr(), c"/bad/file".as_ptr());
            }
        });
        let enoent = sys::error_text(libc::ENOENT).to_string();
        let want = [
            (LOG_WARN, "Far too many wombats (99)".to_owned()),
            (LOG_MSG, "Connecting lime to coconut".to_owned()),
            (LOG_WARN, format!("Couldn't open /bad/file: {enoent}")),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn long_messages_are_cut_at_1023_bytes() {
        let long = "x".repeat(3000);
        let got = recorded(|| warn(format_args!("{long}")));
        assert_eq!(got, [(LOG_WARN, "x".repeat(MSG_SIZE - 1))]);
    }

    #[test]
    fn warn_errno_appends_the_error_text() {
        let got = recorded(|| warn_errno(libc::EBADF, format_args!("fcntl({}, F_GETFL)", 7)));
        let want = format!("fcntl(7, F_GETFL): {}", sys::error_text(libc::EBADF));
        assert_eq!(got, [(LOG_WARN, want)]);
    }

    // ---- the exit paths, each in a child process: the test binary runs
    // `child` alone with the scenario's name in the environment.

    const SCENARIO: &str = "EVBASE_LOG_TEST_SCENARIO";

    unsafe extern "C" fn fatal_records(code: c_int) {
        let _ = std::io::stderr().write_all(format!("fatal callback: {code}\n").as_bytes());
    }

    #[test]
    fn child() {
        let Ok(scenario) = std::env::var(SCENARIO) else { return };
        match scenario.as_str() {
            "default_output" => {
                warn(format_args!("hello {}", 42));
                msg(LOG_MSG, format_args!("note"));
                std::process::exit(0);
            }
            "fatal_callback" => {
                event_set_fatal_callback(Some(fatal_records));
                fatal(7, format_args!("boom"));
            }
            "fatal_exit" => fatal(5, format_args!("no callback")),
            "fatal_abort" => fatal(ERR_ABORT, format_args!("invariant")),
            // SAFETY: a format with one %d and an int.
            "c_errx" => unsafe { event_errx(2, c"too many kumquats (%d)".as_ptr(), 5) },
            "c_err" => {
                sys::set_errno(libc::ENOENT);
                // SAFETY: a format with one %s and a C string.
                unsafe { event_err(9, c"Couldn't open %s".as_ptr(), c"/very/bad/file".as_ptr()) }
            }
            other => panic!("unknown scenario {other}"),
        }
    }

    /// Runs `child` with `scenario` and checks how it ended (`exit N` or
    /// `signal N`) and that its stderr contains `want_stderr`.
    fn assert_child(scenario: &str, want_end: &str, want_stderr: &str) {
        use std::os::unix::process::ExitStatusExt as _;
        let exe = std::env::current_exe().expect("test binary path");
        let out = std::process::Command::new(exe)
            .args(["--exact", "log::tests::child", "--test-threads=1", "--nocapture"])
            .env(SCENARIO, scenario)
            .output()
            .expect("test binary runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let end = match (out.status.code(), out.status.signal()) {
            (Some(code), _) => format!("exit {code}"),
            (_, Some(signal)) => format!("signal {signal}"),
            _ => "unknown".to_owned(),
        };
        assert_eq!(end, want_end, "{scenario}: {stderr}");
        assert!(stderr.contains(want_stderr), "{scenario}: {stderr}");
    }

    #[test]
    fn default_output_is_libevents() {
        assert_child("default_output", "exit 0", "[warn] hello 42\n[msg] note\n");
    }

    #[test]
    fn fatal_calls_the_callback_then_exits_with_the_code() {
        assert_child("fatal_callback", "exit 7", "[err] boom\nfatal callback: 7\n");
    }

    #[test]
    fn fatal_without_callback_exits_or_aborts() {
        assert_child("fatal_exit", "exit 5", "[err] no callback\n");
        assert_child("fatal_abort", &format!("signal {}", libc::SIGABRT), "[err] invariant\n");
    }

    #[test]
    fn c_fatal_functions_log_and_exit() {
        assert_child("c_errx", "exit 2", "[err] too many kumquats (5)\n");
        let enoent = sys::error_text(libc::ENOENT);
        assert_child(
            "c_err",
            "exit 9",
            &format!("[err] Couldn't open /very/bad/file: {enoent}\n"),
        );
    }
}
