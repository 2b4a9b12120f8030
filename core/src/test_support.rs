//! What the core's property tests share: settings that let them run under
//! Miri as written.

use proptest::prelude::ProptestConfig;

/// Proptest's settings: its defaults natively; under Miri (an interpreter,
/// ~1000x slower) a handful of cases and no failure-persistence file, which
/// Miri's isolation cannot look up.
pub(crate) fn proptest_config() -> ProptestConfig {
    if cfg!(miri) {
        ProptestConfig {
            cases: 4,
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    } else {
        ProptestConfig::default()
    }
}

/// Longest operation sequence per case: `native`, a tenth under Miri.
pub(crate) const fn max_ops(native: usize) -> usize {
    if cfg!(miri) { native / 10 } else { native }
}
