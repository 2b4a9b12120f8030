//! A TCP echo server on 127.0.0.1: every byte a client sends comes back.
//! A connection idle for longer than the idle timeout is closed; Ctrl-C
//! (SIGINT) stops the server cleanly: the loop exits, every connection and
//! the listener are closed, and a summary is printed.
//!
//! ```text
//! cargo run --release -p evbase-std --example echo -- [PORT] [IDLE_SECONDS]
//! ```
//!
//! The server is [`serve`], which `tests/echo.rs` also runs (in a thread,
//! with real clients).

use std::cell::{Cell, RefCell};
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::rc::Rc;
use std::time::Duration;

use evbase_std::prelude::*;

/// A connection stops reading while this much echo is waiting to be
/// written (the client is not reading): the server's memory stays bounded.
const BACKLOG_LIMIT: usize = 1 << 20;

/// What a server run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Connections accepted.
    pub accepted: u64,
    /// Connections closed for being idle.
    pub timed_out: u64,
    /// Connections open when the server stopped (closed by the shutdown).
    pub open_at_shutdown: u64,
    /// Bytes echoed.
    pub bytes: u64,
}

#[derive(Default)]
struct Stats {
    accepted: Cell<u64>,
    timed_out: Cell<u64>,
    open: Cell<u64>,
    bytes: Cell<u64>,
}

/// One client: its socket, the echo not yet written, and its two events.
struct Conn {
    stream: TcpStream,
    out: Vec<u8>,
    read_ev: Option<EventId>,
    write_ev: Option<EventId>,
    reading: bool,
}

