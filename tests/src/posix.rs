//! The POSIX platform in the suite: epoll (with and without the
//! changelist), poll, select and io_uring on Linux, kqueue on BSD and
//! macOS, on real socket pairs and the real clock. A variant the kernel
//! refuses (io_uring under qemu-user, or forbidden) is skipped with the
//! reason printed: see [`unavailable`].
//!
//! Besides [`TestPlatform`], the helpers the OS, signal and fork tests
//! share: counting open fds, raising the fd limit, per-thread CPU time,
//! and running a test case in a child process.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use evbase_core::{BaseFlags, Callback, Config, Error, EventBase, EventId, Growable, Source, What};
use evbase_posix::{PosixPlatform, Remote};

use crate::TestPlatform;

/// The variants this host has, by name.
#[cfg(target_os = "linux")]
pub const VARIANTS: [&str; 5] = ["epoll", "epoll-changelist", "poll", "select", "io_uring"];
/// The variants this host has, by name.
#[cfg(target_os = "android")]
pub const VARIANTS: [&str; 4] = ["epoll", "epoll-changelist", "poll", "select"];
/// The variants this host has, by name.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub const VARIANTS: [&str; 3] = ["kqueue", "poll", "select"];

/// The config that makes a POSIX base use `variant` (`epoll`,
/// `epoll-changelist`, `poll`, `select`, `kqueue`, `io_uring`), and only
/// it: the other methods are avoided.
///
/// # Errors
/// [`Error::InvalidArgument`] for an unknown variant.
pub fn posix_variant(variant: &str) -> Result<Config, Error> {
    let (method, changelist) = match variant {
        "epoll-changelist" => ("epoll", true),
        "epoll" | "poll" | "select" | "kqueue" | "io_uring" => (variant, false),
        _ => return Err(Error::InvalidArgument(&"unknown POSIX variant")),
    };
    let mut config = Config::default();
    config.prefer_method(method)?;
    for m in ["kqueue", "epoll", "poll", "select", "io_uring"]
        .into_iter()
        .filter(|&m| m != method)
    {
        config.avoid_method(m)?;
    }
    if changelist {
        config.set_flag(BaseFlags::EPOLL_USE_CHANGELIST);
    }
    Ok(config)
}

/// Why `variant` cannot run on this host (the selection report), or `None`
/// when it opens. Only io_uring may be missing: qemu-user does not emulate
/// it, and a kernel may forbid it (`kernel.io_uring_disabled`, seccomp).
/// Asked once per process, so that later calls open no fd while a case
/// counts them.
pub fn unavailable(variant: &str) -> Option<String> {
    static IO_URING: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if variant != "io_uring" {
        return None;
    }
    IO_URING
        .get_or_init(|| {
            let config = posix_variant(variant).ok()?;
            let mut report = evbase_core::SelectionReport::new();
            let platform = PosixPlatform::new();
            match EventBase::<PosixPlatform, Growable>::with_config_report(platform, &config, &mut report) {
                Ok(_) => None,
                Err(_) => Some(report.to_string()),
            }
        })
        .clone()
}

/// [`unavailable`], printing that the case named `what` is skipped then:
/// `if posix::skipped(variant, "case") { return; }` first in a case.
pub fn skipped(variant: &str, what: &str) -> bool {
    let why = unavailable(variant);
    if let Some(why) = &why {
        println!("skipped {what}[{variant}]: {why}");
    }
    why.is_some()
}

impl TestPlatform for PosixPlatform {
    /// Scheduling noise on a shared 2-core machine; libevent's own timing
    /// checks allow 100 ms.
    const TOLERANCE: Duration = Duration::from_millis(100);

    fn make(variant: &str) -> (Self, Config) {
        (PosixPlatform::new(), posix_variant(variant).expect("a POSIX variant"))
    }

    fn socketpair(&mut self) -> (u32, u32) {
        use std::os::fd::IntoRawFd;
        let (a, b) = evbase_posix::socketpair().expect("a socket pair");
        (a.into_raw_fd() as u32, b.into_raw_fd() as u32)
    }

    fn send(&mut self, fd: u32, data: &[u8]) -> Option<usize> {
        send(fd, data)
    }

    fn recv(&mut self, fd: u32, buf: &mut [u8]) -> Option<usize> {
        recv(fd, buf)
    }

    fn shutdown_write(&mut self, fd: u32) {
        // SAFETY: shutdown takes no pointer; a bad fd only returns an error.
        unsafe { libc::shutdown(fd as i32, libc::SHUT_WR) };
    }

    fn close(&mut self, fd: u32) {
        close(fd);
    }

    /// Sleeps `d` (on the real clock, which is the base's).
    fn sleep(&mut self, d: Duration) {
        std::thread::sleep(d);
    }
}

