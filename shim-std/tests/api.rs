//! The std facade's own API: closures with inferred types at both levels,
//! `once` and finalizers as `FnOnce`, handles from `AsFd`/`AsSocket`,
//! error conversions, and the thread-safety of `Remote`.

use std::cell::{Cell, RefCell};
use std::io;
use std::net::{TcpListener, TcpStream};
use std::rc::Rc;
use std::time::Duration;

use evbase_std::evbase_core::{Callback, Error as CoreError};
use evbase_std::prelude::*;
use evbase_std::{Error, supported_methods};

#[test]
fn remote_is_send_sync_clone() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<Remote>();
    check::<evbase_std::Ticket>();
}

#[test]
fn closures_need_no_annotations_at_either_level() {
    let mut base = EventBase::new().unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = Rc::clone(&log);
    let outer = base
        .new_event(Source::None, What::empty(), move |base, id, what| {
            l.borrow_mut().push(("outer", what));
            assert_eq!(base.running_event(), Some(id));
            // Inside a callback: the core's `new_event` with `Callback::new`...
            let l2 = Rc::clone(&l);
            let inner = base
                .new_event(
                    Source::None,
                    What::empty(),
                    Callback::new(move |_, _, what| l2.borrow_mut().push(("inner", what))),
                )
                .unwrap();
            base.active(inner, What::WRITE, 1).unwrap();
            // ... or the closure helpers of `BaseExt`.
            let l3 = Rc::clone(&l);
            base.once_after(Duration::from_millis(1), move |_, _, what| {
                l3.borrow_mut().push(("once", what))
            })
            .unwrap();
        })
        .unwrap();
    base.active(outer, What::READ, 1).unwrap();
    assert_eq!(base.dispatch().unwrap(), Exit::NoEvents);
    assert_eq!(
        *log.borrow(),
        [("outer", What::READ), ("inner", What::WRITE), ("once", What::TIMEOUT)]
    );
}

#[test]
fn once_and_finalizers_take_fnonce() {
    let mut base = EventBase::new().unwrap();
    let token = String::from("moved into an FnOnce");
    let got = Rc::new(RefCell::new(None));
    let g = Rc::clone(&got);
    base.once(Source::None, What::TIMEOUT, None, move |_, _, _| {
        *g.borrow_mut() = Some(token)
    })
    .unwrap();
    let finalized = Rc::new(Cell::new(false));
    let f = Rc::clone(&finalized);
    let ev = base
        .interval(Duration::from_secs(60), |_, _, _| unreachable!())
        .unwrap();
    base.free_finalize(ev, move |_, _| f.set(true)).unwrap();
    assert_eq!(base.dispatch().unwrap(), Exit::NoEvents);
    assert_eq!(got.borrow().as_deref(), Some("moved into an FnOnce"));
    assert!(finalized.get());
    assert_eq!(base.add(ev, None), Err(CoreError::StaleEvent));
}

#[test]
fn handles_from_std_types() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let Source::Fd(_) = listener.as_source().unwrap() else {
        panic!()
    };
    assert_ne!(listener.as_source().unwrap(), stream.as_source().unwrap());
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        assert_eq!(stream.as_source().unwrap(), Source::Fd(stream.as_raw_fd() as u32));
        let err = evbase_std::raw_fd(-1).unwrap_err();
        assert_eq!(err.core(), Some(&CoreError::InvalidHandle(u64::MAX)));
    }
}

#[test]
fn errors_convert_to_io_errors() {
    let mut config = Config::new();
    for m in supported_methods() {
        config.avoid_method(m.name).unwrap();
    }
    let err = EventBase::with_config(&config).unwrap_err();
    assert!(matches!(err.core(), Some(CoreError::NoBackend)));
    let io_err = io::Error::from(err);
    assert_eq!(io_err.kind(), io::ErrorKind::Unsupported);
    assert!(io_err.to_string().starts_with("no backend fits the config"));
    assert!(io_err.get_ref().is_some_and(|e| e.is::<Error>()));

    let os = Error::from(CoreError::Os {
        op: &"epoll_ctl",
        code: 9,
    });
    assert_eq!(os.raw_os_error(), Some(9));
    assert!(os.to_string().contains("epoll_ctl"));

    let io_back = io::Error::from(Error::from(io::Error::from(io::ErrorKind::TimedOut)));
    assert_eq!(io_back.kind(), io::ErrorKind::TimedOut);
    assert!(io_back.get_ref().is_none(), "an io::Error comes back as it was");
}

#[test]
fn supported_methods_and_the_chosen_one() {
    let methods = supported_methods();
    assert!(!methods.is_empty());
    assert_eq!(EventBase::supported_methods(), methods);
    let base = EventBase::new().unwrap();
    assert!(methods.iter().any(|m| base.method().name.starts_with(m.name)));
    assert_eq!(base.features(), base.method().features);
}

/// Issue 15 item 4: a refused `signal_event` leaves the base exactly as it
/// was: no event made, the same tables, counts and events (the descriptors
/// are compared by evbase-tests' `posix_os`).
#[test]
fn refused_signal_event_leaves_the_base_as_it_was() {
    let mut base = EventBase::new().unwrap();
    let kept = base.timer(|_, _, _| {}).unwrap();
    base.add(kept, Some(Duration::from_secs(60))).unwrap();
    let state = |base: &EventBase| {
        let mut events = String::new();
        base.dump_events(&mut events).unwrap();
        (base.memory(), base.num_events(evbase_std::Count::all()), events)
    };
    let before = state(&base);
    for sig in [0, 65, 1024] {
        let refused = base.signal_event(sig, |_, _, _| {}).map(|_| ());
        let core = refused.as_ref().err().and_then(Error::core);
        assert!(
            matches!(core, Some(CoreError::InvalidSignal(_) | CoreError::Unsupported(_))),
            "signal {sig}: {refused:?}"
        );
        assert_eq!(state(&base), before, "signal {sig}");
    }
    base.free(kept).unwrap();
}
