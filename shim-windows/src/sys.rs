//! The one place this crate calls into Windows: every `unsafe` block of the
//! crate is here, each with the reason it is sound. Everything above this
//! module is safe Rust over the functions and types below.
//!
//! Sockets are plain `usize` values (WinSock's `SOCKET`); kernel handles
//! owned by this crate (the completion port, the AFD device) are wrapped in
//! types that close them on drop. Memory the kernel writes asynchronously
//! (an AFD poll's status block and poll info) lives in a [`PollBlock`] that
//! never frees it while a request is in flight.
#![allow(unsafe_code)]

use core::ffi::c_void;
use core::ptr;
use core::time::Duration;
use std::sync::OnceLock;

use windows_sys::Wdk::Foundation::OBJECT_ATTRIBUTES;
use windows_sys::Wdk::Storage::FileSystem::{FILE_OPEN, NtCancelIoFileEx, NtCreateFile};
use windows_sys::Wdk::System::IO::NtDeviceIoControlFile;
use windows_sys::Win32::Foundation::{
    CloseHandle, GetLastError, HANDLE, INVALID_HANDLE_VALUE, NTSTATUS, STATUS_PENDING, UNICODE_STRING, WAIT_TIMEOUT,
};
use windows_sys::Win32::Networking::WinSock::{
    AF_INET, FD_SET, FIONBIO, INVALID_SOCKET, IPPROTO_TCP, SD_SEND, SIO_BASE_HANDLE, SO_TYPE, SOCK_STREAM, SOCKADDR,
    SOCKADDR_IN, SOCKET, SOCKET_ERROR, SOL_SOCKET, TIMEVAL, WSA_FLAG_NO_HANDLE_INHERIT, WSA_FLAG_OVERLAPPED, WSADATA,
    WSAGetLastError, WSAIoctl, WSASocketW, WSAStartup, closesocket, connect, getsockopt, ioctlsocket, recv as ws_recv,
    select as ws_select, send as ws_send, shutdown as ws_shutdown,
};
use windows_sys::Win32::Storage::FileSystem::{
    FILE_SHARE_READ, FILE_SHARE_WRITE, SYNCHRONIZE, SetFileCompletionNotificationModes,
};
use windows_sys::Win32::System::Console::SetConsoleCtrlHandler;
use windows_sys::Win32::System::IO::{
    CreateIoCompletionPort, GetQueuedCompletionStatusEx, IO_STATUS_BLOCK, OVERLAPPED_ENTRY, PostQueuedCompletionStatus,
};
use windows_sys::Win32::System::Performance::{QueryPerformanceCounter, QueryPerformanceFrequency};
use windows_sys::Win32::System::SystemInformation::GetTickCount64;
use windows_sys::Win32::System::WindowsProgramming::FILE_SKIP_SET_EVENT_ON_HANDLE;

use evbase_core::Error;

// WinSock's fd_set layout (a count, then the sockets) is what the select
// backend builds by hand; its count sits in the low half of the first word.
#[cfg(not(target_endian = "little"))]
compile_error!("evbase-windows assumes a little-endian target, as every Windows target is");

/// A WinSock socket (`SOCKET`).
pub(crate) type RawSocket = SOCKET;

/// Starts WinSock once per process (2.2). Later calls return the first result.
pub(crate) fn wsa_startup() -> Result<(), Error> {
    static STARTED: OnceLock<i32> = OnceLock::new();
    let code = *STARTED.get_or_init(|| {
        let mut data = WSADATA::default();
        // SAFETY: `data` is a valid, writable WSADATA for the call's duration.
        unsafe { WSAStartup(0x0202, &mut data) }
    });
    if code == 0 {
        Ok(())
    } else {
        Err(Error::Os {
            op: &"WSAStartup",
            code,
        })
    }
}

/// The calling thread's last WinSock error.
pub(crate) fn wsa_error() -> i32 {
    // SAFETY: no arguments; reads thread-local state.
    unsafe { WSAGetLastError() }
}

/// The calling thread's last Win32 error.
fn last_error() -> i32 {
    // SAFETY: no arguments; reads thread-local state.
    unsafe { GetLastError() as i32 }
}

