//! Calls that fail: a bad handle is refused at `add` on every backend, and
//! a failing call leaves the base exactly as it was — its tables (what
//! [`EventBase::memory`] counts), its counters, its events, and the
//! process's descriptors.

use std::time::Duration;

use evbase_core::{
    Buf, Callback, Config, Count, Error, EventBase, EventId, Exit, LoopFlags, MAX_HANDLE, Memory, Source, Storage, What,
};

use crate::{TestPlatform, new_base};

/// Descriptor numbers no test opens: far above what a test process has
/// open (5,000), and above the usual hard limit (1,000,000).
pub const NEVER_OPENED: [u32; 2] = [5_000, 1_000_000];

/// Lists the process's open descriptors, for [`failed_calls_change_nothing_with`];
/// only where no other thread opens or closes one meanwhile.
pub type Descriptors = Option<fn() -> Vec<String>>;

/// Everything a failing call must leave as it was.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    memory: Memory,
    /// `num_events` of `ACTIVE`, `VIRTUAL`, `ADDED`.
    counts: [usize; 3],
    /// `max_events` of the same, not cleared.
    peaks: [usize; 3],
    npriorities: usize,
    /// `dump_events`: every pending and active event, with its flags,
    /// priority and deadline.
    events: String,
    descriptors: Option<Vec<String>>,
}

const COUNTS: [Count; 3] = [Count::ACTIVE, Count::VIRTUAL, Count::ADDED];

fn snapshot<P: TestPlatform, S: Storage>(base: &mut EventBase<P, S>, descriptors: Descriptors) -> Snapshot {
    let mut events = String::new();
    base.dump_events(&mut events).unwrap();
    Snapshot {
        memory: base.memory(),
        counts: COUNTS.map(|c| base.num_events(c)),
        peaks: COUNTS.map(|c| base.max_events(c, false)),
        npriorities: base.npriorities(),
        events,
        descriptors: descriptors.map(|list| list()),
    }
}

/// Runs `call`, which must fail, and asserts that the base is as it was;
/// returns the error.
fn refused<P: TestPlatform, S: Storage, T: std::fmt::Debug>(
    base: &mut EventBase<P, S>,
    descriptors: Descriptors,
    what: &str,
    call: impl FnOnce(&mut EventBase<P, S>) -> Result<T, Error>,
) -> Error {
    let before = snapshot(base, descriptors);
    let result = call(base);
    let after = snapshot(base, descriptors);
    let error = match result {
        Ok(v) => panic!("{what}: accepted ({v:?})"),
        Err(e) => e,
    };
    assert_eq!(before, after, "{what}: the failed call ({error}) changed the base");
    error
}

fn nop<P: TestPlatform, S: Storage>() -> Callback<P, S> {
    Callback::new(|_, _, _| {})
}

fn event<P: TestPlatform, S: Storage>(base: &mut EventBase<P, S>, source: Source, what: What) -> EventId {
    base.new_event(source, what, nop()).unwrap()
}

/// The most entries one table of `S` holds (`usize::MAX` when growable).
fn table_limit<S: Storage>() -> usize {
    S::Vec::<u8>::default().limit()
}

/// Issue 15 item 5: a descriptor that is not open — never opened (5,000;
/// 1,000,000), or beyond the fd map (`MAX_HANDLE` and above) — is refused at
/// `add` with `InvalidHandle` on every backend, with or without a timeout,
/// and is never reported; the base goes on with its good events. (select
/// used to accept such a descriptor and never report it, poll to report it
/// ready, a changelist to drop it at the next dispatch.)
pub fn bad_handle_refused<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let (a, b) = base.platform_mut().socketpair();
    let fired = super::log();
    for fd in NEVER_OPENED.into_iter().chain([MAX_HANDLE, MAX_HANDLE + 1, u32::MAX]) {
        let f = fired.clone();
        let ev = base
            .new_event(
                Source::Fd(fd),
                What::READ | What::WRITE | What::PERSIST,
                Callback::new(move |_, _, what| f.borrow_mut().push((fd, what))),
            )
            .unwrap();
        assert_eq!(
            base.add(ev, None),
            Err(Error::InvalidHandle(fd.into())),
            "{variant}: fd {fd}"
        );
        assert_eq!(
            base.add(ev, Some(Duration::from_secs(1))),
            Err(Error::InvalidHandle(fd.into())),
            "{variant}: fd {fd} with a timeout"
        );
        assert!(base.pending(ev, What::all()).unwrap().what.is_empty(), "fd {fd}");
        let once = base.once(Source::Fd(fd), What::READ, None, nop());
        assert_eq!(
            once.err(),
            Some(Error::InvalidHandle(fd.into())),
            "{variant}: once on fd {fd}"
        );
    }
    let f = fired.clone();
    let good = base
        .new_event(
            Source::Fd(b),
            What::WRITE,
            Callback::new(move |_, _, what| f.borrow_mut().push((b, what))),
        )
        .unwrap();
    base.add(good, None).unwrap();
    assert_eq!(base.run(LoopFlags::ONCE), Ok(Exit::Done));
    assert_eq!(
        *fired.borrow(),
        [(b, What::WRITE)],
        "{variant}: only the good event ran"
    );
    assert_eq!(
        base.dispatch(),
        Ok(Exit::NoEvents),
        "{variant}: nothing refused stayed pending"
    );
    base.platform_mut().close(a);
    base.platform_mut().close(b);
}

