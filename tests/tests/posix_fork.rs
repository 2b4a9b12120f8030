//! libevent's `main/fork` and `thread/forking` on every POSIX backend
//! variant, each case in its own forked process. `harness = false`: run
//! with `cargo test -p evbase-tests --test posix_fork [-- FILTER]`.

fn main() {
    #[cfg(unix)]
    unix::main();
}

#[cfg(unix)]
mod unix {
    use std::cell::Cell;
    use std::rc::Rc;
    use std::time::Duration;

    use evbase_core::{Callback, Error, EventBase, EventId, Exit, Growable, LoopFlags, Source, What};
    use evbase_posix::PosixPlatform;
    use evbase_tests::posix::{self, raise, recv, send, wait_child};
    use evbase_tests::{TestPlatform, new_base};

    type Base = EventBase<PosixPlatform, Growable>;
    type Cb = Callback<PosixPlatform, Growable>;

    fn counter() -> Rc<Cell<u32>> {
        Rc::new(Cell::new(0))
    }

    fn watch_signal(b: &mut Base, sig: i32, n: &Rc<Cell<u32>>) -> EventId {
        let n = n.clone();
        let ev = b.new_event(
            Source::Signal(sig as u32),
            What::PERSIST,
            Cb::new(move |_, _, _| n.set(n.get() + 1)),
        );
        let ev = ev.unwrap();
        b.add(ev, None).unwrap();
        ev
    }

    /// A persistent reader on `r` (not added) that empties it and counts
    /// its callbacks.
    fn draining_reader(b: &mut Base, r: u32) -> (EventId, Rc<Cell<u32>>) {
        let n = counter();
        let c = n.clone();
        let ev = b.new_event(
            Source::Fd(r),
            What::READ | What::PERSIST,
            Cb::new(move |_, _, _| {
                let mut buf = [0u8; 64];
                while recv(r, &mut buf).is_some_and(|n| n > 0) {}
                c.set(c.get() + 1);
            }),
        );
        (ev.unwrap(), n)
    }

    /// Runs `child` in a forked child (exit status 0 if it returns, 1 if it
    /// panics); returns the child's pid.
    fn fork_child(child: impl FnOnce()) -> i32 {
        // SAFETY: each case runs in a single-threaded process (run_isolated).
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork");
        if pid == 0 {
            let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).is_ok();
            // SAFETY: ends the child without unwinding into the parent's code.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        pid
    }

    /// libevent `main/fork`: the child finds the base forked, reinitialises
    /// it, deletes SIGCHLD, adds SIGUSR1, raises SIGUSR1 and SIGUSR2 (the
    /// latter watched since before the fork) and reads the data that was
    /// pending at the fork. The parent's I/O and signals still work afterwards,
    /// and SIGCHLD reaches it.
    fn fork(variant: &str) {
        let mut b = new_base::<PosixPlatform, Growable>(variant);
        let (a, r) = PosixPlatform::new().socketpair();
        let reads = Rc::new(std::cell::RefCell::new(Vec::new()));
        let g = reads.clone();
        let reader = b.new_event(
            Source::Fd(r),
            What::READ | What::PERSIST,
            Cb::new(move |_, _, _| {
                let mut buf = [0u8; 64];
                if let Some(n) = recv(r, &mut buf) {
                    g.borrow_mut().push(buf[..n].to_vec());
                }
            }),
        );
        b.add(reader.unwrap(), None).unwrap();
        let (usr1, usr2, chld) = (counter(), counter(), counter());
        let e_usr2 = watch_signal(&mut b, libc::SIGUSR2, &usr2);
        let e_chld = watch_signal(&mut b, libc::SIGCHLD, &chld);
        send(a, b"before fork").unwrap();

        let pid = fork_child(|| {
            assert_eq!(
                b.run(LoopFlags::NONBLOCK),
                Err(Error::Forked),
                "the child is detected at loop entry"
            );
            b.reinit().unwrap();
            b.del(e_chld).unwrap();
            watch_signal(&mut b, libc::SIGUSR1, &usr1);
            raise(libc::SIGUSR1);
            raise(libc::SIGUSR2);
            b.loop_exit(Some(Duration::from_millis(300))).unwrap();
            assert_eq!(b.dispatch(), Ok(Exit::Done));
            assert_eq!((usr1.get(), usr2.get()), (1, 1), "signals in the child");
            assert_eq!(*reads.borrow(), [b"before fork".to_vec()], "the pending data");
        });

        // The parent (as libevent's) waits for the child before looping, so
        // that the child reads the pending data; then SIGCHLD arrives through
        // the loop, and its I/O and signals still work.
        assert!(wait_child(pid, Duration::from_secs(10)), "the child passed");
        b.loop_exit(Some(Duration::from_millis(50))).unwrap();
        assert_eq!(b.dispatch(), Ok(Exit::Done));
        assert!(chld.get() >= 1, "SIGCHLD reached the parent");
        assert!(reads.borrow().is_empty(), "the child consumed the pending data");
        send(a, b"after fork").unwrap();
        raise(libc::SIGUSR2);
        b.loop_exit(Some(Duration::from_millis(100))).unwrap();
        assert_eq!(b.dispatch(), Ok(Exit::Done));
        assert_eq!(*reads.borrow(), [b"after fork".to_vec()]);
        assert_eq!(usr2.get(), 1);
        assert_eq!(usr1.get(), 0, "the child's SIGUSR1 stayed in the child");
        b.del(e_usr2).unwrap();
    }