#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "netbsd"
))]
const NOSIGNAL: i32 = libc::MSG_NOSIGNAL;
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "netbsd"
)))]
const NOSIGNAL: i32 = 0;

/// A base for `variant` with a remote queue, and a persistent user event
/// that counts its callbacks: what the cross-thread wake-up cases share.
///
/// # Panics
/// When the variant cannot be opened.
pub fn remote_base(variant: &str) -> (EventBase<PosixPlatform, Growable>, Arc<Remote>, EventId, Rc<Cell<u32>>) {
    let remote = Arc::new(Remote::new());
    let config = posix_variant(variant).unwrap();
    let mut base = EventBase::with_config(PosixPlatform::new().with_remote(remote.clone()), &config).unwrap();
    let hits = Rc::new(Cell::new(0));
    let h = hits.clone();
    let ev = base
        .new_event(
            Source::None,
            What::READ | What::PERSIST,
            Callback::new(move |_, _, _| h.set(h.get() + 1)),
        )
        .unwrap();
    (base, remote, ev, hits)
}

/// Non-blocking send without `SIGPIPE`: bytes sent, or `None` (would block,
/// or failed).
pub fn send(fd: u32, data: &[u8]) -> Option<usize> {
    // SAFETY: `data` is valid for `data.len()` bytes.
    let n = unsafe { libc::send(fd as i32, data.as_ptr().cast(), data.len(), NOSIGNAL) };
    usize::try_from(n).ok()
}

/// Non-blocking receive: bytes read (0 at end of file), or `None`.
pub fn recv(fd: u32, buf: &mut [u8]) -> Option<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
    let n = unsafe { libc::recv(fd as i32, buf.as_mut_ptr().cast(), buf.len(), 0) };
    usize::try_from(n).ok()
}

/// Closes `fd`.
pub fn close(fd: u32) {
    // SAFETY: closing a number has no memory-safety precondition; the
    // tests only close fds they made.
    unsafe { libc::close(fd as i32) };
}

/// `dup(fd)`.
pub fn dup(fd: u32) -> u32 {
    // SAFETY: no pointer arguments.
    let n = unsafe { libc::dup(fd as i32) };
    assert!(n >= 0, "dup failed");
    n as u32
}

/// `dup2(fd, to)`.
pub fn dup2(fd: u32, to: u32) {
    // SAFETY: no pointer arguments; `to` is an fd the test owns.
    let n = unsafe { libc::dup2(fd as i32, to as i32) };
    assert_eq!(n, to as i32, "dup2 failed");
}

/// How many fds this process has open (`/proc/self/fd` or `/dev/fd`).
pub fn open_fds() -> usize {
    let dir = if std::path::Path::new("/proc/self/fd").exists() {
        "/proc/self/fd"
    } else {
        "/dev/fd"
    };
    // The directory handle itself is counted once; subtract it.
    std::fs::read_dir(dir).map(|d| d.count().saturating_sub(1)).unwrap_or(0)
}

/// The process's open fds, each as its number and what it names
/// (`/proc/self/fd`; numbers only from `/dev/fd`), without the one this
/// listing opens: to compare before and after a call, exactly.
pub fn fd_list() -> Vec<String> {
    let (dir, own) = if std::path::Path::new("/proc/self/fd").exists() {
        ("/proc/self/fd", Some(format!("/proc/{}/fd", std::process::id())))
    } else {
        ("/dev/fd", None)
    };
    let mut fds: Vec<(u32, String)> = std::fs::read_dir(dir)
        .expect("the fd directory")
        .filter_map(|e| {
            let e = e.ok()?;
            let n: u32 = e.file_name().to_str()?.parse().ok()?;
            let target = std::fs::read_link(e.path()).map(|t| t.display().to_string());
            match target {
                Ok(t) if Some(&t) == own.as_ref() => None,
                Ok(t) => Some((n, t)),
                Err(_) => Some((n, String::new())),
            }
        })
        .collect();
    // From /dev/fd the listing's own fd is in (the lowest free number: the
    // same one in two listings of the same fds).
    fds.sort();
    fds.into_iter().map(|(n, t)| format!("{n} {t}")).collect()
}

/// Sets the soft `RLIMIT_NOFILE` to `limit` (at most the hard limit);
/// returns the previous soft limit. For harness-less tests in their own
/// process only: the limit is the whole process's.
// rlim_t is u64 on some targets, not on others.
#[allow(clippy::unnecessary_cast)]
pub fn set_fd_limit(limit: u64) -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit to write.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    let old = lim.rlim_cur as u64;
    lim.rlim_cur = (limit as libc::rlim_t).min(lim.rlim_max);
    // SAFETY: `lim` is a valid rlimit.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    old
}