/// Closes socket `s`.
pub(crate) fn close_socket(s: RawSocket) -> Result<(), i32> {
    // SAFETY: closesocket takes any value; an invalid one fails with WSAENOTSOCK.
    if unsafe { closesocket(s) } == 0 {
        Ok(())
    } else {
        Err(wsa_error())
    }
}

fn len_i32(len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}

/// `send(s, data, 0)`: bytes sent, or the WinSock error.
pub(crate) fn send(s: RawSocket, data: &[u8]) -> Result<usize, i32> {
    // SAFETY: the pointer and length (clamped to i32) describe `data`, readable for the call.
    let n = unsafe { ws_send(s, data.as_ptr(), len_i32(data.len()), 0) };
    if n == SOCKET_ERROR {
        Err(wsa_error())
    } else {
        Ok(n as usize)
    }
}

/// `recv(s, buf, 0)`: bytes received (0 at end of stream), or the WinSock error.
pub(crate) fn recv(s: RawSocket, buf: &mut [u8]) -> Result<usize, i32> {
    // SAFETY: the pointer and length (clamped to i32) describe `buf`, writable for the call.
    let n = unsafe { ws_recv(s, buf.as_mut_ptr(), len_i32(buf.len()), 0) };
    if n == SOCKET_ERROR {
        Err(wsa_error())
    } else {
        Ok(n as usize)
    }
}

/// A new non-blocking IPv4 TCP socket (not inherited by children) with a
/// connect to `addr` started: the connect finishes (or fails) later.
pub(crate) fn tcp_connect_nonblocking(addr: std::net::SocketAddrV4) -> Result<RawSocket, i32> {
    const WSAEWOULDBLOCK: i32 = 10035;
    // SAFETY: value arguments; no protocol info structure.
    let s = unsafe {
        WSASocketW(
            AF_INET as i32,
            SOCK_STREAM,
            IPPROTO_TCP,
            ptr::null(),
            0,
            WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT,
        )
    };
    if s == INVALID_SOCKET {
        return Err(wsa_error());
    }
    let fail = |code: i32| {
        let _ = close_socket(s);
        Err(code)
    };
    let mut on: u32 = 1;
    // SAFETY: FIONBIO reads one u32 through the pointer, to a live local.
    if unsafe { ioctlsocket(s, FIONBIO, &mut on) } != 0 {
        return fail(wsa_error());
    }
    let mut sin = SOCKADDR_IN {
        sin_family: AF_INET,
        sin_port: addr.port().to_be(),
        ..Default::default()
    };
    sin.sin_addr.S_un.S_addr = u32::from_ne_bytes(addr.ip().octets());
    // SAFETY: `sin` is a live SOCKADDR_IN and the length is its size.
    let r = unsafe { connect(s, (&raw const sin).cast::<SOCKADDR>(), size_of::<SOCKADDR_IN>() as i32) };
    if r == 0 {
        return Ok(s);
    }
    match wsa_error() {
        WSAEWOULDBLOCK => Ok(s),
        code => fail(code),
    }
}

/// `shutdown(s, SD_SEND)`.
pub(crate) fn shutdown_send(s: RawSocket) -> Result<(), i32> {
    // SAFETY: plain value arguments; an invalid socket fails with an error code.
    if unsafe { ws_shutdown(s, SD_SEND) } == 0 {
        Ok(())
    } else {
        Err(wsa_error())
    }
}

/// Whether `s` is an open socket (its `SO_TYPE` can be read).
pub(crate) fn is_socket(s: RawSocket) -> bool {
    let mut ty: i32 = 0;
    let mut len = size_of::<i32>() as i32;
    // SAFETY: `ty` is a writable i32 and `len` holds its size, as getsockopt requires.
    let r = unsafe { getsockopt(s, SOL_SOCKET, SO_TYPE, (&raw mut ty).cast(), &mut len) };
    r == 0
}

