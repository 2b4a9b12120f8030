//! I/O readiness on socket pairs.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use evbase_core::{Callback, EventId, Exit, Features, LoopFlags, Source, Storage, What};

use super::log;
use crate::{TestPlatform, new_base};

const TEST1: &[u8] = b"this is a test\0";

/// libevent `main/simpleread`: read the data, re-add, then see EOF.
pub fn simpleread<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let (a, b) = base.platform_mut().socketpair();
    base.platform_mut().send(a, TEST1).unwrap();
    base.platform_mut().shutdown_write(a);
    let reads = log();
    let r = reads.clone();
    let ev = base
        .new_event(
            Source::Fd(b),
            What::READ,
            Callback::<P, S>::new(move |bs, id, what| {
                assert_eq!(what, What::READ);
                let mut buf = [0u8; 256];
                let n = bs.platform_mut().recv(b, &mut buf).unwrap();
                r.borrow_mut().push(n);
                if n > 0 {
                    bs.add(id, None).unwrap();
                }
            }),
        )
        .unwrap();
    base.add(ev, None).unwrap();
    assert_eq!(base.dispatch(), Ok(Exit::NoEvents));
    assert_eq!(*reads.borrow(), [TEST1.len(), 0]);
}

/// libevent `main/simplewrite`: a write event fires on a writable socket.
pub fn simplewrite<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let (a, b) = base.platform_mut().socketpair();
    let wrote = log();
    let w = wrote.clone();
    let ev = base.new_event(
        Source::Fd(a),
        What::WRITE,
        Callback::<P, S>::new(move |bs, _, what| {
            assert_eq!(what, What::WRITE);
            w.borrow_mut().push(bs.platform_mut().send(a, TEST1).unwrap());
        }),
    );
    base.add(ev.unwrap(), None).unwrap();
    assert_eq!(base.dispatch(), Ok(Exit::NoEvents));
    assert_eq!(*wrote.borrow(), [TEST1.len()]);
    let mut buf = [0u8; 64];
    assert_eq!(base.platform_mut().recv(b, &mut buf), Some(TEST1.len()));
    assert_eq!(&buf[..TEST1.len()], TEST1);
}

/// Data moved by `multiple` and `persistent`: 4096 bytes written in chunks,
/// read back intact.
fn transfer<P: TestPlatform, S: Storage>(variant: &str, persist: bool) {
    let mut base = new_base::<P, S>(variant);
    let (a, b) = base.platform_mut().socketpair();
    let sent: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
    let received = Rc::new(RefCell::new(Vec::new()));
    let offset = Rc::new(RefCell::new(0usize));
    let flags = if persist { What::PERSIST } else { What::empty() };
    let (src, off) = (sent.clone(), offset.clone());
    let writer = base
        .new_event(
            Source::Fd(a),
            What::WRITE | flags,
            Callback::<P, S>::new(move |bs, id, _| {
                let mut o = off.borrow_mut();
                let chunk = (src.len() - *o).min(256);
                let n = bs.platform_mut().send(a, &src[*o..*o + chunk]).unwrap_or(0);
                *o += n;
                if *o == src.len() {
                    bs.platform_mut().shutdown_write(a);
                    if persist {
                        bs.del(id).unwrap();
                    }
                } else if !persist {
                    bs.add(id, None).unwrap();
                }
            }),
        )
        .unwrap();
    let got = received.clone();
    let reader = base
        .new_event(
            Source::Fd(b),
            What::READ | flags,
            Callback::<P, S>::new(move |bs, id, _| {
                let mut buf = [0u8; 300];
                match bs.platform_mut().recv(b, &mut buf) {
                    Some(0) if persist => bs.del(id).unwrap(),
                    Some(0) => {}
                    Some(n) => {
                        got.borrow_mut().extend_from_slice(&buf[..n]);
                        if !persist {
                            bs.add(id, None).unwrap();
                        }
                    }
                    None if !persist => bs.add(id, None).unwrap(),
                    None => {}
                }
            }),
        )
        .unwrap();
    base.add(writer, None).unwrap();
    base.add(reader, None).unwrap();
    assert_eq!(base.dispatch(), Ok(Exit::NoEvents));
    assert_eq!(*offset.borrow(), sent.len());
    assert_eq!(*received.borrow(), sent);
}

/// libevent `main/multiple`: non-persistent read and write events re-added
/// in every callback move 4096 bytes intact.
pub fn multiple<P: TestPlatform, S: Storage>(variant: &str) {
    transfer::<P, S>(variant, false);
}

/// libevent `main/persistent`: the same with persistent events deleted at the end.
pub fn persistent<P: TestPlatform, S: Storage>(variant: &str) {
    transfer::<P, S>(variant, true);
}

