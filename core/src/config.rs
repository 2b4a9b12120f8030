//! The configuration of a base (libevent's `event_config`) and backend
//! selection.
//!
//! Selection is a pure function of a [`Config`], the platform's method
//! table (in preference order) and its environment, so it can be tested and
//! fuzzed alone: see [`select_method`].

use core::fmt::Write as _;
use core::time::Duration;

use crate::{BaseFlags, Error, Features, Method, Rejection, SelectionReport};

/// The longest method name [`Config::avoid_method`] accepts, in bytes.
pub const MAX_METHOD_NAME: usize = 32;
/// How many method names a [`Config`] can avoid.
pub const MAX_AVOIDED: usize = 8;

/// How much one pass over the active queues may run before the loop checks
/// for new events again (libevent's `max_dispatch_time`,
/// `max_dispatch_callbacks` and `limit_callbacks_after_prio`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DispatchLimits {
    /// The longest time to spend running callbacks; `None` is no limit.
    pub max_interval: Option<Duration>,
    /// The most callbacks to run; `None` is no limit.
    pub max_callbacks: Option<u32>,
    /// Priorities numerically below this are never limited. `u32::MAX`
    /// when there is no limit at all.
    pub limit_after_priority: u32,
}

impl DispatchLimits {
    /// No limit (libevent's base without a config).
    pub const UNLIMITED: DispatchLimits = DispatchLimits {
        max_interval: None,
        max_callbacks: None,
        limit_after_priority: u32::MAX,
    };

    /// Whether neither the time nor the callback count is limited.
    pub fn is_unlimited(&self) -> bool {
        self.max_interval.is_none() && self.max_callbacks.is_none()
    }
}

impl Default for DispatchLimits {
    fn default() -> Self {
        DispatchLimits::UNLIMITED
    }
}

/// What a base is built with (libevent's `event_config`). Needs no
/// allocator: avoided names are copied into fixed strings.
#[derive(Clone, Debug)]
pub struct Config {
    avoided: heapless::Vec<heapless::String<MAX_METHOD_NAME>, MAX_AVOIDED>,
    preferred: Option<heapless::String<MAX_METHOD_NAME>>,
    features: Features,
    flags: BaseFlags,
    num_cpus_hint: usize,
    max_interval: Option<Duration>,
    max_callbacks: Option<u32>,
    limit_after_priority: u32,
}

impl Default for Config {
    /// libevent's `event_config_new`: nothing avoided or required, no flag,
    /// no dispatch limit, callbacks limited after priority 1 once a limit is
    /// set.
    fn default() -> Self {
        Config {
            avoided: heapless::Vec::new(),
            preferred: None,
            features: Features::empty(),
            flags: BaseFlags::empty(),
            num_cpus_hint: 0,
            max_interval: None,
            max_callbacks: None,
            limit_after_priority: 1,
        }
    }
}

impl Config {
    /// A default config.
    pub fn new() -> Self {
        Self::default()
    }

    /// Never use the method called `name` (exact match, e.g. `"epoll"`,
    /// which also rules out `"epoll (with changelist)"`). Avoiding a name
    /// twice is the same as once.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `name` is longer than 32 bytes
    /// (`MAX_METHOD_NAME`); [`Error::Capacity`] when 8 names (`MAX_AVOIDED`)
    /// are avoided already. The config is unchanged then.
    pub fn avoid_method(&mut self, name: &str) -> Result<&mut Self, Error> {
        if self.is_avoided(name) {
            return Ok(self);
        }
        let name = heapless::String::try_from(name)
            .map_err(|_| Error::InvalidArgument(&"method name longer than 32 bytes"))?;
        self.avoided
            .push(name)
            .map_err(|_| Error::capacity(&"avoided methods", MAX_AVOIDED))?;
        Ok(self)
    }

    /// Try the method called `name` first (exact match, e.g.
    /// `"io_uring"`), before the platform's preference order; the others
    /// follow in that order. A method the platform offers only on request
    /// (io_uring on Linux) is asked for this way, or with the
    /// `EVENT_IO_URING` environment variable. Ruled out or failing to open,
    /// it is in the selection report with the reason, and the next method
    /// is chosen. Replaces the name preferred before.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `name` is longer than 32 bytes
    /// (`MAX_METHOD_NAME`); the config is unchanged then.
    pub fn prefer_method(&mut self, name: &str) -> Result<&mut Self, Error> {
        let name = heapless::String::try_from(name)
            .map_err(|_| Error::InvalidArgument(&"method name longer than 32 bytes"))?;
        self.preferred = Some(name);
        Ok(self)
    }

    /// The method name to try first, if any.
    pub fn preferred_method(&self) -> Option<&str> {
        self.preferred.as_deref()
    }