/// The base service provider's socket under `s` (`SIO_BASE_HANDLE`), which
/// is what AFD polls: layered providers hand out sockets AFD does not know.
pub(crate) fn base_socket(s: RawSocket) -> Result<RawSocket, i32> {
    let mut base: RawSocket = 0;
    let mut bytes: u32 = 0;
    // SAFETY: no input buffer; the output buffer is `base` with its exact size;
    // `bytes` is writable; no overlapped structure or completion routine.
    let r = unsafe {
        WSAIoctl(
            s,
            SIO_BASE_HANDLE,
            ptr::null(),
            0,
            (&raw mut base).cast(),
            size_of::<RawSocket>() as u32,
            &mut bytes,
            ptr::null_mut(),
            None,
        )
    };
    if r == SOCKET_ERROR { Err(wsa_error()) } else { Ok(base) }
}

/// Whole milliseconds covering `d`, rounded up so a wait never ends early,
/// capped below `INFINITE`.
pub(crate) fn millis_up(d: Duration) -> u32 {
    let ms = d.as_nanos().div_ceil(1_000_000);
    u32::try_from(ms).unwrap_or(u32::MAX - 1).min(u32::MAX - 1)
}

/// WinSock `select` over fd sets laid out as WinSock's `fd_set` (word 0:
/// the count in its low 32 bits; then the sockets), of any length. Empty
/// sets are passed as null. Returns how many sockets are ready; each set is
/// rewritten to hold the ready ones.
///
/// Refuses (`WSAEINVAL`) a set whose count does not fit its buffer.
pub(crate) fn select(
    read: &mut [usize],
    write: &mut [usize],
    except: &mut [usize],
    timeout: Option<Duration>,
) -> Result<usize, i32> {
    const WSAEINVAL: i32 = 10022;
    fn as_set(buf: &mut [usize]) -> Result<*mut FD_SET, i32> {
        let Some(&count) = buf.first() else {
            return Ok(ptr::null_mut());
        };
        let count = count & 0xffff_ffff;
        if count >= buf.len() {
            return Err(WSAEINVAL);
        }
        Ok(if count == 0 {
            ptr::null_mut()
        } else {
            buf.as_mut_ptr().cast::<FD_SET>()
        })
    }
    let (r, w, e) = (as_set(read)?, as_set(write)?, as_set(except)?);
    let tv = timeout.map(|d| {
        let ms = millis_up(d).min(i32::MAX as u32 - 1);
        TIMEVAL {
            tv_sec: (ms / 1000) as i32,
            tv_usec: ((ms % 1000) * 1000) as i32,
        }
    });
    let tvp = tv.as_ref().map_or(ptr::null(), |t| t as *const TIMEVAL);
    // SAFETY: each non-null set points at a usize-aligned buffer whose first word
    // holds a count smaller than the buffer's length, followed by that many
    // sockets: the layout of FD_SET (u32 count padded to a word, then SOCKETs),
    // which select reads and rewrites only within `count` entries. `tvp` is
    // null or points at `tv`, alive for the call.
    let n = unsafe { ws_select(0, r, w, e, tvp) };
    if n == SOCKET_ERROR {
        Err(wsa_error())
    } else {
        Ok(n as usize)
    }
}

/// Milliseconds since boot (`GetTickCount64`).
pub(crate) fn tick_count_ms() -> u64 {
    // SAFETY: no arguments.
    unsafe { GetTickCount64() }
}

/// The performance counter and its frequency per second
/// (`QueryPerformanceCounter`); `None` where it fails.
pub(crate) fn performance_counter() -> Option<(u64, u64)> {
    let (mut count, mut freq) = (0i64, 0i64);
    // SAFETY: both pointers are to live, writable i64s.
    let ok = unsafe { QueryPerformanceFrequency(&mut freq) != 0 && QueryPerformanceCounter(&mut count) != 0 };
    (ok && freq > 0 && count >= 0).then_some((count as u64, freq as u64))
}

/// An owned completion port handle.
#[derive(Debug)]
pub(crate) struct Port(usize);

/// One dequeued completion packet (`OVERLAPPED_ENTRY`).
#[derive(Clone, Copy, Default)]
#[repr(transparent)]
pub(crate) struct Completion(OVERLAPPED_ENTRY);

impl core::fmt::Debug for Completion {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Completion")
            .field("key", &self.key())
            .field("context", &self.context())
            .finish()
    }
}