/// libevent `main/combined`: a reader and a writer on each end of one pair
/// (four events, two handles); the byte counts match both ways.
pub fn combined<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let (a, b) = base.platform_mut().socketpair();
    let totals = Rc::new(RefCell::new([0usize; 4]));
    let mut make = |fd: u32, what: What, slot: usize| -> EventId {
        let t = totals.clone();
        base.new_event(
            Source::Fd(fd),
            what,
            Callback::<P, S>::new(move |bs, id, _| {
                if what.contains(What::WRITE) {
                    let n = bs.platform_mut().send(fd, &[7u8; 300]).unwrap_or(0);
                    let mut t = t.borrow_mut();
                    t[slot] += n;
                    if t[slot] < 8192 {
                        bs.add(id, None).unwrap();
                    } else {
                        bs.platform_mut().shutdown_write(fd);
                    }
                } else {
                    let mut buf = [0u8; 500];
                    let n = bs.platform_mut().recv(fd, &mut buf).unwrap_or(0);
                    t.borrow_mut()[slot] += n;
                    if n > 0 {
                        bs.add(id, None).unwrap();
                    }
                }
            }),
        )
        .unwrap()
    };
    let ids = [
        make(a, What::READ, 0),
        make(b, What::READ, 1),
        make(a, What::WRITE, 2),
        make(b, What::WRITE, 3),
    ];
    for id in ids {
        base.add(id, None).unwrap();
    }
    assert_eq!(base.dispatch(), Ok(Exit::NoEvents));
    let t = totals.borrow();
    assert!(t[2] >= 8192 && t[3] >= 8192, "{t:?}");
    assert_eq!((t[0], t[1]), (t[3], t[2]), "bytes read = bytes written the other way");
}

/// libevent `main/event_base_new`: a persistent reader sees the data, then
/// EOF, and its callback deletes it and exits the loop.
pub fn event_base_new<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let (a, b) = base.platform_mut().socketpair();
    base.platform_mut().send(a, TEST1).unwrap();
    base.platform_mut().shutdown_write(a);
    let reads = log();
    let r = reads.clone();
    let ev = base.new_event(
        Source::Fd(b),
        What::READ | What::PERSIST,
        Callback::<P, S>::new(move |bs, id, _| {
            let mut buf = [0u8; 256];
            let n = bs.platform_mut().recv(b, &mut buf).unwrap();
            r.borrow_mut().push(n);
            if n == 0 {
                bs.del(id).unwrap();
                bs.loop_exit(None).unwrap();
            }
        }),
    );
    base.add(ev.unwrap(), None).unwrap();
    assert_eq!(base.dispatch(), Ok(Exit::Done));
    assert_eq!(*reads.borrow(), [TEST1.len(), 0]);
}

/// libevent `main/simpleclose_{close,shutdown}[_persist][_et]`: `CLOSED`
/// fires after the peer closes or shuts down writing, where the backend has
/// `EARLY_CLOSE` (and `ET` for the edge variants); a `NONBLOCK` loop then
/// returns with the event still pending only if persistent.
pub fn simpleclose<P: TestPlatform, S: Storage>(variant: &str) {
    for close in [true, false] {
        for persist in [false, true] {
            for et in [false, true] {
                let mut base = new_base::<P, S>(variant);
                let features = base.features();
                if !features.contains(Features::EARLY_CLOSE) || (et && !features.contains(Features::ET)) {
                    return;
                }
                let (a, b) = base.platform_mut().socketpair();
                let got = log();
                let g = got.clone();
                let mut flags = What::CLOSED;
                if persist {
                    flags |= What::PERSIST;
                }
                if et {
                    flags |= What::ET;
                }
                let ev = base.new_event(
                    Source::Fd(b),
                    flags,
                    Callback::<P, S>::new(move |_, _, what| g.borrow_mut().push(what)),
                );
                let ev = ev.unwrap();
                base.add(ev, None).unwrap();
                assert_eq!(base.run(LoopFlags::NONBLOCK), Ok(Exit::Done));
                assert!(got.borrow().is_empty(), "CLOSED before the peer closed");
                if close {
                    base.platform_mut().close(a);
                } else {
                    base.platform_mut().shutdown_write(a);
                }
                base.platform_mut().sleep(Duration::from_millis(5));
                assert_eq!(base.run(LoopFlags::ONCE | LoopFlags::NONBLOCK), Ok(Exit::Done));
                let expect = What::CLOSED | if et { What::ET } else { What::empty() };
                assert_eq!(
                    got.borrow().first(),
                    Some(&expect),
                    "close={close} persist={persist} et={et}"
                );
                assert_eq!(base.pending(ev, What::CLOSED).unwrap().what.is_empty(), !persist);
            }
        }
    }
}

/// libevent `et/et`: an edge-triggered reader fires once (with `ET`) for
/// data it leaves unread; a level-triggered backend fires it again without.
pub fn et<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let (a, b) = base.platform_mut().socketpair();
    base.platform_mut().send(a, TEST1).unwrap();
    let got = log();
    let g = got.clone();
    let ev = base.new_event(
        Source::Fd(b),
        What::READ | What::ET | What::PERSIST,
        Callback::<P, S>::new(move |_, _, what| {
            g.borrow_mut().push(what);
        }),
    );
    base.add(ev.unwrap(), None).unwrap();
    for _ in 0..2 {
        base.run(LoopFlags::ONCE | LoopFlags::NONBLOCK).unwrap();
    }
    if base.features().contains(Features::ET) {
        assert_eq!(*got.borrow(), [What::READ | What::ET]);
    } else {
        assert_eq!(*got.borrow(), [What::READ, What::READ]);
    }
}