    /// Only use a method that has all of `features`. Replaces the features
    /// required before (libevent's `event_config_require_features`).
    pub fn require_features(&mut self, features: Features) -> &mut Self {
        self.features = features;
        self
    }

    /// Adds `flags` to the flags of the base.
    pub fn set_flag(&mut self, flags: BaseFlags) -> &mut Self {
        self.flags |= flags;
        self
    }

    /// How many CPUs the base may use (the IOCP backend's thread count is
    /// twice this); 0 leaves it to the backend.
    pub fn set_num_cpus_hint(&mut self, cpus: usize) -> &mut Self {
        self.num_cpus_hint = cpus;
        self
    }

    /// Limits how long (`max_interval`) and how many callbacks
    /// (`max_callbacks`) the loop runs before it checks for new events;
    /// `None` is no limit. Callbacks of priorities numerically below
    /// `min_priority` are never limited; a negative `min_priority` is 0
    /// (libevent's `event_config_set_max_dispatch_interval`).
    pub fn set_max_dispatch_interval(
        &mut self,
        max_interval: Option<Duration>,
        max_callbacks: Option<u32>,
        min_priority: i32,
    ) -> &mut Self {
        self.max_interval = max_interval;
        self.max_callbacks = max_callbacks;
        self.limit_after_priority = min_priority.max(0) as u32;
        self
    }

    /// The avoided method names, in the order given.
    pub fn avoided(&self) -> impl Iterator<Item = &str> {
        self.avoided.iter().map(|s| s.as_str())
    }

    /// Whether the method called `name` is avoided.
    pub fn is_avoided(&self, name: &str) -> bool {
        self.avoided.iter().any(|a| a.as_str() == name)
    }

    /// The features a method must have.
    pub fn required_features(&self) -> Features {
        self.features
    }

    /// The flags of the base.
    pub fn flags(&self) -> BaseFlags {
        self.flags
    }

    /// The CPU hint (0: unset).
    pub fn num_cpus_hint(&self) -> usize {
        self.num_cpus_hint
    }

    /// The dispatch limits a base built with this config uses: when neither
    /// the time nor the callback count is limited, no priority is limited
    /// (`limit_after_priority` is `u32::MAX`), as in libevent's
    /// `event_base_new_with_config`.
    pub fn dispatch_limits(&self) -> DispatchLimits {
        let limits = DispatchLimits {
            max_interval: self.max_interval,
            max_callbacks: self.max_callbacks,
            limit_after_priority: self.limit_after_priority,
        };
        if limits.is_unlimited() {
            DispatchLimits::UNLIMITED
        } else {
            limits
        }
    }
}

/// The environment variable that disables `method`: `EVENT_NO` and the name
/// upper-cased (`EVENT_NOEPOLL`), cut at 64 bytes like libevent's buffer.
fn env_name(method: &str) -> heapless::String<64> {
    let mut s = heapless::String::new();
    let _ = s.push_str("EVENT_NO");
    for c in method.chars() {
        if s.write_char(c.to_ascii_uppercase()).is_err() {
            break;
        }
    }
    s
}

/// Why `config` rules `method` out, if it does, checking what libevent
/// checks in its order: avoided name, missing features, then (unless
/// [`BaseFlags::IGNORE_ENV`]) `EVENT_NO<METHOD>`, for which `env_set` says
/// whether a variable is set.
pub fn rejection(config: &Config, method: &Method, env_set: &mut dyn FnMut(&str) -> bool) -> Option<Rejection> {
    if config.is_avoided(method.name) {
        return Some(Rejection::Avoided);
    }
    let missing = config.required_features() & !method.features;
    if !missing.is_empty() {
        return Some(Rejection::MissingFeatures(missing));
    }
    if !config.flags().contains(BaseFlags::IGNORE_ENV) && env_set(&env_name(method.name)) {
        return Some(Rejection::DisabledByEnv);
    }
    None
}

/// The methods in the order selection tries them: the config's
/// [preferred](Config::prefer_method) one first (if `methods` has it), then
/// the others in `methods`' order.
pub fn candidates<'m>(config: &Config, methods: &'m [Method]) -> impl Iterator<Item = &'m Method> {
    let preferred = config.preferred_method();
    let first = methods.iter().filter(move |m| Some(m.name) == preferred);
    first.chain(methods.iter().filter(move |m| Some(m.name) != preferred))
}