impl Completion {
    /// The completion key of the handle (or of the post) it came from.
    pub(crate) fn key(&self) -> usize {
        self.0.lpCompletionKey
    }
    /// The `OVERLAPPED` pointer (the AFD poll's context), as an address.
    pub(crate) fn context(&self) -> usize {
        self.0.lpOverlapped as usize
    }
}

impl Port {
    /// A new completion port letting `concurrency` threads run at once
    /// (0: as many as there are processors).
    pub(crate) fn new(concurrency: u32) -> Result<Port, Error> {
        // SAFETY: INVALID_HANDLE_VALUE with no existing port creates a new port.
        let h = unsafe { CreateIoCompletionPort(INVALID_HANDLE_VALUE, ptr::null_mut(), 0, concurrency) };
        if h.is_null() {
            return Err(Error::Os {
                op: &"CreateIoCompletionPort",
                code: last_error(),
            });
        }
        Ok(Port(h as usize))
    }

    /// The raw port handle, for wake-ups ([`post`]).
    pub(crate) fn raw(&self) -> usize {
        self.0
    }

    /// Waits up to `timeout_ms` (`u32::MAX`: forever) for completions;
    /// returns how many were written to `buf` (0 on timeout).
    pub(crate) fn wait(&self, buf: &mut [Completion], timeout_ms: u32) -> Result<usize, Error> {
        let mut n: u32 = 0;
        let len = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        // SAFETY: `buf` holds `len` writable OVERLAPPED_ENTRY (Completion is
        // repr(transparent)); `n` is writable; the port handle is owned and open.
        let ok = unsafe {
            GetQueuedCompletionStatusEx(self.0 as HANDLE, buf.as_mut_ptr().cast(), len, &mut n, timeout_ms, 0)
        };
        if ok != 0 {
            return Ok(n as usize);
        }
        match last_error() {
            e if e == WAIT_TIMEOUT as i32 => Ok(0),
            code => Err(Error::Os {
                op: &"GetQueuedCompletionStatusEx",
                code,
            }),
        }
    }
}

impl Drop for Port {
    fn drop(&mut self) {
        // SAFETY: the handle is owned by this value and closed once.
        unsafe { CloseHandle(self.0 as HANDLE) };
    }
}

/// Posts an empty completion with `key` to port `port` (a wake-up). The
/// caller guarantees the port is still open (the wake registry removes a
/// port before its owner closes it). Returns whether the post succeeded.
pub(crate) fn post(port: usize, key: usize) -> bool {
    // SAFETY: value arguments and a null OVERLAPPED, which the port hands back as is.
    unsafe { PostQueuedCompletionStatus(port as HANDLE, 0, key, ptr::null()) != 0 }
}

/// `IOCTL_AFD_POLL`.
const IOCTL_AFD_POLL: u32 = 0x0001_2024;

