//! Looking inside a base: `foreach_event` and `dump_events`.

use core::fmt;
use core::ops::ControlFlow;

use crate::event::state;
use crate::platform::Platform;
use crate::{Error, EventBase, EventId, EventInfo, Source, Storage, What};

/// Where an event stands ([`EventBase::status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Status {
    /// Registered for its handle or signal.
    pub inserted: bool,
    /// A timer is armed.
    pub timer: bool,
    /// Active: its callback runs in this loop iteration.
    pub active: bool,
    /// Active later: its callback runs in the next iteration.
    pub active_later: bool,
}

impl Status {
    /// Neither pending nor active: what happens to it next is up to its owner.
    pub fn is_idle(self) -> bool {
        !(self.inserted || self.timer || self.active || self.active_later)
    }
}

impl<P: Platform, S: Storage> EventBase<P, S> {
    /// Where the event stands, in one look (what libevent keeps in
    /// `ev_flags`).
    ///
    /// # Errors
    /// [`Error::StaleEvent`].
    pub fn status(&self, id: EventId) -> Result<Status, Error> {
        let r = self.core.slots.get(id)?;
        let queued = r.has(state::QUEUED);
        Ok(Status {
            inserted: r.has(state::INSERTED),
            timer: r.has(state::TIMEOUT),
            active: queued && !r.has(state::LATER),
            active_later: queued && r.has(state::LATER),
        })
    }

    /// The user word of an event made with [`Callback::from_fn`](crate::Callback::from_fn)
    /// (`None` for other callbacks, or while the callback runs and has been
    /// taken out of its slot).
    ///
    /// # Errors
    /// [`Error::StaleEvent`].
    pub fn callback_word(&self, id: EventId) -> Result<Option<usize>, Error> {
        let key = self.core.slots.check(id)?;
        Ok(self.core.slots.callback_word(key))
    }

    /// Calls `f` once for each event that is pending or active, internal
    /// ones included, in slot order (libevent's `event_base_foreach_event`).
    /// A `Break` stops the walk and is returned.
    pub fn foreach_event<B>(&self, mut f: impl FnMut(&EventInfo) -> ControlFlow<B>) -> ControlFlow<B> {
        for (key, r) in self.core.slots.iter() {
            let queued = r.has(state::QUEUED);
            if r.state & (state::INSERTED | state::TIMEOUT | state::QUEUED) == 0 {
                continue;
            }
            let info = EventInfo {
                id: self.core.slots.id(key, r.generation),
                source: r.source(),
                events: r.events,
                priority: r.priority,
                inserted: r.has(state::INSERTED),
                deadline: r.has(state::TIMEOUT).then(|| self.deadline(key)),
                active: queued.then_some(r.res),
                active_later: queued && r.has(state::LATER),
                internal: r.has(state::INTERNAL),
            };
            f(&info)?;
        }
        ControlFlow::Continue(())
    }

    /// Writes every pending event, then every active one, one per line
    /// (libevent's `event_base_dump_events`; the format is not stable).
    ///
    /// # Errors
    /// The writer's.
    pub fn dump_events(&self, out: &mut impl fmt::Write) -> fmt::Result {
        out.write_str("Inserted events:\n")?;
        let r = self.foreach_event(|e| {
            if !e.inserted && e.deadline.is_none() {
                return ControlFlow::Continue(());
            }
            match write_line(out, e, false) {
                Ok(()) => ControlFlow::Continue(()),
                Err(err) => ControlFlow::Break(err),
            }
        });
        if let ControlFlow::Break(e) = r {
            return Err(e);
        }
        out.write_str("Active events:\n")?;
        let r = self.foreach_event(|e| {
            if e.active.is_none() {
                return ControlFlow::Continue(());
            }
            match write_line(out, e, true) {
                Ok(()) => ControlFlow::Continue(()),
                Err(err) => ControlFlow::Break(err),
            }
        });
        match r {
            ControlFlow::Break(e) => Err(e),
            ControlFlow::Continue(()) => Ok(()),
        }
    }
}

fn write_line(out: &mut impl fmt::Write, e: &EventInfo, active: bool) -> fmt::Result {
    write!(out, "  event {}", e.id.index())?;
    match e.source {
        Source::Fd(fd) => write!(out, " [fd {fd}]")?,
        Source::Signal(s) => write!(out, " [sig {s}]")?,
        Source::None => {}
    }
    let flags = if active {
        e.active.unwrap_or(What::empty())
    } else {
        e.events
    };
    for (name, bit) in [
        ("Read", What::READ),
        ("Write", What::WRITE),
        ("Close", What::CLOSED),
        ("Signal", What::SIGNAL),
        ("Persist", What::PERSIST),
        ("ET", What::ET),
        ("Timeout", What::TIMEOUT),
        ("Finalize", What::FINALIZE),
    ] {
        if flags.contains(bit) && (active || bit != What::TIMEOUT) {
            write!(out, " {name}")?;
        }
    }
    if active {
        write!(out, " priority={}", e.priority)?;
        if e.active_later {
            out.write_str(" [NextTime]")?;
        }
    } else if let Some(d) = e.deadline {
        write!(
            out,
            " Timeout={}.{:09}",
            d.as_nanos() / 1_000_000_000,
            d.as_nanos() % 1_000_000_000
        )?;
    }
    if e.internal {
        out.write_str(" [Internal]")?;
    }
    out.write_str("\n")
}
