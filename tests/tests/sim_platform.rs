//! Cases that need what only the simulated platform can do: set the
//! environment, raise signals, pretend to fork, fill fixed tables.

use std::time::Duration;

use evbase_core::sim::SimPlatform;
use evbase_core::{
    BaseFlags, Callback, Config, Error, EventBase, Exit, Fixed, Growable, LoopFlags, Rejection, SelectionReport,
    Source, What,
};
use evbase_tests::log;

type Base = EventBase<SimPlatform, Growable>;

fn cb(f: impl FnMut(&mut Base, evbase_core::EventId, What) + 'static) -> Callback<SimPlatform, Growable> {
    Callback::new(f)
}

/// libevent `main/base_environ`: `EVENT_NO<METHOD>` skips a method
/// (`EVENT_NOEPOLL` covers the changelist variant); `IGNORE_ENV` restores
/// it; `EVENT_SHOW_METHOD` announces the choice.
#[test]
fn base_environ() {
    let platform = SimPlatform::new();
    platform.world(|w| {
        w.set_env("EVENT_NOKQUEUE");
        w.set_env("EVENT_NOEPOLL");
        w.set_env("EVENT_SHOW_METHOD");
        w.set_env("EVENT_EPOLL_USE_CHANGELIST");
    });
    let base = Base::new(platform.clone()).unwrap();
    assert_eq!(base.method().name, "poll");
    assert_eq!(
        platform.world(|w| w.shown_method().map(str::to_owned)),
        Some("poll".to_owned())
    );
    let mut config = Config::default();
    config.set_flag(BaseFlags::IGNORE_ENV);
    assert_eq!(
        Base::with_config(platform.clone(), &config).unwrap().method().name,
        "kqueue"
    );
    let mut config = Config::default();
    config.avoid_method("kqueue").unwrap();
    config.set_flag(BaseFlags::IGNORE_ENV);
    assert_eq!(
        Base::with_config(platform.clone(), &config).unwrap().method().name,
        "epoll"
    );
    // Without IGNORE_ENV the changelist variable picks the changelist epoll.
    platform.world(|w| w.set_env("EVENT_NOPOLL"));
    let mut config = Config::default();
    config.avoid_method("kqueue").unwrap().avoid_method("select").unwrap();
    let mut report = SelectionReport::new();
    match Base::with_config_report(platform.clone(), &config, &mut report) {
        Err(Error::NoBackend) => {
            assert!(report.contains(&("kqueue", Rejection::Avoided)));
            assert!(report.contains(&("epoll", Rejection::DisabledByEnv)));
            assert!(report.contains(&("poll", Rejection::DisabledByEnv)));
        }
        other => panic!("{:?}", other.map(|b| b.method().name)),
    }
    let platform = SimPlatform::new();
    platform.world(|w| w.set_env("EVENT_EPOLL_USE_CHANGELIST"));
    let mut config = Config::default();
    config.avoid_method("kqueue").unwrap();
    assert_eq!(
        Base::with_config(platform, &config).unwrap().method().name,
        "epoll (with changelist)"
    );
}

/// A selection failure says, per method, why.
#[test]
fn no_backend_explains_itself() {
    let mut config = Config::default();
    config
        .require_features(evbase_core::Features::ET | evbase_core::Features::FDS | evbase_core::Features::EARLY_CLOSE);
    let mut report = SelectionReport::new();
    let err = Base::with_config_report(SimPlatform::new(), &config, &mut report)
        .err()
        .unwrap();
    assert_eq!(err, Error::NoBackend);
    let text = report.to_string();
    assert!(text.contains("kqueue lacks") && text.contains("epoll lacks"), "{text}");
}

/// libevent `signal/simple_signal`, `multiplesignal`, and the repeat count:
/// every event on a signal fires, once per delivery, coalesced into ncalls.
#[test]
fn multiplesignal_and_ncalls() {
    let platform = SimPlatform::new();
    let mut base = Base::new(platform.clone()).unwrap();
    let got = log();
    for name in ["a", "b"] {
        let g = got.clone();
        let ev = base.new_event(
            Source::Signal(10),
            What::PERSIST,
            cb(move |_, _, w| g.borrow_mut().push((name, w))),
        );
        base.add(ev.unwrap(), None).unwrap();
    }
    platform.world(|w| {
        w.raise(10);
        w.raise(10);
        w.raise(12);
    });
    base.run(LoopFlags::ONCE | LoopFlags::NONBLOCK).unwrap();
    // Most recently added first, as libevent's per-signal list; twice each.
    assert_eq!(
        *got.borrow(),
        [
            ("b", What::SIGNAL),
            ("b", What::SIGNAL),
            ("a", What::SIGNAL),
            ("a", What::SIGNAL)
        ]
    );
}