#[repr(C)]
#[derive(Clone, Copy)]
struct AfdPollHandleInfo {
    handle: HANDLE,
    events: u32,
    status: NTSTATUS,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct AfdPollInfo {
    timeout: i64,
    number_of_handles: u32,
    exclusive: u32,
    handles: [AfdPollHandleInfo; 1],
}

/// An open `\Device\Afd` helper handle associated with a completion port:
/// AFD poll requests issued through it complete on that port.
#[derive(Debug)]
pub(crate) struct Afd(usize);

impl Afd {
    /// Opens the AFD device and associates it with `port` under `key`.
    pub(crate) fn open(port: &Port, key: usize) -> Result<Afd, Error> {
        // "\Device\Afd\evbase": any name under \Device\Afd opens the driver.
        static NAME: [u16; 18] = {
            let s = b"\\Device\\Afd\\evbase";
            let mut w = [0u16; 18];
            let mut i = 0;
            while i < s.len() {
                w[i] = s[i] as u16;
                i += 1;
            }
            w
        };
        let name = UNICODE_STRING {
            Length: (NAME.len() * 2) as u16,
            MaximumLength: (NAME.len() * 2) as u16,
            Buffer: NAME.as_ptr().cast_mut(),
        };
        let attributes = OBJECT_ATTRIBUTES {
            Length: size_of::<OBJECT_ATTRIBUTES>() as u32,
            RootDirectory: ptr::null_mut(),
            ObjectName: &name,
            Attributes: 0,
            SecurityDescriptor: ptr::null(),
            SecurityQualityOfService: ptr::null(),
        };
        let mut handle: HANDLE = ptr::null_mut();
        let mut iosb = IO_STATUS_BLOCK::default();
        // SAFETY: every pointer is to a live local (`name` points at a static
        // UTF-16 buffer NtCreateFile only reads); no EA buffer; value flags.
        let status = unsafe {
            NtCreateFile(
                &mut handle,
                SYNCHRONIZE,
                &attributes,
                &mut iosb,
                ptr::null(),
                0,
                FILE_SHARE_READ | FILE_SHARE_WRITE,
                FILE_OPEN,
                0,
                ptr::null(),
                0,
            )
        };
        if status < 0 {
            return Err(Error::Os {
                op: &"NtCreateFile(\\Device\\Afd)",
                code: status,
            });
        }
        let afd = Afd(handle as usize);
        // SAFETY: both handles are open and owned; this associates them.
        let h = unsafe { CreateIoCompletionPort(handle, port.0 as HANDLE, key, 0) };
        if h.is_null() {
            return Err(Error::Os {
                op: &"CreateIoCompletionPort(afd)",
                code: last_error(),
            });
        }
        // SAFETY: the AFD handle is open and owned; a value flag.
        if unsafe { SetFileCompletionNotificationModes(handle, FILE_SKIP_SET_EVENT_ON_HANDLE as u8) } == 0 {
            return Err(Error::Os {
                op: &"SetFileCompletionNotificationModes",
                code: last_error(),
            });
        }
        Ok(afd)
    }
}

impl Drop for Afd {
    fn drop(&mut self) {
        // SAFETY: the handle is owned by this value and closed once.
        unsafe { CloseHandle(self.0 as HANDLE) };
    }
}

/// The status block and poll info of one AFD poll request: memory the
/// kernel writes when the request completes.
struct PollRaw {
    iosb: IO_STATUS_BLOCK,
    info: AfdPollInfo,
}

/// One socket's AFD poll request. While a request is in flight the kernel
/// owns the block's memory: it is read only after its completion packet has
/// been dequeued ([`PollBlock::take`]), and a block dropped in flight is
/// leaked rather than freed.
pub(crate) struct PollBlock {
    /// From `Box::into_raw`; freed in `drop` unless a request is in flight.
    raw: ptr::NonNull<PollRaw>,
    pending: bool,
}

impl core::fmt::Debug for PollBlock {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PollBlock")
            .field("addr", &self.addr())
            .field("pending", &self.pending)
            .finish()
    }
}

impl PollBlock {
    /// An idle block.
    pub(crate) fn new() -> PollBlock {
        let info = AfdPollInfo {
            timeout: i64::MAX,
            number_of_handles: 0,
            exclusive: 0,
            handles: [AfdPollHandleInfo {
                handle: ptr::null_mut(),
                events: 0,
                status: 0,
            }],
        };
        let raw = Box::into_raw(Box::new(PollRaw {
            iosb: IO_STATUS_BLOCK::default(),
            info,
        }));
        PollBlock {
            raw: ptr::NonNull::new(raw).expect("Box::into_raw is never null"),
            pending: false,
        }
    }

    /// The address completions of this block carry as their context.
    pub(crate) fn addr(&self) -> usize {
        self.raw.as_ptr() as usize
    }

    /// Whether a request is in flight.
    pub(crate) fn is_pending(&self) -> bool {
        self.pending
    }