/// Issue 15 item 4: every failing `new_event`, `add`, `add_common`,
/// `add_new` (`signal_event`), `once` and `priority_init` leaves the base
/// as it was: its tables ([`EventBase::memory`]), counters, events and
/// priorities. A handle at `MAX_HANDLE` used to grow the fd map to that
/// size (64 MiB) before the backend refused it.
pub fn failed_calls_change_nothing<P: TestPlatform, S: Storage>(variant: &str) {
    failed_calls_change_nothing_with::<P, S>(variant, None);
}

/// [`failed_calls_change_nothing`], also comparing the process's open
/// descriptors before and after each call (a refused signal used to leave
/// the signal self-pipe open), and with a closed descriptor among the bad
/// ones: `descriptors` lists them, and no other thread may open or close
/// any meanwhile. Also a config that no method fits: `with_config` fails
/// with nothing opened.
///
/// # Panics
/// When a failing call changes anything, or a bad call is accepted.
pub fn failed_calls_change_nothing_with<P: TestPlatform, S: Storage>(variant: &str, descriptors: Descriptors) {
    let d = descriptors;
    let mut base = new_base::<P, S>(variant);
    let (a, b) = base.platform_mut().socketpair();
    let ct = base.init_common_timeout(Duration::from_millis(50)).unwrap();
    // Something pending and active, so that there are counts to keep.
    let reader = event(&mut base, Source::Fd(a), What::READ | What::PERSIST);
    base.add(reader, Some(Duration::from_secs(60))).unwrap();
    let timer = event(&mut base, Source::None, What::empty());
    base.add_common(timer, ct).unwrap();
    base.add_virtual();

    // new_event: flags that do not go together.
    let e = refused(&mut base, d, "new_event(signal, READ)", |bs| {
        bs.new_event(Source::Signal(2), What::READ, nop())
    });
    assert!(matches!(e, Error::InvalidFlags { .. }), "{e}");
    let e = refused(&mut base, d, "new_event(fd, SIGNAL)", |bs| {
        bs.new_event(Source::Fd(a), What::SIGNAL, nop())
    });
    assert!(matches!(e, Error::InvalidFlags { .. }), "{e}");

    // add of a bad handle: plain, with a heap timer, with a common timeout,
    // through add_new and once (which make the event in the same call).
    let mut bad: Vec<u32> = NEVER_OPENED.into_iter().chain([MAX_HANDLE, MAX_HANDLE + 1]).collect();
    if d.is_some() {
        // Only where no other thread can reuse its number meanwhile.
        let (c, e) = base.platform_mut().socketpair();
        base.platform_mut().close(c);
        base.platform_mut().close(e);
        bad.push(c);
    }
    for fd in bad {
        let invalid = Error::InvalidHandle(fd.into());
        let ev = event(&mut base, Source::Fd(fd), What::READ | What::PERSIST);
        let e = refused(&mut base, d, &format!("add(fd {fd})"), |bs| bs.add(ev, None));
        assert_eq!(e, invalid, "{variant}");
        let e = refused(&mut base, d, &format!("add(fd {fd}, 1 s)"), |bs| {
            bs.add(ev, Some(Duration::from_secs(1)))
        });
        assert_eq!(e, invalid, "{variant}");
        let e = refused(&mut base, d, &format!("add_common(fd {fd})"), |bs| {
            bs.add_common(ev, ct)
        });
        assert_eq!(e, invalid, "{variant}");
        let e = refused(&mut base, d, &format!("add_new(fd {fd})"), |bs| {
            bs.add_new(Source::Fd(fd), What::WRITE, Some(Duration::from_secs(1)), nop())
        });
        assert_eq!(e, invalid, "{variant}");
        let e = refused(&mut base, d, &format!("once(fd {fd})"), |bs| {
            bs.once(Source::Fd(fd), What::READ, Some(Duration::from_secs(1)), nop())
        });
        assert_eq!(e, invalid, "{variant}");
        base.free(ev).unwrap();
    }

    // add of a bad signal (signal_event is add_new of a signal event):
    // nothing opened, subscribed or installed for it.
    for sig in [0, 65, 1023, 1024, u32::MAX] {
        let ev = event(&mut base, Source::Signal(sig), What::PERSIST);
        let e = refused(&mut base, d, &format!("add(signal {sig})"), |bs| bs.add(ev, None));
        // A fixed signal map has no room for a number beyond its capacity.
        let too_big = matches!(e, Error::Capacity { what: &"signal", .. }) && sig as usize >= table_limit::<S>();
        assert!(
            matches!(e, Error::InvalidSignal(s) if s == sig) || matches!(e, Error::Unsupported(_)) || too_big,
            "{variant}: signal {sig}: {e}"
        );
        let e2 = refused(&mut base, d, &format!("signal_event({sig})"), |bs| {
            bs.add_new(Source::Signal(sig), What::PERSIST, None, nop())
        });
        assert_eq!(e2, e, "{variant}");
        base.free(ev).unwrap();
    }

    // add: an edge-triggered event on a handle watched level-triggered.
    let et = event(&mut base, Source::Fd(a), What::WRITE | What::ET);
    let e = refused(&mut base, d, "add(ET beside LT)", |bs| bs.add(et, None));
    assert!(matches!(e, Error::InvalidFlags { .. }), "{e}");
    base.free(et).unwrap();

    // add of a freed id, and of an event being finalized.
    let gone = event(&mut base, Source::Fd(b), What::WRITE);
    base.free(gone).unwrap();
    let e = refused(&mut base, d, "add(freed id)", |bs| bs.add(gone, None));
    assert_eq!(e, Error::StaleEvent);
    let fin = event(&mut base, Source::Fd(b), What::WRITE);
    base.free_finalize(fin, nop()).unwrap();
    let e = refused(&mut base, d, "add(finalizing)", |bs| bs.add(fin, None));
    assert_eq!(e, Error::Finalizing);
    assert_eq!(base.run(LoopFlags::NONBLOCK), Ok(Exit::Done), "the finalizer runs");

    // priority_init: counts out of range, and while a callback is active.
    for n in [0, 256, usize::MAX] {
        let e = refused(&mut base, d, &format!("priority_init({n})"), |bs| bs.priority_init(n));
        assert_eq!(e, Error::InvalidPriorityCount(n));
    }
    base.active(timer, What::TIMEOUT, 1).unwrap();
    let e = refused(&mut base, d, "priority_init(3) while active", |bs| bs.priority_init(3));
    assert_eq!(e, Error::EventsActive);
    base.del(timer).unwrap();
    base.add_common(timer, ct).unwrap();

    // Fixed storage: a handle beyond the fd map's capacity, and a full
    // event table (new_event, add_new, once).
    let limit = table_limit::<S>();
    if limit <= 4096 {
        let mut pairs = Vec::new();
        let beyond = loop {
            let (x, y) = base.platform_mut().socketpair();
            pairs.push((x, y));
            if let Some(&fd) = [x, y].iter().find(|&&fd| fd as usize >= limit) {
                break fd;
            }
        };
        let ev = event(&mut base, Source::Fd(beyond), What::READ);
        let e = refused(&mut base, d, "add(fd beyond a fixed fd map)", |bs| bs.add(ev, None));
        assert!(matches!(e, Error::Capacity { what: &"fd", .. }), "{e}");
        base.free(ev).unwrap();
        let mut fillers = Vec::new();
        while let Ok(id) = base.new_event(Source::None, What::empty(), nop()) {
            fillers.push(id);
        }
        let e = refused(&mut base, d, "new_event(full table)", |bs| {
            bs.new_event(Source::None, What::empty(), nop())
        });
        assert!(matches!(e, Error::Capacity { what: &"event", .. }), "{e}");
        let e = refused(&mut base, d, "add_new(full table)", |bs| {
            bs.add_new(Source::None, What::empty(), Some(Duration::from_secs(1)), nop())
        });
        assert!(matches!(e, Error::Capacity { .. }), "{e}");
        let e = refused(&mut base, d, "once(full table)", |bs| {
            bs.once(Source::None, What::TIMEOUT, None, nop())
        });
        assert!(matches!(e, Error::Capacity { .. }), "{e}");
        for id in fillers {
            base.free(id).unwrap();
        }
        for (x, y) in pairs {
            base.platform_mut().close(x);
            base.platform_mut().close(y);
        }
    }

    // Still working: the reader fires when its peer writes.
    base.platform_mut().send(b, b"x").unwrap();
    assert_eq!(base.run(LoopFlags::ONCE), Ok(Exit::Done));
    let mut buf = [0u8; 4];
    assert_eq!(base.platform_mut().recv(a, &mut buf), Some(1));
    base.del_virtual();
    base.free(reader).unwrap();
    base.free(timer).unwrap();
    base.platform_mut().close(a);
    base.platform_mut().close(b);
    drop(base);

    // A config no method fits: nothing is opened for it.
    let before = d.map(|list| list());
    let (platform, _) = P::make(variant);
    let mut none = Config::default();
    for m in platform.methods() {
        none.avoid_method(m.name).unwrap();
    }
    let made = EventBase::<P, S>::with_config(platform, &none);
    assert!(matches!(made, Err(Error::NoBackend)), "{variant}");
    drop(made);
    assert_eq!(
        d.map(|list| list()),
        before,
        "{variant}: a failed with_config left descriptors"
    );
}