    /// A child that deletes events before `reinit` does not touch the parent's
    /// kernel object: the parent's event still fires.
    fn fork_del_before_reinit(variant: &str) {
        let mut b = new_base::<PosixPlatform, Growable>(variant);
        let (a, r) = PosixPlatform::new().socketpair();
        let (ev, n) = draining_reader(&mut b, r);
        b.add(ev, None).unwrap();
        assert_eq!(b.run(LoopFlags::ONCE | LoopFlags::NONBLOCK), Ok(Exit::Done));
        let mut slot = Some(b);
        let pid = fork_child(|| {
            let mut b = slot.take().unwrap();
            b.del(ev).unwrap();
            b.free(ev).unwrap();
            drop(b);
        });
        let mut b = slot.take().unwrap();
        assert!(wait_child(pid, Duration::from_secs(10)));
        send(a, b"x").unwrap();
        b.loop_exit(Some(Duration::from_secs(2))).unwrap();
        assert_eq!(b.run(LoopFlags::ONCE), Ok(Exit::Done));
        assert_eq!(n.get(), 1, "the parent's registration survived the child's del");
    }

    /// libevent `thread/forking`: a base with a remote queue; the child
    /// reinitialises and gets a fresh notifier that wakes its own loop; the
    /// parent's loop is not woken by the child's notifications.
    fn forking_notify(variant: &str) {
        let (mut b, remote, ev, hits) = posix::remote_base(variant);
        let r2 = remote.clone();
        let pid = fork_child(|| {
            b.reinit().unwrap();
            let r3 = r2.clone();
            let t = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(30));
                r3.activate(ev, What::READ).unwrap();
                std::thread::sleep(Duration::from_millis(30));
                r3.loop_break().unwrap();
            });
            assert_eq!(b.run(LoopFlags::NO_EXIT_ON_EMPTY), Ok(Exit::Done));
            t.join().unwrap();
            assert_eq!(hits.get(), 1);
        });
        // Meanwhile the parent waits idle; the child's wake-ups must not reach it.
        let idle = b.new_event(Source::None, What::empty(), Cb::new(|_, _, _| {})).unwrap();
        b.add(idle, Some(Duration::from_millis(300))).unwrap();
        let t = std::time::Instant::now();
        assert_eq!(b.dispatch(), Ok(Exit::NoEvents));
        assert!(t.elapsed() >= Duration::from_millis(290));
        assert!(wait_child(pid, Duration::from_secs(10)), "the child passed");
    }

    /// libevent `main/base_environ`, on the real environment (in its own
    /// process, as `set_var` is not thread-safe): `EVENT_NOEPOLL` switches
    /// backend (also away from the changelist variant), `IGNORE_ENV` restores
    /// the default, `EVENT_EPOLL_USE_CHANGELIST` and `EVENT_PRECISE_TIMER` take
    /// effect; so does `EVENT_IO_URING` (epoll still where the kernel
    /// refuses io_uring), unless `IGNORE_ENV`.
    fn environment() {
        use evbase_core::{BaseFlags, Config};
        let first = evbase_core::Platform::methods(&PosixPlatform::new())[0].name;
        let open = |config: &Config| Base::with_config(PosixPlatform::new(), config).unwrap();
        assert_eq!(open(&Config::default()).method().name, first);
        let var = format!("EVENT_NO{}", first.to_uppercase());
        // SAFETY: this process has one thread.
        unsafe { std::env::set_var(&var, "1") };
        assert_ne!(open(&Config::default()).method().name, first);
        let mut cl = Config::default();
        cl.set_flag(BaseFlags::EPOLL_USE_CHANGELIST);
        assert_ne!(open(&cl).method().name, "epoll (with changelist)");
        let mut ignore = Config::default();
        ignore.set_flag(BaseFlags::IGNORE_ENV);
        assert_eq!(open(&ignore).method().name, first);
        // SAFETY: as above.
        unsafe { std::env::remove_var(&var) };
        // SAFETY: as above.
        unsafe { std::env::set_var("EVENT_PRECISE_TIMER", "1") };
        assert!(open(&Config::default()).flags().contains(BaseFlags::PRECISE_TIMER));
        assert!(!open(&ignore).flags().contains(BaseFlags::PRECISE_TIMER));
        if first == "epoll" {
            // SAFETY: as above.
            unsafe { std::env::set_var("EVENT_EPOLL_USE_CHANGELIST", "") };
            assert_eq!(open(&Config::default()).method().name, "epoll (with changelist)");
            // SAFETY: as above.
            unsafe { std::env::set_var("EVENT_IO_URING", "1") };
            let asked = if posix::unavailable("io_uring").is_none() {
                "io_uring"
            } else {
                "epoll (with changelist)"
            };
            assert_eq!(open(&Config::default()).method().name, asked);
            assert_eq!(open(&ignore).method().name, "epoll");
        }
    }

    /// What a failed `reinit` must leave as it was: the open fds (number
    /// and target), the tables, the counts and the events.
    fn state(b: &Base) -> (Vec<String>, evbase_core::Memory, usize, String) {
        let mut events = String::new();
        b.dump_events(&mut events).unwrap();
        (
            posix::fd_list(),
            b.memory(),
            b.num_events(evbase_core::Count::all()),
            events,
        )
    }

    /// Issue 15 item 4: `reinit` in a child that runs out of fds (the soft
    /// limit lowered so that only `k` more can be opened, `k` = 0, 1, 2...)
    /// fails with the base exactly as it was — the same fds by number and
    /// target (nothing new left open, nothing old closed), the same tables
    /// and events, still `Forked` — until `k` is enough; then it works.
    /// (epoll used to close its old set and swap in a new notifier before
    /// the signal pipe failed to open.)
    fn reinit_out_of_fds(variant: &str) {
        let mut b = new_base::<PosixPlatform, Growable>(variant);
        let (a, r) = PosixPlatform::new().socketpair();
        let (reader, reads) = draining_reader(&mut b, r);
        b.add(reader, Some(Duration::from_secs(60))).unwrap();
        let usr1 = counter();
        watch_signal(&mut b, libc::SIGUSR1, &usr1);
        let pid = fork_child(|| {
            assert_eq!(b.run(LoopFlags::NONBLOCK), Err(Error::Forked));
            let free = u64::from(posix::lowest_free_fd());
            let mut failed = 0;
            for k in 0..16 {
                let before = state(&b);
                let old = posix::set_fd_limit(free + k);
                let done = b.reinit();
                posix::set_fd_limit(old);
                let Err(e) = done else { break };
                failed += 1;
                assert_eq!(
                    state(&b),
                    before,
                    "{variant}: reinit with {k} fds to spare failed ({e}) and changed the base"
                );
                assert_eq!(
                    b.run(LoopFlags::NONBLOCK),
                    Err(Error::Forked),
                    "{variant}: still forked"
                );
            }
            assert!(failed >= 1, "{variant}: no reinit ran out of fds");
            eprintln!("{variant}: reinit failed cleanly with 0..{failed} fds to spare");
            raise(libc::SIGUSR1);
            send(a, b"x").unwrap();
            assert_eq!(b.run(LoopFlags::ONCE), Ok(Exit::Done));
            assert_eq!((usr1.get(), reads.get()), (1, 1), "{variant}: the rebuilt base works");
        });
        assert!(wait_child(pid, Duration::from_secs(10)), "the child passed");
    }

    /// Issue 15 item 4: a base made when the process is out of fds (the soft
    /// limit lowered, `k` = 0, 1, 2... to spare) either opens or fails with
    /// `NoBackend`, leaving the open fds as they were.
    fn base_new_out_of_fds(variant: &str) {
        let config = posix::posix_variant(variant).unwrap();
        let free = u64::from(posix::lowest_free_fd());
        let mut failed = 0;
        for k in 0..8 {
            let before = posix::fd_list();
            let old = posix::set_fd_limit(free + k);
            let made = Base::with_config(PosixPlatform::new(), &config);
            posix::set_fd_limit(old);
            match made {
                Ok(b) => drop(b),
                Err(e) => {
                    assert!(matches!(e, Error::NoBackend), "{variant}: {e}");
                    failed += 1;
                }
            }
            assert_eq!(posix::fd_list(), before, "{variant}: with {k} fds to spare");
        }
        assert!(failed >= 1, "{variant}: no base ran out of fds");
    }

    pub fn main() {
        let cases: [posix::Case; 5] = [
            ("fork", fork),
            ("fork_del_before_reinit", fork_del_before_reinit),
            ("forking_notify", forking_notify),
            ("reinit_out_of_fds", reinit_out_of_fds),
            ("base_new_out_of_fds", base_new_out_of_fds),
        ];
        let mut all = posix::per_variant(&cases);
        all.push(("environment".into(), Box::new(environment)));
        posix::run_isolated(all, Duration::from_secs(60));
    }
}