/// libevent `signal/signal_free_in_callback`: freeing a signal event from its
/// callback with deliveries still queued runs it once, safely.
#[test]
fn signal_free_in_callback() {
    let platform = SimPlatform::new();
    let mut base = Base::new(platform.clone()).unwrap();
    let calls = log();
    let c = calls.clone();
    let ev = base.new_event(
        Source::Signal(2),
        What::PERSIST,
        cb(move |b, id, _| {
            c.borrow_mut().push(());
            b.free(id).unwrap();
        }),
    );
    base.add(ev.unwrap(), None).unwrap();
    platform.world(|w| {
        w.raise(2);
        w.raise(2);
    });
    assert_eq!(base.dispatch(), Ok(Exit::NoEvents));
    assert_eq!(calls.borrow().len(), 1);
}

/// libevent `main/evmap_invalid_slots` and `bad_assign`: bad signal numbers
/// and handles fail `add` and leave the event as it was.
#[test]
fn invalid_signals_and_flags() {
    // epoll applies changes at once (kqueue's changelist reports at dispatch).
    let config = evbase_tests::sim_variant("epoll").unwrap();
    let mut base = Base::with_config(SimPlatform::new(), &config).unwrap();
    for sig in [0, 65, 5000] {
        let ev = base
            .new_event(Source::Signal(sig), What::PERSIST, cb(|_, _, _| {}))
            .unwrap();
        assert!(
            matches!(base.add(ev, None), Err(Error::InvalidSignal(_))),
            "signal {sig}"
        );
        assert!(base.pending(ev, What::all()).unwrap().what.is_empty());
    }
    assert!(matches!(
        base.new_event(Source::Signal(2), What::READ, cb(|_, _, _| {})),
        Err(Error::InvalidFlags { .. })
    ));
    assert!(matches!(
        base.new_event(Source::Fd(3), What::SIGNAL, cb(|_, _, _| {})),
        Err(Error::InvalidFlags { .. })
    ));
    for fd in [999, u32::MAX, i32::MAX as u32 / 2] {
        let ev = base.new_event(Source::Fd(fd), What::READ, cb(|_, _, _| {})).unwrap();
        let added = base.add(ev, None);
        assert!(matches!(added, Err(Error::InvalidHandle(_))), "fd {fd}: {added:?}");
        assert!(base.pending(ev, What::all()).unwrap().what.is_empty());
    }
    assert_eq!(base.priority_init(0), Err(Error::InvalidPriorityCount(0)));
    assert_eq!(base.priority_init(256), Err(Error::InvalidPriorityCount(256)));
}

/// Mixing edge- and level-triggered events on one handle is refused
/// (libevent checks it only in debug mode: `et/et_mix_error`).
#[test]
fn et_mix_error() {
    let platform = SimPlatform::new();
    let (a, _) = platform.world(|w| w.pair());
    let mut base = Base::new(platform).unwrap();
    let et = base
        .new_event(Source::Fd(a), What::READ | What::ET, cb(|_, _, _| {}))
        .unwrap();
    let lt = base.new_event(Source::Fd(a), What::WRITE, cb(|_, _, _| {})).unwrap();
    base.add(et, None).unwrap();
    assert!(matches!(base.add(lt, None), Err(Error::InvalidFlags { .. })));
    assert!(base.pending(lt, What::all()).unwrap().what.is_empty());
    assert_eq!(base.pending(et, What::READ).unwrap().what, What::READ);
}

/// libevent `et/et_multiple_events` (libevent#636): after one of two ET
/// events on a handle is deleted, the other stays edge-triggered.
#[test]
fn et_multiple_events_libevent_636() {
    let platform = SimPlatform::new();
    let (a, b) = platform.world(|w| w.pair());
    let mut base = Base::new(platform.clone()).unwrap();
    let got = log();
    let g = got.clone();
    let r = base.new_event(
        Source::Fd(a),
        What::READ | What::ET | What::PERSIST,
        cb(move |_, _, w| g.borrow_mut().push(w)),
    );
    let w = base
        .new_event(Source::Fd(a), What::WRITE | What::ET | What::PERSIST, cb(|_, _, _| {}))
        .unwrap();
    let r = r.unwrap();
    base.add(r, None).unwrap();
    base.add(w, None).unwrap();
    base.del(w).unwrap();
    platform.world(|wd| wd.write(b, b"x"));
    for _ in 0..3 {
        base.run(LoopFlags::ONCE | LoopFlags::NONBLOCK).unwrap();
    }
    assert_eq!(
        *got.borrow(),
        [What::READ | What::ET],
        "fired again: the handle lost ET"
    );
}

