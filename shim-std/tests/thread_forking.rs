//! libevent's `thread/forking`: fork with a base other threads can wake; the
//! child reinitialises it and gets its own wake-up (its remote operations
//! reach its loop, never the parent's), and `SIGCHLD` reaches the parent.
//!
//! Its own binary without the test harness, so the process has one thread
//! when it forks.

fn main() {
    #[cfg(unix)]
    unix::thread_forking();
    #[cfg(not(unix))]
    println!("thread_forking: fork is Unix only; skipped");
}

#[cfg(unix)]
mod unix {
    use std::cell::Cell;
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::rc::Rc;
    use std::thread;
    use std::time::Duration;

    use evbase_std::prelude::*;

    pub(crate) fn thread_forking() {
        let mut base = EventBase::new().unwrap();
        let remote = base.remote();
        let user_calls = Rc::new(Cell::new(0u32));
        let calls = Rc::clone(&user_calls);
        let user = base
            .new_event(Source::None, What::empty(), move |_, _, _| calls.set(calls.get() + 1))
            .unwrap();
        let got_sigchld = Rc::new(Cell::new(false));
        let got = Rc::clone(&got_sigchld);
        base.signal_event(libc::SIGCHLD as u32, move |base, _, _| {
            got.set(true);
            base.loop_break();
        })
        .unwrap();

        // The wake-up works before the fork.
        let r = remote.clone();
        thread::spawn(move || r.activate(user, What::READ).unwrap())
            .join()
            .unwrap();
        base.run(LoopFlags::ONCE).unwrap();
        assert_eq!(user_calls.get(), 1);

        // SAFETY: this process has one thread (the harness is off and the
        // thread above was joined), so the child may go on running Rust code.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let ok = catch_unwind(AssertUnwindSafe(|| child(&mut base, &remote, user, &user_calls))).is_ok();
            // SAFETY: ends the child without running the parent's exit handlers.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }

        let timed_out = Rc::new(Cell::new(false));
        let late = Rc::clone(&timed_out);
        let guard = base
            .once_after(Duration::from_secs(5), move |base, _, _| {
                late.set(true);
                base.loop_break();
            })
            .unwrap();
        base.dispatch().unwrap();
        assert!(!timed_out.get(), "SIGCHLD did not reach the parent's base");
        assert!(got_sigchld.get());
        assert_eq!(user_calls.get(), 1, "the child's activation reached the parent");
        base.del(guard).unwrap();

        let mut status = 0;
        // SAFETY: waits for the child forked above.
        let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(waited, pid);
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "child failed: status {status:#x}"
        );
        println!(
            "thread_forking: ok (child reinitialised {}, parent got SIGCHLD)",
            base.method().name
        );
    }

    fn child(base: &mut EventBase, remote: &Remote, user: EventId, user_calls: &Cell<u32>) {
        // The base shares its kernel object with the parent until reinit.
        assert_eq!(
            base.dispatch().unwrap_err().core(),
            Some(&evbase_std::evbase_core::Error::Forked)
        );
        base.reinit().unwrap();
        let timed_out = Rc::new(Cell::new(false));
        let late = Rc::clone(&timed_out);
        base.once_after(Duration::from_secs(2), move |base, _, _| {
            late.set(true);
            base.loop_break();
        })
        .unwrap();
        // Another thread of the child wakes the child's loop.
        let r = remote.clone();
        let waker = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            r.activate(user, What::READ).unwrap();
        });
        base.run(LoopFlags::ONCE).unwrap();
        waker.join().unwrap();
        assert!(!timed_out.get(), "the child's loop was not woken");
        assert_eq!(user_calls.get(), 2);
    }
}