/// Picks the backend for `config` among `methods` (in preference order):
/// the first one [`rejection`] does not rule out.
///
/// # Errors
/// Each method considered and why it was ruled out (the first 4 of them).
// The report is the error: 4 reasons, each with the platform's own error
// when opening failed; made once per base, never on a hot path.
#[allow(clippy::result_large_err)]
pub fn select_method<'m>(
    config: &Config,
    methods: &'m [Method],
    env_set: &mut dyn FnMut(&str) -> bool,
) -> Result<&'m Method, SelectionReport> {
    let mut report = SelectionReport::new();
    for m in candidates(config, methods) {
        match rejection(config, m, env_set) {
            None => return Ok(m),
            // The report holds 4; a longer table keeps the first 4 reasons.
            Some(why) => report.push(m.name, why),
        }
    }
    Err(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::proptest_config;
    use proptest::prelude::*;
    use std::string::String;
    use std::vec::Vec;

    const NAMES: [&str; 9] = [
        "evport", "kqueue", "epoll", "devpoll", "poll", "select", "win32", "wepoll", "iocp",
    ];

    fn method(name: &'static str, bits: u8) -> Method {
        Method {
            name,
            features: Features::from_bits_truncate(bits),
            need_reinit: false,
            changelist: false,
        }
    }

    #[test]
    fn defaults_are_libevents() {
        let c = Config::default();
        assert_eq!(c.avoided().count(), 0);
        assert_eq!(c.required_features(), Features::empty());
        assert_eq!(c.flags(), BaseFlags::empty());
        assert_eq!(c.num_cpus_hint(), 0);
        assert_eq!(c.dispatch_limits(), DispatchLimits::UNLIMITED);
        assert_eq!(DispatchLimits::default(), DispatchLimits::UNLIMITED);
    }

    #[test]
    fn builder() {
        let mut c = Config::new();
        c.avoid_method("epoll")
            .unwrap()
            .require_features(Features::ET | Features::O1)
            .require_features(Features::FDS)
            .set_flag(BaseFlags::NOLOCK)
            .set_flag(BaseFlags::IGNORE_ENV)
            .set_num_cpus_hint(4)
            .set_max_dispatch_interval(None, Some(10), -5);
        c.avoid_method("epoll").unwrap();
        assert_eq!(c.avoided().collect::<Vec<_>>(), ["epoll"]);
        assert!(c.is_avoided("epoll") && !c.is_avoided("epol") && !c.is_avoided("epoll (with changelist)"));
        assert_eq!(c.required_features(), Features::FDS);
        assert_eq!(c.flags(), BaseFlags::NOLOCK | BaseFlags::IGNORE_ENV);
        assert_eq!(c.num_cpus_hint(), 4);
        assert_eq!(
            c.dispatch_limits(),
            DispatchLimits {
                max_interval: None,
                max_callbacks: Some(10),
                limit_after_priority: 0
            }
        );
        c.set_max_dispatch_interval(Some(Duration::from_millis(5)), None, 3);
        assert_eq!(
            c.dispatch_limits(),
            DispatchLimits {
                max_interval: Some(Duration::from_millis(5)),
                max_callbacks: None,
                limit_after_priority: 3
            }
        );
        c.set_max_dispatch_interval(None, None, 3);
        assert_eq!(c.dispatch_limits(), DispatchLimits::UNLIMITED);
    }

    #[test]
    fn preferred_method_is_tried_first() {
        let methods = [method("epoll", 0), method("poll", 0), method("io_uring", 0)];
        let mut c = Config::new();
        let names = |c: &Config| candidates(c, &methods).map(|m| m.name).collect::<Vec<_>>();
        assert_eq!(names(&c), ["epoll", "poll", "io_uring"]);
        c.prefer_method("io_uring").unwrap();
        assert_eq!(c.preferred_method(), Some("io_uring"));
        assert_eq!(names(&c), ["io_uring", "epoll", "poll"]);
        assert_eq!(select_method(&c, &methods, &mut |_| false).unwrap().name, "io_uring");
        // Ruled out, it is reported and the order goes on.
        c.avoid_method("io_uring").unwrap();
        assert_eq!(select_method(&c, &methods, &mut |_| false).unwrap().name, "epoll");
        // A name the table lacks changes nothing; a long one is refused.
        c.prefer_method("kqueue").unwrap();
        assert_eq!(names(&c), ["epoll", "poll", "io_uring"]);
        assert!(matches!(
            c.prefer_method(&"x".repeat(33)),
            Err(Error::InvalidArgument(_))
        ));
        assert_eq!(c.preferred_method(), Some("kqueue"));
    }

    #[test]
    fn avoid_limits() {
        let mut c = Config::new();
        let long = "x".repeat(33);
        assert!(matches!(c.avoid_method(&long), Err(Error::InvalidArgument(_))));
        c.avoid_method(&long[..32]).unwrap();
        for n in &NAMES[..7] {
            c.avoid_method(n).unwrap();
        }
        assert_eq!(
            c.avoid_method("iocp").err(),
            Some(Error::Capacity {
                what: &"avoided methods",
                limit: 8
            })
        );
        // Already avoided: still fine when full.
        c.avoid_method("poll").unwrap();
        assert_eq!(c.avoided().count(), 8);
    }

    #[test]
    fn selection() {
        let table = [
            method("epoll", 0b0111),
            method("poll", 0b0100),
            method("select", 0b0100),
        ];
        let mut no_env = |_: &str| false;
        assert_eq!(
            select_method(&Config::new(), &table, &mut no_env).unwrap().name,
            "epoll"
        );
        let mut seen = Vec::new();
        let mut env = |v: &str| {
            seen.push(String::from(v));
            v == "EVENT_NOEPOLL"
        };
        assert_eq!(select_method(&Config::new(), &table, &mut env).unwrap().name, "poll");
        assert_eq!(seen, ["EVENT_NOEPOLL", "EVENT_NOPOLL"]);
        let mut env = |v: &str| v == "EVENT_NOEPOLL";
        let mut c = Config::new();
        c.set_flag(BaseFlags::IGNORE_ENV);
        assert_eq!(select_method(&c, &table, &mut env).unwrap().name, "epoll");
        let mut c = Config::new();
        c.avoid_method("poll")
            .unwrap()
            .require_features(Features::FDS | Features::ET);
        let report = select_method(&c, &table, &mut env).unwrap_err();
        assert_eq!(
            &report[..],
            &[
                ("epoll", Rejection::DisabledByEnv),
                ("poll", Rejection::Avoided),
                ("select", Rejection::MissingFeatures(Features::ET)),
            ]
        );
        let report = select_method(&Config::new(), &[], &mut no_env).unwrap_err();
        assert_eq!(report, SelectionReport::new());
        assert_eq!(
            report.to_string(),
            "no backend fits the config: the platform offers no method"
        );
    }

    #[test]
    fn env_names() {
        assert_eq!(env_name("epoll").as_str(), "EVENT_NOEPOLL");
        assert_eq!(env_name("win32").as_str(), "EVENT_NOWIN32");
        assert_eq!(env_name(&"a".repeat(100)).len(), 64);
    }

    /// Brute force: every method's verdict computed the naive way.
    fn model(
        avoided: &[String],
        features: u8,
        flags: u8,
        methods: &[Method],
        env: &[String],
    ) -> Result<&'static str, Vec<(&'static str, Rejection)>> {
        let mut report = Vec::new();
        for m in methods {
            let why = if avoided.iter().any(|a| a == m.name) {
                Some(Rejection::Avoided)
            } else if features & !m.features.bits() & 0x0f != 0 {
                Some(Rejection::MissingFeatures(Features::from_bits_truncate(
                    features & !m.features.bits(),
                )))
            } else if flags & 0x02 == 0 && env.contains(&format!("EVENT_NO{}", m.name.to_uppercase())) {
                Some(Rejection::DisabledByEnv)
            } else {
                None
            };
            match why {
                None => return Ok(m.name),
                Some(w) => report.push((m.name, w)),
            }
        }
        report.truncate(4);
        Err(report)
    }

    proptest! {
        #![proptest_config(proptest_config())]
        #[test]
        fn selection_matches_brute_force(
            avoid in proptest::collection::vec(0usize..9, 0..10),
            features in any::<u8>(),
            flags in any::<u8>(),
            table in proptest::collection::vec((0usize..9, 0u8..16), 0..12),
            env in proptest::collection::vec(0usize..9, 0..5),
        ) {
            let mut c = Config::new();
            let mut avoided = Vec::new();
            for &a in &avoid {
                let r = c.avoid_method(NAMES[a]);
                if !avoided.iter().any(|x: &String| x == NAMES[a]) {
                    if avoided.len() < 8 {
                        prop_assert!(r.is_ok());
                        avoided.push(String::from(NAMES[a]));
                    } else {
                        prop_assert!(r.is_err());
                    }
                }
            }
            c.require_features(Features::from_bits_truncate(features));
            c.set_flag(BaseFlags::from_bits_truncate(flags));
            let methods: Vec<Method> = table.iter().map(|&(n, f)| method(NAMES[n], f)).collect();
            let env: Vec<String> = env.iter().map(|&e| format!("EVENT_NO{}", NAMES[e].to_uppercase())).collect();
            let mut env_set = |v: &str| env.iter().any(|e| e == v);
            let got = select_method(&c, &methods, &mut env_set);
            let want = model(&avoided, features & 0x0f, flags, &methods, &env);
            match (got, want) {
                (Ok(m), Ok(name)) => prop_assert_eq!(m.name, name),
                (Err(r), Err(w)) => prop_assert_eq!(&r[..], &w[..]),
                (g, w) => prop_assert!(false, "got {:?}, want {:?}", g, w),
            }
            for m in &methods {
                let one = model(&avoided, features & 0x0f, flags, core::slice::from_ref(m), &env);
                prop_assert_eq!(rejection(&c, m, &mut env_set), one.err().map(|r| r[0].1));
            }
        }
    }
}
