//! Backend selection on the platform's real method table.

use evbase_core::{Config, Error, EventBase, Features, SelectionReport, Storage};

use crate::TestPlatform;

/// libevent `main/methods`: avoiding the first method the platform offers
/// gives another one, or no base when it offers only one.
pub fn methods<P: TestPlatform, S: Storage>(variant: &str) {
    let (platform, _) = P::make(variant);
    let methods = platform.methods();
    let first = EventBase::<P, S>::new(platform).unwrap();
    let first_name = first.method().name;
    drop(first);
    let mut config = Config::default();
    config.avoid_method(methods[0].name).unwrap();
    let (platform, _) = P::make(variant);
    let mut report = SelectionReport::new();
    match EventBase::<P, S>::with_config_report(platform, &config, &mut report) {
        Ok(base) => assert_ne!(base.method().name, methods[0].name),
        Err(Error::NoBackend) => assert_eq!(methods.len(), 1, "{report:?}"),
        Err(e) => panic!("{e}"),
    }
    assert!(first_name.starts_with(methods[0].name));
}

/// libevent `main/base_features`: requiring ET gives a base with ET, or
/// none — and then the default base lacks ET too.
pub fn base_features<P: TestPlatform, S: Storage>(variant: &str) {
    let mut config = Config::default();
    config.require_features(Features::ET);
    let (platform, _) = P::make(variant);
    match EventBase::<P, S>::with_config(platform, &config) {
        Ok(base) => assert!(base.features().contains(Features::ET)),
        Err(Error::NoBackend) => {
            let (platform, _) = P::make(variant);
            assert!(
                !EventBase::<P, S>::new(platform)
                    .unwrap()
                    .features()
                    .contains(Features::ET)
            );
        }
        Err(e) => panic!("{e}"),
    }
}