/// A full fixed table is `Error::Capacity`, and nothing changes.
#[test]
fn full_fixed_tables_keep_state() {
    let mut base = EventBase::<SimPlatform, Fixed<4>>::new(SimPlatform::new()).unwrap();
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(
            base.new_event(Source::None, What::empty(), Callback::new(|_, _, _| {}))
                .unwrap(),
        );
    }
    assert!(matches!(
        base.new_event(Source::None, What::empty(), Callback::new(|_, _, _| {})),
        Err(Error::Capacity {
            what: &"event",
            limit: 4
        })
    ));
    assert!(matches!(
        base.loop_exit(Some(Duration::from_millis(1))),
        Err(Error::Capacity { .. })
    ));
    for &id in &ids {
        base.add(id, Some(Duration::from_millis(5))).unwrap();
    }
    let platform = base.platform().clone();
    let (_a, b) = platform.world(|w| w.pair());
    let big = platform.world(|w| {
        for _ in 0..10 {
            w.socket();
        }
        w.socket()
    });
    base.free(ids[3]).unwrap();
    let reader = base
        .new_event(Source::Fd(big.max(b)), What::READ, Callback::new(|_, _, _| {}))
        .unwrap();
    assert!(matches!(
        base.add(reader, None),
        Err(Error::Capacity { what: &"fd", .. })
    ));
    assert!(base.pending(reader, What::all()).unwrap().what.is_empty());
    assert_eq!(base.dispatch(), Ok(Exit::NoEvents));
}

/// `Fixed<N, P>` holds `P` priorities: more is `Error::Capacity`, and the
/// base keeps its priorities and its events' priorities.
#[test]
fn fixed_priority_heads_refuse_more() {
    let mut base = EventBase::<SimPlatform, Fixed<4, 2>>::new(SimPlatform::new()).unwrap();
    base.priority_init(2).unwrap();
    let ran = log();
    let r = ran.clone();
    let ev = base
        .new_event(
            Source::None,
            What::empty(),
            Callback::new(move |_, _, w| r.borrow_mut().push(w)),
        )
        .unwrap();
    base.set_priority(ev, 1).unwrap();
    assert_eq!(
        base.priority_init(3),
        Err(Error::Capacity {
            what: &"priorities",
            limit: 2
        })
    );
    assert_eq!(base.npriorities(), 2);
    assert_eq!(base.set_priority(ev, 1), Ok(()));
    base.active(ev, What::READ, 1).unwrap();
    base.run(LoopFlags::NONBLOCK).unwrap();
    assert_eq!(*ran.borrow(), [What::READ]);
}

/// A forked child must `reinit` before running the loop; afterwards every
/// handle is registered again.
#[test]
fn fork_requires_reinit() {
    let platform = SimPlatform::new();
    let (a, b) = platform.world(|w| w.pair());
    let mut base = Base::new(platform.clone()).unwrap();
    let got = log();
    let g = got.clone();
    let ev = base.new_event(
        Source::Fd(a),
        What::READ | What::PERSIST,
        cb(move |_, _, w| g.borrow_mut().push(w)),
    );
    base.add(ev.unwrap(), None).unwrap();
    platform.world(|w| w.fork());
    assert_eq!(base.dispatch(), Err(Error::Forked));
    base.reinit().unwrap();
    platform.world(|w| w.write(b, b"x"));
    assert_eq!(base.run(LoopFlags::ONCE | LoopFlags::NONBLOCK), Ok(Exit::Done));
    assert_eq!(*got.borrow(), [What::READ]);
}

/// The remote queue: operations from elsewhere are applied by the loop, a
/// break sent before the loop starts is honoured (libevent#1292), and
/// `processed` tells the sender when.
#[test]
fn remote_ops_libevent_1292() {
    let platform = SimPlatform::new().with_remote();
    let remote = platform.remote().unwrap();
    let mut base = Base::new(platform).unwrap();
    let got = log();
    let g = got.clone();
    let ev = base
        .new_event(Source::None, What::PERSIST, cb(move |_, _, w| g.borrow_mut().push(w)))
        .unwrap();
    base.add(ev, Some(Duration::from_secs(10))).unwrap();
    remote.loop_break().unwrap();
    assert_eq!(base.dispatch(), Ok(Exit::Done));
    assert!(base.got_break());
    let seq = remote.activate(ev, What::READ).unwrap();
    assert!(!remote.is_processed(seq));
    let del = remote.del(ev).unwrap();
    assert_eq!(base.dispatch(), Ok(Exit::NoEvents));
    assert!(remote.is_processed(seq) && remote.is_processed(del));
    // Both were queued before the loop: operations apply in order, so the
    // delete cancels the activation before any callback runs.
    assert!(got.borrow().is_empty());
    remote.add(ev, Some(Duration::from_millis(1))).unwrap();
    remote.loop_exit().unwrap();
    assert_eq!(base.dispatch(), Ok(Exit::Done));
    assert!(base.got_exit());
}

/// Lowering the number of priorities keeps events usable: one beyond the
/// new range runs at the least urgent priority (libevent asserts).
#[test]
fn priority_init_lowered() {
    let mut base = Base::new(SimPlatform::new()).unwrap();
    base.priority_init(10).unwrap();
    let ran = log();
    let r = ran.clone();
    let ev = base
        .new_event(Source::None, What::empty(), cb(move |_, _, _| r.borrow_mut().push(())))
        .unwrap();
    base.set_priority(ev, 9).unwrap();
    base.priority_init(3).unwrap();
    assert_eq!(base.priority(ev), Ok(2));
    base.active(ev, What::READ, 1).unwrap();
    base.dispatch().unwrap();
    assert_eq!(ran.borrow().len(), 1);
}
