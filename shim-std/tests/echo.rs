//! Drives the `echo` example's server with real clients: concurrent echo,
//! a large transfer through the write path, the idle timeout (and a busy
//! client that outlives it), then a clean shutdown — by SIGINT on Unix, as
//! Ctrl-C would, and through a `Remote` on Windows.

#[path = "../examples/echo.rs"]
mod echo;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const IDLE: Duration = Duration::from_millis(300);

fn client(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

fn echo_round(s: &mut TcpStream, msg: &[u8]) {
    s.write_all(msg).unwrap();
    let mut back = vec![0; msg.len()];
    s.read_exact(&mut back).unwrap();
    assert_eq!(back, msg);
}

#[test]
fn echo_server_with_real_clients() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    let server = thread::spawn(move || echo::serve(listener, IDLE, move |remote| tx.send(remote).unwrap()));
    let remote = rx.recv().unwrap();

    // Concurrent clients, each with several round trips.
    let clients: Vec<_> = (0..8)
        .map(|i| {
            thread::spawn(move || {
                let mut s = client(addr);
                for j in 0..20 {
                    echo_round(&mut s, format!("client {i} message {j}").as_bytes());
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }

    // 4 MiB sent while reading concurrently: more than the socket buffers,
    // so the server goes through its write event and read back-pressure.
    let big: Vec<u8> = (0..4 << 20).map(|i: u32| (i % 251) as u8).collect();
    let mut s = client(addr);
    let mut writer = s.try_clone().unwrap();
    let sent = big.clone();
    let w = thread::spawn(move || writer.write_all(&sent).unwrap());
    let mut back = vec![0; big.len()];
    s.read_exact(&mut back).unwrap();
    w.join().unwrap();
    assert!(back == big, "the large transfer came back altered");
    drop(s);

    // An idle client is closed after IDLE; a busy one is not.
    let mut idle = client(addr);
    let mut busy = client(addr);
    let start = Instant::now();
    for _ in 0..6 {
        thread::sleep(IDLE / 3);
        echo_round(&mut busy, b"still here");
    }
    let mut buf = [0u8; 8];
    match idle.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("the idle client was not closed: {other:?}"),
    }
    assert!(start.elapsed() >= IDLE);
    echo_round(&mut busy, b"outlived the idle timeout");

    // Clean shutdown while `busy` is connected.
    stop(&remote);
    let summary = server.join().unwrap().unwrap();
    match busy.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("the shutdown left a client connected: {other:?}"),
    }
    assert!(TcpStream::connect(addr).is_err(), "the listener is still open");
    assert_eq!(summary.accepted, 8 + 1 + 2);
    assert_eq!(summary.timed_out, 1);
    assert_eq!(summary.open_at_shutdown, 1);
    let small: u64 = (0..8u64)
        .map(|i| {
            (0..20)
                .map(|j| format!("client {i} message {j}").len() as u64)
                .sum::<u64>()
        })
        .sum();
    let busy_bytes = 6 * 10 + 25;
    assert_eq!(summary.bytes, small + big.len() as u64 + busy_bytes);
}

/// Stops the server as Ctrl-C would: SIGINT to this process, which the
/// server's signal event takes (its handler is installed, so the process is
/// not killed).
#[cfg(unix)]
fn stop(_remote: &evbase_std::Remote) {
    // SAFETY: kill with this process's own pid and a signal with a handler.
    let r = unsafe { libc::kill(libc::getpid(), libc::SIGINT) };
    assert_eq!(r, 0);
}

/// Stops the server through its remote handle (Windows delivers Ctrl-C to
/// the whole console, test runner included).
#[cfg(not(unix))]
fn stop(remote: &evbase_std::Remote) {
    remote.loop_exit().unwrap();
}
