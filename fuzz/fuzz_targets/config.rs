//! Config operations and method tables against a brute-force model of
//! libevent's backend selection and dispatch limits.
//!
//! Cost: the `EVENT_NO<NAME>` variable of each known name is built once
//! per process, and the environment is a set of those names, so that the
//! selection's lookups (evbase's work) are not drowned in the harness's
//! string building.
#![no_main]

use std::sync::LazyLock;
use std::time::Duration;

use arbitrary::Arbitrary;
use evbase_core::{BaseFlags, Config, DispatchLimits, Error, Features, Method, Rejection, select_method};
use libfuzzer_sys::fuzz_target;

/// Method names, including near-misses, an empty one, non-ASCII and long.
const NAMES: [&str; 12] = [
    "evport",
    "kqueue",
    "epoll",
    "devpoll",
    "poll",
    "select",
    "win32",
    "iocp",
    "Epoll",
    "epoll (with changelist)",
    "",
    "ëpöll-with-a-very-long-name-that-goes-past-sixty-four-bytes-of-env",
];

#[derive(Arbitrary, Debug)]
enum Name {
    Known(u8),
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Op {
    Avoid(Name),
    Require(u8),
    Flag(u8),
    Cpus(usize),
    MaxDispatch(Option<u32>, Option<u32>, i32),
}

#[derive(Arbitrary, Debug)]
struct Input {
    ops: Vec<Op>,
    table: Vec<(u8, u8)>,
    env: Vec<u8>,
}

/// libevent's `EVENT_NO<NAME>`, cut at 64 bytes on a character boundary.
fn env_name(name: &str) -> String {
    let mut s = String::from("EVENT_NO");
    for c in name.chars() {
        let c = c.to_ascii_uppercase();
        if s.len() + c.len_utf8() > 64 {
            break;
        }
        s.push(c);
    }
    s
}

/// `env_name` of each of `NAMES`.
static ENV_NAMES: LazyLock<Vec<String>> = LazyLock::new(|| NAMES.iter().map(|n| env_name(n)).collect());

fn name(n: &Name) -> String {
    match n {
        Name::Known(i) => NAMES[usize::from(*i) % NAMES.len()].to_string(),
        Name::Other(s) => s.clone(),
    }
}

fuzz_target!(|input: Input| {
    let mut c = Config::new();
    let mut avoided: Vec<String> = Vec::new();
    let (mut features, mut flags, mut cpus) = (0u8, 0u8, 0usize);
    let (mut interval, mut callbacks, mut prio) = (None, None, 1u32);
    for op in &input.ops {
        match op {
            Op::Avoid(n) => {
                let n = name(n);
                let r = c.avoid_method(&n).map(|_| ());
                let want = if avoided.contains(&n) {
                    Ok(())
                } else if n.len() > 32 {
                    Err(Error::InvalidArgument(&"method name longer than 32 bytes"))
                } else if avoided.len() == 8 {
                    Err(Error::Capacity {
                        what: &"avoided methods",
                        limit: 8,
                    })
                } else {
                    avoided.push(n);
                    Ok(())
                };
                assert_eq!(r, want);
            }
            Op::Require(f) => {
                c.require_features(Features::from_bits_truncate(*f));
                features = f & 0x0f;
            }
            Op::Flag(f) => {
                c.set_flag(BaseFlags::from_bits_truncate(*f));
                flags |= f & 0x3f;
            }
            Op::Cpus(n) => {
                c.set_num_cpus_hint(*n);
                cpus = *n;
            }
            Op::MaxDispatch(t, cb, p) => {
                let t = t.map(|us| Duration::from_micros(u64::from(us)));
                c.set_max_dispatch_interval(t, *cb, *p);
                (interval, callbacks, prio) = (t, *cb, (*p).max(0) as u32);
            }
        }
    }
    assert!(c.avoided().eq(avoided.iter().map(String::as_str)));
    for n in NAMES {
        assert_eq!(c.is_avoided(n), avoided.iter().any(|a| a == n));
    }
    assert_eq!(c.required_features().bits(), features);
    assert_eq!(c.flags().bits(), flags);
    assert_eq!(c.num_cpus_hint(), cpus);
    let limits = if interval.is_none() && callbacks.is_none() {
        DispatchLimits {
            max_interval: None,
            max_callbacks: None,
            limit_after_priority: u32::MAX,
        }
    } else {
        DispatchLimits {
            max_interval: interval,
            max_callbacks: callbacks,
            limit_after_priority: prio,
        }
    };
    assert_eq!(c.dispatch_limits(), limits);

    let methods: Vec<Method> = input
        .table
        .iter()
        .map(|&(n, f)| Method {
            name: NAMES[usize::from(n) % NAMES.len()],
            features: Features::from_bits_truncate(f),
            need_reinit: f & 0x40 != 0,
            changelist: f & 0x80 != 0,
        })
        .collect();
    // Which of the known variables are set (names may share one).
    let mut set = [false; NAMES.len()];
    for &e in &input.env {
        set[usize::from(e) % NAMES.len()] = true;
    }
    let is_set = |v: &str| (0..NAMES.len()).any(|i| set[i] && ENV_NAMES[i] == v);
    let mut asked: Vec<String> = Vec::new();
    let mut env_set = |v: &str| {
        asked.push(v.to_string());
        is_set(v)
    };
    let got = select_method(&c, &methods, &mut env_set);

    // Brute force: libevent's loop in event_base_new_with_config.
    let mut report = Vec::new();
    let mut chosen = None;
    let mut want_asked = Vec::new();
    for (i, m) in methods.iter().enumerate() {
        let missing = features & !m.features.bits();
        let why = if avoided.iter().any(|a| a == m.name) {
            Some(Rejection::Avoided)
        } else if missing != 0 {
            Some(Rejection::MissingFeatures(Features::from_bits_truncate(missing)))
        } else if flags & 0x02 == 0 && {
            let v = &ENV_NAMES[NAMES.iter().position(|n| *n == m.name).unwrap()];
            want_asked.push(v.as_str());
            is_set(v)
        } {
            Some(Rejection::DisabledByEnv)
        } else {
            None
        };
        match why {
            Some(w) => report.push((m.name, w)),
            None => {
                chosen = Some(i);
                break;
            }
        }
    }
    report.truncate(4);
    match (got, chosen) {
        (Ok(m), Some(i)) => assert!(std::ptr::eq(m, &methods[i])),
        (Err(r), None) => assert_eq!(&r[..], &report[..]),
        (g, w) => panic!("got {g:?}, want {w:?}"),
    }
    assert_eq!(asked, want_asked);
});
