//! Finalizers.

use std::time::Duration;

use evbase_core::{Callback, Error, Exit, Source, Storage, What};

use super::log;
use crate::{TestPlatform, new_base};

/// libevent `finalize/cb_invoked`: finalizers run for an unadded, an
/// active, a timed and a re-added-then-deleted event, through both
/// `finalize` and `free_finalize`; the regular callbacks never run, and
/// finalizing events refuse `add` and `active`.
pub fn finalize_cb_invoked<P: TestPlatform, S: Storage>(variant: &str) {
    for free in [false, true] {
        let mut base = new_base::<P, S>(variant);
        let finalized = log();
        let mut ids = Vec::new();
        for i in 0..4 {
            let ev = base.new_event(
                Source::None,
                What::empty(),
                Callback::<P, S>::new(|_, _, _| panic!("callback after finalize")),
            );
            ids.push((i, ev.unwrap()));
        }
        base.active(ids[1].1, What::READ, 1).unwrap();
        base.add(ids[2].1, Some(Duration::from_secs(1))).unwrap();
        base.add(ids[3].1, Some(Duration::from_secs(1))).unwrap();
        base.del(ids[3].1).unwrap();
        base.add(ids[3].1, Some(Duration::from_secs(1))).unwrap();
        for &(i, id) in &ids {
            let f = finalized.clone();
            let fin = Callback::<P, S>::new(move |_, _, what| f.borrow_mut().push((i, what)));
            if free {
                base.free_finalize(id, fin)
            } else {
                base.finalize(id, fin)
            }
            .unwrap();
            assert_eq!(base.add(id, None), Err(Error::Finalizing));
            assert_eq!(base.active(id, What::READ, 1), Err(Error::Finalizing));
            assert_eq!(base.del(id), Ok(()));
        }
        assert_eq!(base.dispatch(), Ok(Exit::NoEvents));
        let mut got = finalized.borrow().clone();
        got.sort_by_key(|x| x.0);
        assert_eq!(got, (0..4).map(|i| (i, What::FINALIZE)).collect::<Vec<_>>());
        for &(_, id) in &ids {
            if free {
                assert_eq!(base.pending(id, What::all()), Err(Error::StaleEvent));
            } else {
                assert!(base.pending(id, What::all()).unwrap().what.is_empty());
                base.free(id).unwrap();
            }
        }
    }
}

/// libevent `finalize/within_cb`: a callback that finalizes itself and a
/// sibling: the sibling's callback never runs, both finalizers do.
pub fn finalize_within_cb<P: TestPlatform, S: Storage>(variant: &str) {
    for persist in [What::empty(), What::PERSIST] {
        let mut base = new_base::<P, S>(variant);
        let seen = log();
        let sibling = {
            let s = seen.clone();
            base.new_event(
                Source::None,
                persist,
                Callback::<P, S>::new(move |_, _, _| s.borrow_mut().push("sibling cb")),
            )
            .unwrap()
        };
        let s = seen.clone();
        let first = base
            .new_event(
                Source::None,
                persist,
                Callback::<P, S>::new(move |b, id, _| {
                    s.borrow_mut().push("first cb");
                    for (who, target) in [("first fin", id), ("sibling fin", sibling)] {
                        let s2 = s.clone();
                        b.free_finalize(target, Callback::<P, S>::new(move |_, _, _| s2.borrow_mut().push(who)))
                            .unwrap();
                    }
                }),
            )
            .unwrap();
        base.active(first, What::READ, 1).unwrap();
        base.active(sibling, What::READ, 1).unwrap();
        assert_eq!(base.dispatch(), Ok(Exit::NoEvents));
        assert_eq!(*seen.borrow(), ["first cb", "first fin", "sibling fin"]);
    }
}