/// The lowest fd number not open now (the next one `open` returns).
pub fn lowest_free_fd() -> u32 {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open("/dev/null").expect("/dev/null");
    file.as_raw_fd() as u32
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the new soft limit.
pub fn raise_fd_limit() -> libc::rlim_t {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit to write.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: `lim` is a valid rlimit.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    // SAFETY: as above.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    lim.rlim_cur
}

/// CPU time (user + system) used by the calling thread on Linux, by the
/// process elsewhere.
pub fn cpu_time() -> Duration {
    // SAFETY: an all-zero rusage is a valid value to be overwritten.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let who = libc::RUSAGE_THREAD;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let who = libc::RUSAGE_SELF;
    // SAFETY: `ru` is a valid rusage to write.
    unsafe { libc::getrusage(who, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Sends `sig` to this process (`raise`: delivered before it returns to a
/// thread that does not block it).
pub fn raise(sig: i32) {
    // SAFETY: no pointer arguments.
    unsafe { libc::raise(sig) };
}

/// Installs a plain `handler` for `sig` with `sigaction`; returns the
/// handler address that was there.
pub fn set_handler(sig: i32, handler: usize) -> usize {
    // SAFETY: an all-zero sigaction is valid (empty mask, no flags).
    let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
    sa.sa_sigaction = handler;
    // SAFETY: as above.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid; the handlers the tests install are
    // async-signal-safe `extern "C" fn(c_int)` or SIG_DFL/SIG_IGN.
    unsafe { libc::sigaction(sig, &sa, &mut old) };
    old.sa_sigaction
}

/// The handler address installed for `sig`.
pub fn current_handler(sig: i32) -> usize {
    // SAFETY: an all-zero sigaction is valid to be overwritten.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null new action only queries.
    unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) };
    old.sa_sigaction
}

/// A case of a `harness = false` binary: its name and the function that
/// runs it for one variant.
pub type Case = (&'static str, fn(&str));
/// A named test body for [`run_isolated`].
pub type Isolated = (String, Box<dyn Fn()>);

/// Every case on every variant, named `variant::case`, ready for
/// [`run_isolated`].
pub fn per_variant(cases: &[Case]) -> Vec<Isolated> {
    let mut all: Vec<Isolated> = Vec::new();
    for variant in VARIANTS {
        for &(name, case) in cases {
            all.push((
                format!("{variant}::{name}"),
                Box::new(move || {
                    if !skipped(variant, name) {
                        case(variant);
                    }
                }),
            ));
        }
    }
    all
}

/// Runs each `(name, case)` in a forked child process (fresh signal state,
/// no other threads), at most `timeout` each, and reports like libtest.
/// The first command-line argument that is not an option filters by
/// substring. Exits with 101 if any case failed. For `harness = false`
/// test binaries.
pub fn run_isolated(cases: Vec<Isolated>, timeout: Duration) -> ! {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let list = std::env::args().any(|a| a == "--list");
    let chosen: Vec<_> = cases
        .iter()
        .filter(|(n, _)| filter.as_ref().is_none_or(|f| n.contains(f.as_str())))
        .collect();
    if list {
        for (name, _) in &chosen {
            println!("{name}: test");
        }
        std::process::exit(0);
    }
    println!("\nrunning {} tests (each in its own process)", chosen.len());
    let mut failed = Vec::new();
    for (name, case) in &chosen {
        let started = std::time::Instant::now();
        let ok = run_in_child(case.as_ref(), timeout);
        println!(
            "test {name} ... {} ({:.2?})",
            if ok { "ok" } else { "FAILED" },
            started.elapsed()
        );
        if !ok {
            failed.push(name.clone());
        }
    }
    println!(
        "\ntest result: {}. {} passed; {} failed",
        if failed.is_empty() { "ok" } else { "FAILED" },
        chosen.len() - failed.len(),
        failed.len()
    );
    if !failed.is_empty() {
        println!("failures: {failed:?}");
        std::process::exit(101);
    }
    std::process::exit(0);
}

/// Forks; the child runs `case` and exits 0 (or 1 on panic); the parent
/// waits up to `timeout` (then kills it) and says whether it passed.
pub fn run_in_child(case: &dyn Fn(), timeout: Duration) -> bool {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: the callers are single-threaded `harness = false` mains (or
    // cases that fork from their only thread), so the child may run Rust code.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(case)).is_ok();
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        // SAFETY: _exit ends the child without running the parent's atexit
        // handlers or unwinding into the test harness.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    wait_child(pid, timeout)
}

/// Waits for child `pid` up to `timeout` (killing it then); whether it
/// exited with status 0.
pub fn wait_child(pid: i32, timeout: Duration) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid int to write.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            return libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
        }
        if r < 0 {
            return false;
        }
        if std::time::Instant::now() > deadline {
            eprintln!("child {pid} timed out after {timeout:?}; killing it");
            // SAFETY: no pointer arguments; `pid` is our child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            // SAFETY: as above.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}