/// Serves `listener` until SIGINT (Ctrl-C) or a `loop_exit`/`loop_break`
/// through the [`Remote`] handed to `ready` once the server is set up.
/// Connections idle for `idle` are closed.
pub fn serve(listener: TcpListener, idle: Duration, ready: impl FnOnce(Remote)) -> evbase_std::Result<Summary> {
    listener.set_nonblocking(true)?;
    let mut base = EventBase::new()?;
    let stats = Rc::new(Stats::default());

    let accept_stats = Rc::clone(&stats);
    let accept_source = listener.as_source()?;
    let accept = base.new_event(accept_source, What::READ | What::PERSIST, move |base, _, _| {
        loop {
            match listener.accept() {
                Ok((stream, _peer)) => {
                    if let Err(e) = open(base, stream, idle, &accept_stats) {
                        eprintln!("echo: dropping a connection: {e}");
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    // EMFILE and friends: try again on the next readiness.
                    eprintln!("echo: accept: {e}");
                    break;
                }
            }
        }
    })?;
    base.add(accept, None)?;

    base.signal_event(evbase_std::SIGINT, |base, _, _| {
        // Runs once the active callbacks are done; then the base is dropped,
        // which closes the listener and every connection.
        base.loop_exit(None).unwrap();
    })?;

    ready(base.remote());
    base.dispatch()?;
    let summary = Summary {
        accepted: stats.accepted.get(),
        timed_out: stats.timed_out.get(),
        open_at_shutdown: stats.open.get(),
        bytes: stats.bytes.get(),
    };
    drop(base); // closes the listener and the connections still open
    Ok(summary)
}

/// Makes the events of a new connection: reads with an idle timeout (a
/// persistent event's timeout restarts each time it fires), writes when
/// the echo did not fit in the socket buffer.
fn open(base: &mut CoreBase, stream: TcpStream, idle: Duration, stats: &Rc<Stats>) -> evbase_std::Result<()> {
    stream.set_nonblocking(true)?;
    let conn = Rc::new(RefCell::new(Conn {
        stream,
        out: Vec::new(),
        read_ev: None,
        write_ev: None,
        reading: true,
    }));

    let (c, s) = (Rc::clone(&conn), Rc::clone(stats));
    // Callbacks get the core base, whose `new_event` takes a `Callback`
    // (`Callback::new(closure)`); `BaseExt::io_event` takes the closure.
    let read_ev = base.io_event(
        &conn.borrow().stream,
        What::READ | What::PERSIST,
        move |base, _, what| {
            if what == What::TIMEOUT {
                s.timed_out.set(s.timed_out.get() + 1);
                close(base, &c, &s);
                return;
            }
            let mut buf = [0u8; 16 * 1024];
            let mut eof = false;
            {
                let mut conn = c.borrow_mut();
                while conn.out.len() < BACKLOG_LIMIT {
                    match conn.stream.read(&mut buf) {
                        Ok(0) => {
                            eof = true;
                            break;
                        }
                        Ok(n) => {
                            conn.out.extend_from_slice(&buf[..n]);
                            s.bytes.set(s.bytes.get() + n as u64);
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => {
                            eof = true;
                            break;
                        }
                    }
                }
            }
            if eof || flush(base, &c, idle).is_err() {
                close(base, &c, &s);
            }
        },
    )?;

    let c = Rc::clone(&conn);
    let s = Rc::clone(stats);
    let write_ev = base.io_event(&conn.borrow().stream, What::WRITE | What::PERSIST, move |base, _, _| {
        if flush(base, &c, idle).is_err() {
            close(base, &c, &s);
        }
    })?;

    {
        let mut conn = conn.borrow_mut();
        conn.read_ev = Some(read_ev);
        conn.write_ev = Some(write_ev);
    }
    base.add(read_ev, Some(idle))?;
    stats.accepted.set(stats.accepted.get() + 1);
    stats.open.set(stats.open.get() + 1);
    Ok(())
}

/// Writes what it can of the echo; watches for writability while some is
/// left, and stops reading while too much is left.
fn flush(base: &mut CoreBase, conn: &Rc<RefCell<Conn>>, idle: Duration) -> evbase_std::Result<()> {
    let mut c = conn.borrow_mut();
    while !c.out.is_empty() {
        let Conn { stream, out, .. } = &mut *c;
        match stream.write(out) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
            Ok(n) => {
                out.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let (read_ev, write_ev) = (c.read_ev.expect("set"), c.write_ev.expect("set"));
    if c.out.is_empty() {
        base.del(write_ev)?;
    } else {
        base.add(write_ev, None)?;
    }
    let should_read = c.out.len() < BACKLOG_LIMIT;
    if should_read != c.reading {
        c.reading = should_read;
        if should_read {
            base.add(read_ev, Some(idle))?;
        } else {
            base.del(read_ev)?;
        }
    }
    Ok(())
}

/// Frees both events; the socket closes when the last closure holding the
/// connection is dropped (the running one, when it returns).
fn close(base: &mut CoreBase, conn: &Rc<RefCell<Conn>>, stats: &Stats) {
    let mut c = conn.borrow_mut();
    for id in [c.read_ev.take(), c.write_ev.take()].into_iter().flatten() {
        let _ = base.free(id);
    }
    let _ = c.stream.shutdown(std::net::Shutdown::Both);
    stats.open.set(stats.open.get() - 1);
}

#[allow(dead_code)] // `tests/echo.rs` includes this file for `serve` only.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port: u16 = match args.next() {
        Some(p) => p.parse().map_err(|_| "PORT: a number")?,
        None => 0,
    };
    let idle = match args.next() {
        Some(s) => s.parse().map_err(|_| "IDLE_SECONDS: a number")?,
        None => 30.0,
    };
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    let addr = listener.local_addr()?;
    let summary = serve(listener, Duration::from_secs_f64(idle), |_| {
        println!("echo: listening on {addr}; idle connections close after {idle} s; Ctrl-C stops");
    })?;
    println!(
        "echo: stopped; {} connection(s) accepted, {} closed for idling, {} open at shutdown, {} byte(s) echoed",
        summary.accepted, summary.timed_out, summary.open_at_shutdown, summary.bytes
    );
    Ok(())
}
