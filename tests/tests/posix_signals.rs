//! libevent's `signal/` cases on every POSIX backend variant, each in its
//! own forked process (signal dispositions are process-wide), plus a
//! 10,000-delivery storm. `harness = false`: run with
//! `cargo test -p evbase-tests --test posix_signals [-- FILTER]`.
//!
//! evbase delivers a signal to every base that watches it; libevent gives
//! it only to the base that most recently added a signal or entered its
//! loop. `signal_switchbase` checks the evbase behaviour.

fn main() {
    #[cfg(unix)]
    unix::main();
}

#[cfg(unix)]
mod unix {
    use std::cell::Cell;
    use std::rc::Rc;
    use std::time::Duration;

    use evbase_core::{Callback, EventBase, EventId, Exit, Growable, LoopFlags, Source, What};
    use evbase_posix::{PosixPlatform, handler_installed};
    use evbase_tests::new_base;
    use evbase_tests::posix::{self, current_handler, raise, set_handler};

    type Base = EventBase<PosixPlatform, Growable>;
    type Cb = Callback<PosixPlatform, Growable>;

    const SIG_DFL: usize = libc::SIG_DFL;

    fn base(variant: &str) -> Base {
        new_base::<PosixPlatform, Growable>(variant)
    }

    /// Adds a persistent signal event counting its calls into `n`.
    fn counting(b: &mut Base, sig: i32, n: &Rc<Cell<u32>>) -> EventId {
        let n = n.clone();
        let ev = b.new_event(
            Source::Signal(sig as u32),
            What::PERSIST,
            Cb::new(move |_, _, what| {
                assert_eq!(what, What::SIGNAL);
                n.set(n.get() + 1);
            }),
        );
        let ev = ev.unwrap();
        b.add(ev, None).unwrap();
        ev
    }

    fn counter() -> Rc<Cell<u32>> {
        Rc::new(Cell::new(0))
    }

    static OLD_HANDLER_CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

