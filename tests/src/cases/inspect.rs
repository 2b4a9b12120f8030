//! Counters, foreach and dump.

use std::ops::ControlFlow;
use std::time::Duration;

use evbase_core::{Callback, Count, Source, Storage, What};

use crate::{TestPlatform, new_base};

/// libevent `main/event_base_get_num_events`: an fd-less READ event with a
/// timeout counts 2 added; once active, 1 active and 3 added; 0 after the
/// loop; virtual events apart.
pub fn event_base_get_num_events<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let ev = base
        .new_event(Source::None, What::READ, Callback::<P, S>::new(|_, _, _| {}))
        .unwrap();
    for c in [Count::ACTIVE, Count::VIRTUAL, Count::ADDED] {
        assert_eq!(base.num_events(c), 0);
    }
    base.add_virtual();
    assert_eq!(base.num_events(Count::VIRTUAL), 1);
    assert_eq!(base.num_events(Count::ACTIVE | Count::VIRTUAL | Count::ADDED), 1);
    base.del_virtual();
    base.add(ev, Some(Duration::from_secs(1))).unwrap();
    assert_eq!(base.num_events(Count::ADDED), 2);
    base.active(ev, What::READ, 1).unwrap();
    assert_eq!(base.num_events(Count::ACTIVE), 1);
    assert_eq!(base.num_events(Count::ADDED), 3);
    assert_eq!(base.num_events(Count::ACTIVE | Count::ADDED), 4);
    base.dispatch().unwrap();
    assert_eq!(base.num_events(Count::ACTIVE | Count::VIRTUAL | Count::ADDED), 0);
}

/// libevent `main/event_base_get_max_events`: high-water marks, and
/// `clear` resetting them to the current values.
pub fn event_base_get_max_events<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let a = base
        .new_event(Source::None, What::READ, Callback::<P, S>::new(|_, _, _| {}))
        .unwrap();
    let b = base
        .new_event(Source::None, What::READ, Callback::<P, S>::new(|_, _, _| {}))
        .unwrap();
    base.add(a, Some(Duration::from_secs(1))).unwrap();
    base.add(b, Some(Duration::from_secs(1))).unwrap();
    base.del(a).unwrap();
    assert_eq!(base.max_events(Count::ADDED, false), 4);
    assert_eq!(base.max_events(Count::ACTIVE, false), 0);
    assert_eq!(base.max_events(Count::ADDED, true), 4);
    assert_eq!(base.max_events(Count::ADDED, false), 2);
    base.active(b, What::READ, 1).unwrap();
    assert_eq!(base.max_events(Count::ACTIVE, false), 1);
    base.add_virtual();
    base.add_virtual();
    base.del_virtual();
    assert_eq!(base.max_events(Count::VIRTUAL, true), 2);
    assert_eq!(base.max_events(Count::VIRTUAL, false), 1);
    assert_eq!(base.max_events(Count::ACTIVE | Count::VIRTUAL, false), 2);
}

/// The high-water marks count activations by readiness: three handles ready
/// in one wait make three active and six added (registered + active) at the
/// peak, though each callback ends its activation before the next runs.
pub fn max_events_by_readiness<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let mut ends = Vec::new();
    for _ in 0..3 {
        let (a, b) = base.platform_mut().socketpair();
        base.platform_mut().send(b, b"x").unwrap();
        let ev = base
            .new_event(Source::Fd(a), What::READ, Callback::<P, S>::new(|_, _, _| {}))
            .unwrap();
        base.add(ev, None).unwrap();
        ends.push((a, b));
    }
    base.max_events(Count::ACTIVE | Count::ADDED, true);
    assert_eq!(base.max_events(Count::ADDED, false), 3);
    base.dispatch().unwrap();
    assert_eq!(base.max_events(Count::ACTIVE, false), 3);
    assert_eq!(base.max_events(Count::ADDED, false), 6);
    assert_eq!(base.num_events(Count::ACTIVE | Count::ADDED), 0);
    for (a, b) in ends {
        base.platform_mut().close(a);
        base.platform_mut().close(b);
    }
}

/// libevent `main/event_foreach`: each pending or active event is visited
/// once, a never-added one is not, and an early stop returns its value.
pub fn event_foreach<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let (a, _b) = base.platform_mut().socketpair();
    let nop = || Callback::<P, S>::new(|_, _, _| {});
    let ev: Vec<_> = (0..5)
        .map(|_| base.new_event(Source::None, What::empty(), nop()).unwrap())
        .collect();
    let reader = base.new_event(Source::Fd(a), What::READ, nop()).unwrap();
    base.add(ev[0], Some(Duration::from_secs(1))).unwrap();
    base.add(ev[1], Some(Duration::from_secs(2))).unwrap();
    base.active(ev[2], What::WRITE, 1).unwrap();
    base.active(ev[3], What::READ, 1).unwrap();
    base.add(reader, None).unwrap();
    let mut seen = Vec::new();
    let r: ControlFlow<()> = base.foreach_event(|e| {
        if !e.internal {
            seen.push(e.id);
        }
        ControlFlow::Continue(())
    });
    assert_eq!(r, ControlFlow::Continue(()));
    seen.sort();
    let mut expect = vec![ev[0], ev[1], ev[2], ev[3], reader];
    expect.sort();
    assert_eq!(seen, expect);
    let mut visits = 0;
    let r = base.foreach_event(|_| {
        visits += 1;
        if visits == 2 {
            ControlFlow::Break(101)
        } else {
            ControlFlow::Continue(())
        }
    });
    assert_eq!(r, ControlFlow::Break(101));
    assert_eq!(visits, 2);
}

/// libevent `test-dumpevents` (in spirit): inserted and active sections, each
/// event once, internal ones marked.
pub fn dump_events<P: TestPlatform, S: Storage>(variant: &str) {
    let mut base = new_base::<P, S>(variant);
    let (a, _b) = base.platform_mut().socketpair();
    let nop = || Callback::<P, S>::new(|_, _, _| {});
    let r = base
        .new_event(Source::Fd(a), What::READ | What::PERSIST, nop())
        .unwrap();
    let t = base.new_event(Source::None, What::empty(), nop()).unwrap();
    let act = base.new_event(Source::None, What::empty(), nop()).unwrap();
    let ct = base.init_common_timeout(Duration::from_millis(100)).unwrap();
    base.add(r, None).unwrap();
    base.add_common(t, ct).unwrap();
    base.active(act, What::WRITE, 1).unwrap();
    let mut out = String::new();
    base.dump_events(&mut out).unwrap();
    let (inserted, active) = out.split_once("Active events:\n").unwrap();
    assert!(inserted.starts_with("Inserted events:\n"));
    assert_eq!(
        inserted
            .lines()
            .filter(|l| l.contains(&format!("[fd {a}] Read Persist")))
            .count(),
        1,
        "{out}"
    );
    assert_eq!(
        inserted
            .lines()
            .filter(|l| l.contains("Timeout=") && !l.contains("[Internal]"))
            .count(),
        1,
        "{out}"
    );
    assert_eq!(
        inserted.lines().filter(|l| l.contains("[Internal]")).count(),
        1,
        "{out}"
    );
    assert_eq!(active.lines().count(), 1, "{out}");
    assert!(active.contains("Write priority=0"), "{out}");
}