    /// Asks AFD to complete when `socket` (a base socket) has any of
    /// `events`. Its completion arrives on the AFD handle's port with this
    /// block's address as context. Fails with the NTSTATUS when the request
    /// is refused, or `STATUS_PENDING` when one is already in flight.
    pub(crate) fn submit(&mut self, afd: &Afd, socket: RawSocket, events: u32) -> Result<(), NTSTATUS> {
        if self.pending {
            return Err(STATUS_PENDING);
        }
        let raw = self.raw.as_ptr();
        // SAFETY: no request is in flight, so nothing else reads or writes
        // the block; `raw` points into the live box.
        unsafe {
            (*raw).info = AfdPollInfo {
                timeout: i64::MAX,
                number_of_handles: 1,
                exclusive: 0,
                handles: [AfdPollHandleInfo {
                    handle: socket as HANDLE,
                    events,
                    status: 0,
                }],
            };
            (*raw).iosb.Anonymous.Status = STATUS_PENDING;
        }
        let size = size_of::<AfdPollInfo>() as u32;
        // SAFETY: the AFD handle is open; the status block and poll info live in
        // the heap block, which stays allocated until the completion is dequeued
        // (`pending` below; a pending block is leaked, never freed); input and
        // output buffers are the same poll info, which AFD reads then rewrites.
        let status = unsafe {
            let info = &raw mut (*raw).info;
            NtDeviceIoControlFile(
                afd.0 as HANDLE,
                ptr::null_mut(),
                None,
                raw as *const c_void,
                &raw mut (*raw).iosb,
                IOCTL_AFD_POLL,
                info as *const c_void,
                size,
                info.cast(),
                size,
            )
        };
        if status == STATUS_PENDING || status >= 0 {
            // Success and pending both queue a completion packet.
            self.pending = true;
            Ok(())
        } else {
            Err(status)
        }
    }

    /// Asks AFD to complete the request in flight now (with
    /// `STATUS_CANCELLED`); its completion packet still arrives.
    pub(crate) fn cancel(&self, afd: &Afd) {
        if !self.pending {
            return;
        }
        let raw = self.raw.as_ptr();
        let mut out = IO_STATUS_BLOCK::default();
        // SAFETY: cancelling only identifies the request by its status block's
        // address (not dereferenced by us); `out` is a live local. A failure
        // (STATUS_NOT_FOUND) means it completed already: its packet is queued.
        let _ = unsafe { NtCancelIoFileEx(afd.0 as HANDLE, &raw const (*raw).iosb, &mut out) };
    }

    /// The outcome of this block's request, given its dequeued completion:
    /// the request's NTSTATUS and the AFD events that fired (0 when none was
    /// reported). `None` when `done` is not this block's completion.
    pub(crate) fn take(&mut self, done: &Completion) -> Option<(NTSTATUS, u32)> {
        if !self.pending || done.context() != self.addr() {
            return None;
        }
        self.pending = false;
        let raw = self.raw.as_ptr();
        // SAFETY: the completion packet for this block's request has been
        // dequeued, so the kernel is done writing it; nothing else aliases it.
        let (status, handles, events) = unsafe {
            (
                (*raw).iosb.Anonymous.Status,
                (*raw).info.number_of_handles,
                (*raw).info.handles[0].events,
            )
        };
        Some((status, if handles == 0 { 0 } else { events }))
    }
}

impl Drop for PollBlock {
    fn drop(&mut self) {
        if !self.pending {
            // SAFETY: `raw` came from Box::into_raw and is freed only here, once;
            // no request is in flight, so the kernel no longer refers to it.
            drop(unsafe { Box::from_raw(self.raw.as_ptr()) });
        }
        // In flight: the kernel may still write it, so it is leaked.
    }
}

/// Routes console control events to [`crate::notify::console_event`].
unsafe extern "system" fn console_trampoline(ctrl: u32) -> windows_sys::core::BOOL {
    i32::from(crate::notify::console_event(ctrl))
}

/// Installs the console control handler once per process; it stays
/// installed (with nothing watching, it declines every event and Windows
/// applies the default action, as if it were absent).
pub(crate) fn install_console_handler() -> Result<(), Error> {
    static INSTALLED: OnceLock<i32> = OnceLock::new();
    let code = *INSTALLED.get_or_init(|| {
        // SAFETY: the handler is a plain function for the life of the process
        // (never removed); it only touches thread-safe statics.
        if unsafe { SetConsoleCtrlHandler(Some(console_trampoline), 1) } != 0 {
            0
        } else {
            last_error()
        }
    });
    if code == 0 {
        Ok(())
    } else {
        Err(Error::Os {
            op: &"SetConsoleCtrlHandler",
            code,
        })
    }
}