    extern "C" fn old_handler(_: libc::c_int) {
        OLD_HANDLER_CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    fn old_handler_addr() -> usize {
        old_handler as extern "C" fn(libc::c_int) as usize
    }

    /// libevent `signal/simple_signal`: SIGALRM from `setitimer` reaches the
    /// loop, never the handler that was installed before.
    fn simple_signal(variant: &str) {
        set_handler(libc::SIGALRM, old_handler_addr());
        let mut b = base(variant);
        let n = counter();
        let c = n.clone();
        let ev = b.new_event(
            Source::Signal(libc::SIGALRM as u32),
            What::empty(),
            Cb::new(move |_, _, what| {
                assert_eq!(what, What::SIGNAL);
                c.set(c.get() + 1);
            }),
        );
        b.add(ev.unwrap(), None).unwrap();
        let it = libc::itimerval {
            it_interval: libc::timeval { tv_sec: 0, tv_usec: 0 },
            it_value: libc::timeval {
                tv_sec: 0,
                tv_usec: 100_000,
            },
        };
        // SAFETY: `it` is a valid itimerval; a null old value is allowed.
        unsafe { libc::setitimer(libc::ITIMER_REAL, &it, std::ptr::null_mut()) };
        assert_eq!(b.dispatch(), Ok(Exit::NoEvents));
        assert_eq!(n.get(), 1);
        assert_eq!(OLD_HANDLER_CALLS.load(std::sync::atomic::Ordering::SeqCst), 0);
        assert_eq!(
            current_handler(libc::SIGALRM),
            old_handler_addr(),
            "restored once the event is gone"
        );
    }

    /// libevent `signal/simple_signal_re_order`: add, del, add still works.
    fn simple_signal_re_order(variant: &str) {
        let mut b = base(variant);
        let n = counter();
        let ev = counting(&mut b, libc::SIGUSR1, &n);
        b.del(ev).unwrap();
        b.add(ev, None).unwrap();
        raise(libc::SIGUSR1);
        assert_eq!(b.run(LoopFlags::ONCE | LoopFlags::NONBLOCK), Ok(Exit::Done));
        assert_eq!(n.get(), 1);
    }

    /// libevent `signal/multiplesignal`: two events on one signal both fire.
    fn multiplesignal(variant: &str) {
        let mut b = base(variant);
        let (n1, n2) = (counter(), counter());
        counting(&mut b, libc::SIGUSR1, &n1);
        counting(&mut b, libc::SIGUSR1, &n2);
        raise(libc::SIGUSR1);
        assert_eq!(b.run(LoopFlags::ONCE | LoopFlags::NONBLOCK), Ok(Exit::Done));
        assert_eq!((n1.get(), n2.get()), (1, 1));
    }

    /// libevent `signal/immediatesignal`: a signal raised just after `add` is
    /// seen by a non-blocking loop.
    fn immediatesignal(variant: &str) {
        let mut b = base(variant);
        let n = counter();
        counting(&mut b, libc::SIGUSR1, &n);
        raise(libc::SIGUSR1);
        assert_eq!(b.run(LoopFlags::NONBLOCK | LoopFlags::ONCE), Ok(Exit::Done));
        assert_eq!(n.get(), 1);
    }

    /// libevent `signal/signal_dealloc`: add, del, free: the handler is gone
    /// and no fd is left behind.
    fn signal_dealloc(variant: &str) {
        let before = posix::open_fds();
        let mut b = base(variant);
        let ev = counting(&mut b, libc::SIGUSR1, &counter());
        assert!(handler_installed(libc::SIGUSR1 as u32));
        b.del(ev).unwrap();
        assert!(!handler_installed(libc::SIGUSR1 as u32));
        drop(b);
        assert_eq!(current_handler(libc::SIGUSR1), SIG_DFL);
        assert_eq!(posix::open_fds(), before);
    }

    /// libevent `signal/signal_pipeloss`: freeing a second base (and its
    /// signal pipe) does not break the first.
    fn signal_pipeloss(variant: &str) {
        let before = posix::open_fds();
        let mut b1 = base(variant);
        let n1 = counter();
        counting(&mut b1, libc::SIGUSR1, &n1);
        let with_one = posix::open_fds();
        let mut b2 = base(variant);
        counting(&mut b2, libc::SIGUSR1, &counter());
        drop(b2);
        assert_eq!(posix::open_fds(), with_one, "the second base closed its signal pipe");
        raise(libc::SIGUSR1);
        assert_eq!(b1.run(LoopFlags::ONCE | LoopFlags::NONBLOCK), Ok(Exit::Done));
        assert_eq!(n1.get(), 1);
        drop(b1);
        assert_eq!(posix::open_fds(), before);
    }

    /// libevent `signal/signal_switchbase`, with evbase's rule: every base that
    /// watches a signal receives it (libevent: only the base that most recently
    /// entered its loop). Also across backends: an epoll base and a select base.
    fn signal_switchbase(variant: &str) {
        let mut b1 = base(variant);
        let mut b2 = base(variant);
        let mut b3 = base("select");
        let (n1, n2, n3) = (counter(), counter(), counter());
        counting(&mut b1, libc::SIGUSR1, &n1);
        counting(&mut b2, libc::SIGUSR1, &n2);
        counting(&mut b3, libc::SIGUSR1, &n3);
        for round in 1..=3 {
            raise(libc::SIGUSR1);
            // Entering one base's loop does not steal the signal from the others.
            assert_eq!(b2.run(LoopFlags::ONCE | LoopFlags::NONBLOCK), Ok(Exit::Done));
            assert_eq!(b1.run(LoopFlags::ONCE | LoopFlags::NONBLOCK), Ok(Exit::Done));
            assert_eq!(b3.run(LoopFlags::ONCE | LoopFlags::NONBLOCK), Ok(Exit::Done));
            assert_eq!((n1.get(), n2.get(), n3.get()), (round, round, round));
        }
    }

    /// libevent `signal/signal_restore`: the handler installed before is back
    /// after the event is deleted.
    fn signal_restore(variant: &str) {
        set_handler(libc::SIGUSR1, old_handler_addr());
        let mut b = base(variant);
        let ev = counting(&mut b, libc::SIGUSR1, &counter());
        assert_ne!(current_handler(libc::SIGUSR1), old_handler_addr());
        b.del(ev).unwrap();
        assert_eq!(current_handler(libc::SIGUSR1), old_handler_addr());
        raise(libc::SIGUSR1);
        assert_eq!(OLD_HANDLER_CALLS.load(std::sync::atomic::Ordering::SeqCst), 1);
        // Two bases: restored only when the last one stops watching.
        let mut b2 = base(variant);
        let e1 = counting(&mut b, libc::SIGUSR1, &counter());
        let e2 = counting(&mut b2, libc::SIGUSR1, &counter());
        b.del(e1).unwrap();
        assert!(handler_installed(libc::SIGUSR1 as u32));
        b2.del(e2).unwrap();
        assert_eq!(current_handler(libc::SIGUSR1), old_handler_addr());
    }

    /// libevent `signal/signal_assert`: after `del`, the library's handler is
    /// no longer installed (SIG_DFL is back).
    fn signal_assert(variant: &str) {
        let mut b = base(variant);
        assert_eq!(current_handler(libc::SIGCONT), SIG_DFL);
        let ev = counting(&mut b, libc::SIGCONT, &counter());
        assert!(handler_installed(libc::SIGCONT as u32));
        b.del(ev).unwrap();
        assert_eq!(current_handler(libc::SIGCONT), SIG_DFL);
        assert!(!handler_installed(libc::SIGCONT as u32));
    }

    /// libevent `signal/signal_while_processing`: a signal raised again inside
    /// its own callback is delivered again (5 rounds), undisturbed by a timer.
    fn signal_while_processing(variant: &str) {
        let mut b = base(variant);
        let n = counter();
        let c = n.clone();
        let ev = b.new_event(
            Source::Signal(libc::SIGUSR1 as u32),
            What::PERSIST,
            Cb::new(move |bs, id, _| {
                c.set(c.get() + 1);
                if c.get() < 5 {
                    raise(libc::SIGUSR1);
                } else {
                    bs.del(id).unwrap();
                }
            }),
        );
        b.add(ev.unwrap(), None).unwrap();
        let t = b.new_event(Source::None, What::PERSIST, Cb::new(|_, _, _| {})).unwrap();
        b.add(t, Some(Duration::from_millis(1))).unwrap();
        raise(libc::SIGUSR1);
        b.loop_exit(Some(Duration::from_millis(200))).unwrap();
        assert_eq!(b.dispatch(), Ok(Exit::Done));
        assert_eq!(n.get(), 5);
    }

    /// libevent `signal/signal_free_in_callback`: freeing the event inside its
    /// callback with two deliveries queued runs the callback once.
    fn signal_free_in_callback(variant: &str) {
        let mut b = base(variant);
        let n = counter();
        let c = n.clone();
        let ev = b.new_event(
            Source::Signal(libc::SIGUSR2 as u32),
            What::PERSIST,
            Cb::new(move |bs, id, _| {
                c.set(c.get() + 1);
                bs.free(id).unwrap();
            }),
        );
        b.add(ev.unwrap(), None).unwrap();
        raise(libc::SIGUSR2);
        raise(libc::SIGUSR2);
        assert_eq!(b.dispatch(), Ok(Exit::NoEvents));
        assert_eq!(n.get(), 1);
    }

    /// Coalescing: deliveries made while the loop is not looking reach the
    /// callback as `ncalls` — one callback run per delivery.
    fn signal_ncalls(variant: &str) {
        let mut b = base(variant);
        let n = counter();
        counting(&mut b, libc::SIGUSR1, &n);
        for _ in 0..7 {
            raise(libc::SIGUSR1);
        }
        assert_eq!(b.run(LoopFlags::ONCE | LoopFlags::NONBLOCK), Ok(Exit::Done));
        assert_eq!(n.get(), 7);
    }

    /// Invalid signal numbers are errors, never panics; an unknown signal
    /// number does not change any disposition.
    fn signal_invalid(variant: &str) {
        let mut b = base(variant);
        for sig in [libc::SIGKILL as u32, libc::SIGSTOP as u32, 200, 0] {
            let ev = b
                .new_event(Source::Signal(sig), What::PERSIST, Cb::new(|_, _, _| {}))
                .unwrap();
            assert!(b.add(ev, None).is_err(), "signal {sig}");
        }
    }

    /// 10,000 deliveries, every one counted, on two bases at once: raised by
    /// this thread from inside the loop, and (Linux) queued as a real-time
    /// signal by another thread while the loop runs.
    fn signal_storm(variant: &str) {
        const N: u32 = 10_000;
        let mut b1 = base(variant);
        let mut b2 = base("poll");
        let (n1, n2) = (counter(), counter());
        counting(&mut b1, libc::SIGUSR1, &n1);
        counting(&mut b2, libc::SIGUSR1, &n2);
        // Raised from a timer callback in batches of 500.
        let raised = counter();
        let r = raised.clone();
        let t = b1.new_event(
            Source::None,
            What::PERSIST,
            Cb::new(move |bs, id, _| {
                for _ in 0..500 {
                    raise(libc::SIGUSR1);
                }
                r.set(r.get() + 500);
                if r.get() >= N {
                    bs.del(id).unwrap();
                }
            }),
        );
        b1.add(t.unwrap(), Some(Duration::from_micros(100))).unwrap();
        while n1.get() < N {
            assert_eq!(b1.run(LoopFlags::ONCE), Ok(Exit::Done));
            assert_eq!(b2.run(LoopFlags::ONCE | LoopFlags::NONBLOCK), Ok(Exit::Done));
        }
        assert_eq!(b2.run(LoopFlags::ONCE | LoopFlags::NONBLOCK), Ok(Exit::Done));
        assert_eq!((n1.get(), n2.get()), (N, N));
        eprintln!(
            "signal_storm[{variant}]: {N} raises, {} + {} deliveries counted",
            n1.get(),
            n2.get()
        );

        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let sig = libc::SIGRTMIN() + 1;
            let (m1, m2) = (counter(), counter());
            counting(&mut b1, sig, &m1);
            counting(&mut b2, sig, &m2);
            let sender = std::thread::spawn(move || {
                // SAFETY: no pointer arguments.
                let pid = unsafe { libc::getpid() };
                let mut sent = 0;
                while sent < N {
                    // SAFETY: no pointer arguments; a zero sigval.
                    let r = unsafe { libc::sigqueue(pid, sig, std::mem::zeroed()) };
                    if r == 0 {
                        sent += 1;
                    } else {
                        std::thread::sleep(Duration::from_millis(1)); // the queue is full
                    }
                }
            });
            b1.loop_exit(Some(Duration::from_secs(30))).unwrap();
            while m1.get() < N && !b1.got_exit() {
                assert_eq!(b1.run(LoopFlags::ONCE), Ok(Exit::Done));
            }
            sender.join().unwrap();
            while m2.get() < N {
                assert_eq!(b2.run(LoopFlags::ONCE), Ok(Exit::Done));
            }
            eprintln!(
                "signal_storm[{variant}]: {N} queued from another thread, {} + {} deliveries counted",
                m1.get(),
                m2.get()
            );
            assert_eq!((m1.get(), m2.get()), (N, N));
        }
    }

    pub fn main() {
        let cases: [posix::Case; 14] = [
            ("simple_signal", simple_signal),
            ("simple_signal_re_order", simple_signal_re_order),
            ("multiplesignal", multiplesignal),
            ("immediatesignal", immediatesignal),
            ("signal_dealloc", signal_dealloc),
            ("signal_pipeloss", signal_pipeloss),
            ("signal_switchbase", signal_switchbase),
            ("signal_restore", signal_restore),
            ("signal_assert", signal_assert),
            ("signal_while_processing", signal_while_processing),
            ("signal_free_in_callback", signal_free_in_callback),
            ("signal_ncalls", signal_ncalls),
            ("signal_invalid", signal_invalid),
            ("signal_storm", signal_storm),
        ];
        let all = posix::per_variant(&cases);
        posix::run_isolated(all, Duration::from_secs(60));
    }
}
